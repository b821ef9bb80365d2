using Airgap.Bundles;

namespace Airgap.Nodes.Phases;

public sealed class VerifyPhase : IInstallPhase
{
    public string Name => "verify";
    public string Description => "check the bundle's signature (when trust keys are set), SHA256SUMS and digests, and that it is for this node's architecture";

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        c.CheckArch();
        var report = await BundleReader.VerifyAsync(c.Request.Bundle, c.Progress, c.Request.Trust, ct).ConfigureAwait(false);
        c.Progress.Info($"  bundle OK: {report.Members} members, {report.Images} images, Kubernetes {c.Document.Kubernetes}");
    }

    public Task CheckAsync(InstallContext c, CancellationToken ct)
    {
        c.CheckArch();
        return Task.CompletedTask;
    }
}
