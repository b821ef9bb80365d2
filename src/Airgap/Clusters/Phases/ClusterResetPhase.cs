using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Clusters.Phases;

/// <summary>
/// Every node back to before the deploy, in the safe order: workers first (in parallel), then the
/// joined control planes one at a time (each leaves etcd while the others keep quorum), the first
/// control plane last. The bundle and airgap stay in /var/lib/airgap/dist for the next deploy.
/// </summary>
public sealed class ClusterResetPhase : IPhase<ClusterContext>
{
    public string Name => "reset";
    public string Description => "airgap reset on the workers in parallel, then the control planes one at a time, the first one last; the built-in load balancer removed";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        await c.ForEachAsync(c.Config.Workers, host => ResetAsync(c, host, ct), ct).ConfigureAwait(false);
        foreach (var host in c.Config.ControlPlanes.Skip(1).Append(c.FirstControlPlane))
            await ResetAsync(c, host, ct).ConfigureAwait(false);
        var local = c.KubeconfigPath;
        if (File.Exists(local))
        {
            File.Delete(local);
            c.Progress.Info($"  removed {local}");
        }
    }

    private static async Task ResetAsync(ClusterContext c, ClusterHost host, CancellationToken ct)
    {
        var node = c.Ssh(host);
        if (await node.FileExistsAsync(ClusterContext.RemoteAirgap, ct).ConfigureAwait(false))
            await c.RunAirgapAsync(host, ["reset"], ct).ConfigureAwait(false);
        else
            c.Progress.Info($"{host.Name}: airgap was never sent here; nothing to reset");
        if (await node.FileExistsAsync(EndpointHosts.ProxyUnitPath, ct).ConfigureAwait(false))
        {
            await node.RunAsync(new CommandSpec("systemctl", "disable", "--now", EndpointHosts.ProxyUnit), ct).ConfigureAwait(false);
            await node.DeleteFileAsync(EndpointHosts.ProxyUnitPath, ct).ConfigureAwait(false);
            await node.RunAsync(new CommandSpec("systemctl", "daemon-reload"), ct).ConfigureAwait(false);
        }
        await EndpointHosts.PointAsync(node, c.Config.ControlPlaneEndpoint.Domain, null, ct).ConfigureAwait(false);
        c.Progress.Info($"{host.Name}: reset");
    }
}
