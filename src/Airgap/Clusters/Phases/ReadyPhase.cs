using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Clusters.Phases;

public sealed class ReadyPhase : IPhase<ClusterContext>
{
    public string Name => "ready";
    public string Description => "wait until every node is registered and Ready at the bundle's version";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var wanted = c.Config.Nodes.Select(h => h.Name.ToLowerInvariant()).ToHashSet();
        var deadline = DateTime.UtcNow + c.ReadyTimeout;
        var last = "";
        while (true)
        {
            var nodes = await c.RegisteredNodesAsync(ct).ConfigureAwait(false) ?? [];
            var waiting = wanted.Where(n => !nodes.Any(p => p.Name == n && p.Ready)).Order().ToList();
            var state = string.Join(", ", waiting);
            if (waiting.Count == 0)
            {
                var off = nodes.Where(p => wanted.Contains(p.Name) && p.KubeletVersion != c.Document.Kubernetes).ToList();
                if (off.Count > 0)
                    throw new AirgapException($"{string.Join(", ", off.Select(p => $"{p.Name} runs kubelet {p.KubeletVersion}"))}, the bundle is {c.Document.Kubernetes}; use airgap upgrade");
                c.Progress.Info($"  all {wanted.Count} nodes Ready at {c.Document.Kubernetes}");
                return;
            }
            if (state != last) c.Progress.Info($"  waiting for Ready: {state}");
            last = state;
            if (DateTime.UtcNow > deadline) throw new AirgapException($"timed out after {c.ReadyTimeout.TotalSeconds:0} s waiting for {state} to be Ready; check kubectl describe node on {c.FirstControlPlane.Name}");
            await Task.Delay(TimeSpan.FromSeconds(3), ct).ConfigureAwait(false);
        }
    }
}
