namespace Airgap.Nodes.Phases;

/// <summary>
/// A phase of install or join. Its plan-time text and skips depend only on the flags, so --dry-run,
/// --help and the runner agree on what happens before anything runs.
/// </summary>
public interface IInstallPhase : IPhase<InstallContext>
{
    /// <summary>What the phase will do with these flags (init or join, Docker or containerd, …).</summary>
    string Describe(InstallOptions options) => Description;

    /// <summary>Why the phase has nothing to do with these flags (a worker gets no admin kubeconfig), or null.</summary>
    string? SkipReason(InstallOptions options) => null;
}
