namespace Airgap.Nodes.Phases;

/// <summary>One phase as planned for this run: what it will do here, or why it will not run.</summary>
public sealed record PlannedPhase<TContext>(IPhase<TContext> Phase, string Description)
{
    public string Name => Phase.Name;
    public string? SkipReason { get; init; }
    public bool Skipped => SkipReason is not null;
}

public sealed record PhaseReport(string Phase, string Outcome, double Seconds, string? Detail = null);

/// <summary>How a list of phases is run: journaled or not, for real or as a plan, all of it or one phase.</summary>
public sealed record PhaseRunSettings
{
    /// <summary>Where finished phases are remembered; null runs every phase every time (reset).</summary>
    public PhaseJournal? Journal { get; init; }

    /// <summary>The input the journal's entries must match to count as done (bundle and settings).</summary>
    public string Fingerprint { get; init; } = "";

    /// <summary>
    /// Plan only: phases run against a recording host and the journal is read but never written, as
    /// it is this run's bookkeeping, not a change the operator asked for.
    /// </summary>
    public bool DryRun { get; init; }

    /// <summary>Run this phase alone (with its requirement checks), whatever the journal says, as `kubeadm init phase X` does.</summary>
    public string? Only { get; init; }
}

/// <summary>
/// Runs a workflow's phases in order: skips what the plan skips, checks instead of redoing what the
/// journal has as done with the same fingerprint, checks each phase's prerequisites, journals start,
/// done and failure, and reports each phase with its time.
/// </summary>
public sealed class PhaseRunner(IProgressSink progress)
{
    public async Task<IReadOnlyList<PhaseReport>> RunAsync<TContext>(IReadOnlyList<PlannedPhase<TContext>> phases, TContext context,
                                                                     PhaseRunSettings settings, CancellationToken ct)
    {
        if (settings.Only is { } only && phases.All(p => p.Name != only))
            throw new AirgapException($"\"{only}\" is not a phase here; phases are {string.Join(", ", phases.Select(p => p.Name))}");
        var journal = settings.Journal;
        var reports = new List<PhaseReport>();
        foreach (var phase in phases)
        {
            if (settings.Only is not null && phase.Name != settings.Only) continue;
            if (phase.Skipped)
            {
                reports.Add(new PhaseReport(phase.Name, "skipped", 0, phase.SkipReason));
                progress.Info($"[{phase.Name}] skipped: {phase.SkipReason}");
                continue;
            }
            var started = DateTime.UtcNow;
            if (settings.Only is null && journal is not null && journal.IsDone(phase.Name, settings.Fingerprint))
            {
                await phase.Phase.CheckAsync(context, ct).ConfigureAwait(false);
                reports.Add(new PhaseReport(phase.Name, "done earlier, checked", (DateTime.UtcNow - started).TotalSeconds));
                progress.Info($"[{phase.Name}] done earlier; checked");
                continue;
            }
            progress.Info($"[{phase.Name}] {phase.Description}");
            var attempt = new PhaseAttempt(journal?.Get(phase.Name) is { State: not PhaseState.Done } earlier && earlier.Fingerprint == settings.Fingerprint);
            var journaled = journal is not null && !settings.DryRun;
            if (journaled) await journal!.StartAsync(phase.Name, settings.Fingerprint, ct).ConfigureAwait(false);
            try
            {
                await phase.Phase.RequireAsync(context, ct).ConfigureAwait(false);
                await phase.Phase.RunAsync(context, attempt, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (journaled) await journal!.FailAsync(phase.Name, e.Message, ct).ConfigureAwait(false);
                if (e is CommandFailedException failed)
                    foreach (var line in failed.Result.StderrTail.Concat(failed.Result.StdoutTail).TakeLast(15)) progress.Info("  | " + line);
                throw new AirgapException($"phase {phase.Name} failed: {e.Message}", e);
            }
            if (journaled) await journal!.DoneAsync(phase.Name, ct).ConfigureAwait(false);
            var seconds = (DateTime.UtcNow - started).TotalSeconds;
            reports.Add(new PhaseReport(phase.Name, settings.DryRun ? "planned" : "done", seconds));
            if (!settings.DryRun) progress.Info($"[{phase.Name}] done in {seconds:0.0} s");
        }
        return reports;
    }
}
