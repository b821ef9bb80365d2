using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Clusters.Phases;

/// <summary>
/// While etcd grows, the API servers already running lose their etcd leader for a moment and
/// reinitialise their watch caches; in Kubernetes 1.20 the watches their clients held then stall
/// until they time out, up to ten minutes later (kubernetes/kubernetes#97294): kube-proxy on the
/// first control plane misses every Service made meanwhile, and NodePorts there do not answer.
/// Restarting those API servers, one at a time, makes every client list and watch again at once.
/// </summary>
public sealed class SettlePhase : IPhase<ClusterContext>
{
    public string Name => "settle";
    public string Description => "after control planes joined: restart, one at a time, the API servers that ran while etcd grew, so no client keeps a stalled watch";

    /// <summary>Every control plane that was up before the last join of this run: the ones there before it, and the ones it joined but the last.</summary>
    internal static IReadOnlyList<ClusterHost> RanWhileEtcdGrew(IReadOnlyList<ClusterHost> controlPlanes, IReadOnlyList<ClusterHost> joined) =>
        joined.Count == 0 ? [] : [.. controlPlanes.Where(h => !joined.Contains(h)), .. joined.SkipLast(1)];

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        if (c.JoinedControlPlanes.Count == 0)
        {
            c.Progress.Info("  etcd did not grow in this run: nothing to settle");
            return;
        }
        foreach (var host in RanWhileEtcdGrew(c.Config.ControlPlanes, c.JoinedControlPlanes))
        {
            var node = c.Ssh(host);
            var started = DateTime.UtcNow;
            // The kubelet starts a static pod's container again when it exits; no manifest is touched.
            await node.RunCheckedAsync(new CommandSpec("pkill", "-x", "kube-apiserver"), ct).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
            await InstallContext.WaitForAsync($"the API server on {host.Name} to answer after its restart", TimeSpan.FromMinutes(3), async () =>
            {
                var r = await c.Ssh(c.FirstControlPlane).RunAsync(c.Kubectl("--server", $"https://{host.ClusterAddress}:6443", "get", "--raw", "/readyz"), ct).ConfigureAwait(false);
                return r.ExitCode == 0 && r.Stdout.Trim() == "ok";
            }, ct).ConfigureAwait(false);
            c.Progress.Info($"{host.Name}: API server restarted and ready in {(DateTime.UtcNow - started).TotalSeconds:0} s");
        }
    }
}
