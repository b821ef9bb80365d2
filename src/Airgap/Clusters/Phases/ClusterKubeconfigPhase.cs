using System.Text.RegularExpressions;
using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Clusters.Phases;

/// <summary>
/// The operator's admin kubeconfig on this host, 0600. With an external load balancer its server is
/// the endpoint; with the built-in one (a proxy on each worker, nothing on this host) it is the first
/// control plane's address, which is in every API server certificate.
/// </summary>
public sealed partial class ClusterKubeconfigPhase : IPhase<ClusterContext>
{
    public string Name => "kubeconfig";
    public string Description => "write the admin kubeconfig on this host (0600): NAME-admin.conf beside cluster.yaml";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var admin = await c.Ssh(c.FirstControlPlane).ReadTextAsync("/etc/kubernetes/admin.conf", ct).ConfigureAwait(false)
            ?? throw new AirgapException($"{c.FirstControlPlane.Name}: /etc/kubernetes/admin.conf is missing; the init phase did not finish");
        var server = c.Config.ControlPlaneEndpoint.BuiltIn ? $"{c.FirstControlPlane.Address}:6443" : c.Config.ControlPlaneEndpoint.Endpoint;
        var text = ServerLine().Replace(admin, m => $"{m.Groups[1].Value}https://{server}");
        var path = c.KubeconfigPath;
        await new LocalHost().WriteTextAsync(path, text, HostExtensions.Mode0600, ct).ConfigureAwait(false);
        c.Progress.Info($"  wrote {path} (0600, server https://{server}): kubectl --kubeconfig {path} get nodes");
    }

    [GeneratedRegex(@"^(\s*server:\s*)https://\S+$", RegexOptions.Multiline)]
    private static partial Regex ServerLine();
}
