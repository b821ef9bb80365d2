using System.Collections.Concurrent;
using Airgap.Nodes;
using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Clusters.Phases;

/// <summary>
/// Every node checked before any is changed: the node's own preflight (read only; its install
/// repairs what it may), and the checks only the whole cluster can make — host names, MACs,
/// product_uuids and machine-ids that two nodes share, as cloned VMs do.
/// </summary>
public sealed class ClusterPreflightPhase : IPhase<ClusterContext>
{
    public string Name => "preflight";
    public string Description => "probe every node in parallel; refuse duplicate host names, MACs, product_uuids and machine-ids, and each node's own blockers";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var facts = new ConcurrentDictionary<string, HostFacts>();
        await c.ForEachAsync(c.Config.Nodes, async host => facts[host.Name] = await HostProbe.ProbeAsync(c.Ssh(host), ct).ConfigureAwait(false), ct).ConfigureAwait(false);
        var version = KubernetesVersion.Parse(c.Document.Kubernetes);
        var ignore = IgnoredPreflightErrors.Parse(c.Config.Install.IgnorePreflightErrors);
        var kubeadm = await KubeadmStatesAsync(c, ct).ConfigureAwait(false);
        var errors = new List<string>();
        foreach (var host in c.Config.Nodes)
        {
            var peers = c.Config.Nodes.Where(h => h != host).Select(h => new PeerFacts(h.Name, facts[h.Name])).ToList();
            var options = new PreflightOptions
            {
                Role = host == c.FirstControlPlane ? NodeRole.InitControlPlane : c.Config.ControlPlanes.Contains(host) ? NodeRole.JoinControlPlane : NodeRole.Worker,
                KubernetesVersion = version,
                Ignore = ignore,
                Fix = c.Config.Install.Fix,
                Peers = peers,
            };
            var report = Preflight.Run(facts[host.Name], options);
            // A node that is in the cluster, or whose own kubeadm attempt stopped halfway (its install resets
            // that before it tries again), has its ports in use and its kubeadm files: that is its state, not a blocker.
            var results = kubeadm.ContainsKey(host.Name)
                ? report.Results.Where(r => r.Name.StartsWith("Duplicate", StringComparison.Ordinal)).ToList()
                : report.Results;
            foreach (var r in results.Where(r => r.Status is PreflightStatus.Warn or PreflightStatus.Error))
            {
                c.Progress.Info($"{host.Name}: {r.Status.ToString().ToLowerInvariant(),-5} {r.Name}: {r.Message}");
                if (r.Status == PreflightStatus.Error) errors.Add($"{host.Name} [{r.Name}] {r.Message}");
            }
        }
        if (errors.Count > 0)
            throw new AirgapException($"preflight found {errors.Count} error{(errors.Count == 1 ? "" : "s")}: {string.Join("; ", errors)}; " +
                                      "fix them, or list the check names under install.ignorePreflightErrors");
        c.Progress.Info($"  {c.Config.Nodes.Count} nodes passed: names, MACs, product_uuids and machine-ids unique");
    }

    /// <summary>Nodes whose own journal says kubeadm init or join finished.</summary>
    internal static async Task<HashSet<string>> JoinedNodesAsync(ClusterContext c, CancellationToken ct) =>
        [.. (await KubeadmStatesAsync(c, ct).ConfigureAwait(false)).Where(e => e.Value == PhaseState.Done).Select(e => e.Key)];

    /// <summary>Each node's kubeadm phase as its own journal has it (done, or an attempt that started or failed); nodes without one are left out.</summary>
    internal static async Task<IReadOnlyDictionary<string, PhaseState>> KubeadmStatesAsync(ClusterContext c, CancellationToken ct)
    {
        var states = new ConcurrentDictionary<string, PhaseState>();
        await c.ForEachAsync(c.Config.Nodes, async host =>
        {
            if ((await c.JournalAsync(host, ct).ConfigureAwait(false))?.Get("kubeadm") is { } entry) states[host.Name] = entry.State;
        }, ct).ConfigureAwait(false);
        return states;
    }
}
