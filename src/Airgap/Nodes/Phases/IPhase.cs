namespace Airgap.Nodes.Phases;

/// <summary>What --help, --skip-phases and the journal know of a phase.</summary>
public interface IPhase
{
    /// <summary>Lowercase name: what --skip-phases, `airgap install phase NAME` and the journal use.</summary>
    string Name { get; }

    /// <summary>One line for --help, true whatever the flags.</summary>
    string Description { get; }
}

/// <summary>
/// One named step of a node workflow (install, join, reset), as kubeadm's phases/workflow has them:
/// the runner decides whether it runs, journals it and times it; the phase only knows its own work.
/// </summary>
public interface IPhase<in TContext> : IPhase
{
    /// <summary>
    /// What an earlier phase must have left, checked before <see cref="RunAsync"/>, so a skipped or undone
    /// phase is named ("needs the runtime phase") instead of surfacing as some command's "not found".
    /// </summary>
    Task RequireAsync(TContext context, CancellationToken ct) => Task.CompletedTask;

    Task RunAsync(TContext context, PhaseAttempt attempt, CancellationToken ct);

    /// <summary>The cheap check, on a re-run, that the effect of this phase finished earlier still holds.</summary>
    Task CheckAsync(TContext context, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>
/// How this run of a phase relates to the journal: <see cref="ResumesUnfinished"/> is true when the
/// same phase with the same input started before and never finished, so half-made state is this
/// workflow's own to clear (kubeadm's "manifests already exist" after an interrupted init).
/// </summary>
public sealed record PhaseAttempt(bool ResumesUnfinished);
