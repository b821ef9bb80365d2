namespace Airgap.Nodes.Phases;

public sealed class PackagesPhase : IInstallPhase
{
    public string Name => "packages";
    public string Description => "install kubeadm, kubelet and kubectl from the bundle and hold them at its version";

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var software = await c.SoftwareAsync(ct).ConfigureAwait(false);
        if (software.FromBinaries)
        {
            await new BinaryInstaller(c.Host, c.Progress, c.DryRun).InstallKubernetesAsync(c.Request.Bundle, c.Document, ct).ConfigureAwait(false);
        }
        else
        {
            await c.PrepareRepositoryAsync(software, ct).ConfigureAwait(false);
            await software.Source!.InstallAsync(software.Packages, ct).ConfigureAwait(false);
        }
        await CheckAsync(c, ct).ConfigureAwait(false);
    }

    /// <summary>kubeadm, kubelet and kubectl are still at exactly the bundle's version.</summary>
    public async Task CheckAsync(InstallContext c, CancellationToken ct)
    {
        if (c.DryRun) return;
        var software = await c.SoftwareAsync(ct).ConfigureAwait(false);
        if (software.FromBinaries)
        {
            await new BinaryInstaller(c.Host, c.Progress, c.DryRun).CheckVersionsAsync(c.Version, ct).ConfigureAwait(false);
            return;
        }
        foreach (var p in software.Packages.Where(p => BundlePackageSources.Held.Contains(p.Name)).DistinctBy(p => p.Name))
        {
            var installed = await software.Source!.InstalledVersionAsync(p.Name, ct).ConfigureAwait(false);
            if (installed != p.Version)
                throw new AirgapException($"{p.Name} is {installed ?? "not installed"}, the bundle holds {p.Version}; run airgap install again to put the bundle's version back");
        }
    }
}
