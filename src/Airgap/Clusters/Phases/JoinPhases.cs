using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Clusters.Phases;

/// <summary>The other control planes, one at a time: etcd grows by one member per join, and keeps quorum throughout.</summary>
public sealed class ControlPlanesPhase : IPhase<ClusterContext>
{
    public string Name => "control-planes";
    public string Description => "join the other control planes one at a time (etcd grows one member at a time)";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        foreach (var host in c.Config.ControlPlanes.Skip(1))
        {
            if (await JoinedAsync(c, host, ct).ConfigureAwait(false)) continue;
            await c.Credentials.JoinAsync(host, ct).ConfigureAwait(false);
            c.JoinedControlPlanes.Add(host);
            if (c.Config.ControlPlaneEndpoint.BuiltIn)
            {
                // Joined: from now on it reaches the endpoint at its own API server.
                await EndpointHosts.PointAsync(c.Ssh(host), c.Config.ControlPlaneEndpoint.Domain, host.ClusterAddress, ct).ConfigureAwait(false);
                await c.Ssh(host).RunAsync(new CommandSpec("systemctl", "restart", "kubelet"), ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A node whose journal has every join phase done is checked from the cluster's side (registered
    /// and Ready), not joined again: that needs no token, so a converged cluster is left as it is.
    /// </summary>
    internal static async Task<bool> JoinedAsync(ClusterContext c, ClusterHost host, CancellationToken ct)
    {
        if ((await c.JournalAsync(host, ct).ConfigureAwait(false))?.Get("finalize") is not { State: PhaseState.Done }) return false;
        var registered = (await c.RegisteredNodesAsync(ct).ConfigureAwait(false))?.FirstOrDefault(n => n.Name == host.Name.ToLowerInvariant());
        if (registered is not { Ready: true })
            throw new AirgapException($"{host.Name}: its journal says it joined, but the cluster has it {(registered is null ? "not registered" : "not Ready")}; " +
                                      $"check its kubelet (journalctl -u kubelet), or airgap reset on it and deploy again");
        c.Progress.Info($"{host.Name}: joined earlier; Ready");
        return true;
    }
}

/// <summary>Workers join in parallel (up to ssh.maxParallel): they add no etcd members.</summary>
public sealed class WorkersPhase : IPhase<ClusterContext>
{
    public string Name => "workers";
    public string Description => "join the workers in parallel";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var pending = new List<ClusterHost>();
        foreach (var host in c.Config.Workers)
            if (!await ControlPlanesPhase.JoinedAsync(c, host, ct).ConfigureAwait(false)) pending.Add(host);
        if (pending.Count == 0) return;
        // Made once, before the parallel joins, so they share one token.
        await c.Credentials.JoinLineAsync(controlPlane: false, ct).ConfigureAwait(false);
        await c.ForEachAsync(pending, host => c.Credentials.JoinAsync(host, ct), ct).ConfigureAwait(false);
    }
}
