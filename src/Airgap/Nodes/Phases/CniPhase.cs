using System.Text;
using Airgap.Bundles;

namespace Airgap.Nodes.Phases;

public sealed class CniPhase : IInstallPhase
{
    public string Name => "cni";
    public string Description => "apply the network add-on (the bundle's Flannel, or a bridge config for a single node) and wait for the node to be Ready";

    public string Describe(InstallOptions o) => o.Cni == CniChoice.Bridge
        ? $"write /etc/cni/net.d/{BridgeCniConfig.FileName} (bridge + host-local on the pod CIDR), wait for the node to be Ready"
        : "apply the bundle's Flannel manifest with Network = the pod CIDR, wait for the node to be Ready";

    public string? SkipReason(InstallOptions o) =>
        o.Role != NodeRole.InitControlPlane ? "the network add-on is applied once, from the first control plane"
        : o.Cni == CniChoice.None ? "--cni none: install a network add-on yourself"
        : null;

    public Task RequireAsync(InstallContext c, CancellationToken ct) => KubeconfigPhase.RequireAdminConfAsync(c, Name, ct);

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        if (c.Options.Cni == CniChoice.Bridge)
        {
            await c.Host.WriteTextAsync($"/etc/cni/net.d/{BridgeCniConfig.FileName}", BridgeCniConfig.Render(c.Request.PodNetworkCidr), HostExtensions.Mode0644, ct).ConfigureAwait(false);
        }
        else
        {
            var manifestPath = c.Document.Cni.Manifest
                ?? throw new AirgapException("the bundle has no Flannel manifest (it was built with --cni none); install with --cni none or --cni bridge");
            var manifest = await BundleExtractor.ReadMemberAsync(c.Request.Bundle, manifestPath, ct).ConfigureAwait(false)
                ?? throw new AirgapException($"{manifestPath} is listed in bundle.yaml but missing from the bundle");
            var rendered = FlannelManifestRenderer.SetNetwork(Encoding.UTF8.GetString(manifest), c.Request.PodNetworkCidr);
            var target = Path.Combine(c.Request.StateDirectory, "kube-flannel.yml");
            await c.Host.WriteTextAsync(target, rendered, HostExtensions.Mode0644, ct).ConfigureAwait(false);
            await c.Host.RunCheckedAsync(await c.KubectlAsync(ct, "apply", "-f", target).ConfigureAwait(false), ct).ConfigureAwait(false);
        }
        await c.WaitNodeReadyAsync(c.Request.ReadyTimeout, ct).ConfigureAwait(false);
    }

    public Task CheckAsync(InstallContext c, CancellationToken ct) => c.WaitNodeReadyAsync(TimeSpan.FromSeconds(60), ct);
}
