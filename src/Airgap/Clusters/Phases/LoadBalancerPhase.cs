using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Clusters.Phases;

public sealed class LoadBalancerPhase : IPhase<ClusterContext>
{
    public string Name => "load-balancer";
    public string Description => "built in: the endpoint name in /etc/hosts and airgap's API server proxy on every worker; external: nothing to set up";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var endpoint = c.Config.ControlPlaneEndpoint;
        if (!endpoint.BuiltIn)
        {
            c.Progress.Info($"  external load balancer at {endpoint.Endpoint}: it must forward TCP to port 6443 of {string.Join(", ", c.Config.ControlPlanes.Select(h => h.ClusterAddress))}");
            return;
        }
        var joined = await ClusterPreflightPhase.JoinedNodesAsync(c, ct).ConfigureAwait(false);
        var backends = c.Config.ControlPlanes.Select(h => $"{h.ClusterAddress}:6443").ToList();
        var unit = EndpointHosts.ProxyUnitText($"127.0.0.1:{endpoint.Port}", backends);
        await c.ForEachAsync(c.Config.Nodes, async host =>
        {
            var node = c.Ssh(host);
            if (c.Config.ControlPlanes.Contains(host))
            {
                // Its own API server once it has one; until then the first control plane's, for kubeadm join's discovery.
                var own = host == c.FirstControlPlane || joined.Contains(host.Name);
                await EndpointHosts.PointAsync(node, endpoint.Domain, own ? host.ClusterAddress : c.FirstControlPlane.ClusterAddress, ct).ConfigureAwait(false);
                c.Progress.Info($"{host.Name}: {endpoint.Domain} → {(own ? "its own API server" : c.FirstControlPlane.Name + " until it joins")}");
                return;
            }
            await EndpointHosts.PointAsync(node, endpoint.Domain, "127.0.0.1", ct).ConfigureAwait(false);
            if (await node.ReadTextAsync(EndpointHosts.ProxyUnitPath, ct).ConfigureAwait(false) != unit)
            {
                await node.WriteTextAsync(EndpointHosts.ProxyUnitPath, unit, HostExtensions.Mode0644, ct).ConfigureAwait(false);
                await node.RunCheckedAsync(new CommandSpec("systemctl", "daemon-reload"), ct).ConfigureAwait(false);
                await node.RunCheckedAsync(new CommandSpec("systemctl", "enable", EndpointHosts.ProxyUnit), ct).ConfigureAwait(false);
                await node.RunCheckedAsync(new CommandSpec("systemctl", "restart", EndpointHosts.ProxyUnit), ct).ConfigureAwait(false);
            }
            else
            {
                await node.RunCheckedAsync(new CommandSpec("systemctl", "start", EndpointHosts.ProxyUnit), ct).ConfigureAwait(false);
            }
            c.Progress.Info($"{host.Name}: {endpoint.Domain} → 127.0.0.1, airgap-apiserver-proxy → {string.Join(", ", backends)}");
        }, ct).ConfigureAwait(false);
    }
}
