using Airgap.Nodes;

namespace Airgap.Clusters;

/// <summary>One node as its own journal and the cluster see it.</summary>
public sealed record NodeStatus(string Name, string Role, string Address)
{
    /// <summary>The last phase the node's journal records, with its state (done, failed, started), or "not installed".</summary>
    public string Journal { get; init; } = "not installed";
    public string? Error { get; init; }
    public string? Kubelet { get; init; }
    public string? Ready { get; init; }
    public string? Unreachable { get; init; }
}

/// <summary>`airgap cluster status`: every node's phase from its journal, and its version and readiness from the cluster.</summary>
public static class ClusterStatus
{
    public static async Task<IReadOnlyList<NodeStatus>> ReadAsync(ClusterContext c, CancellationToken ct)
    {
        var statuses = new NodeStatus[c.Config.Nodes.Count];
        await Task.WhenAll(c.Config.Nodes.Select(async (host, i) =>
        {
            var role = c.Config.ControlPlanes.Contains(host) ? "control-plane" : "worker";
            var status = new NodeStatus(host.Name, role, host.Address);
            try
            {
                await c.ConnectAsync(host, ct).ConfigureAwait(false);
                var journal = await c.JournalAsync(host, ct).ConfigureAwait(false);
                if (journal?.Entries.LastOrDefault() is { } last)
                    status = status with { Journal = $"{last.Phase} {last.State.ToString().ToLowerInvariant()}", Error = last.Error };
            }
            catch (AirgapException e)
            {
                status = status with { Unreachable = e.Message };
            }
            statuses[i] = status;
        })).ConfigureAwait(false);
        if (statuses[0].Unreachable is null)
        {
            if (await c.RegisteredNodesAsync(ct).ConfigureAwait(false) is { } registered)
            {
                var nodes = registered.ToDictionary(n => n.Name);
                for (var i = 0; i < statuses.Length; i++)
                    if (nodes.TryGetValue(statuses[i].Name.ToLowerInvariant(), out var n))
                        statuses[i] = statuses[i] with { Kubelet = n.KubeletVersion, Ready = n.Ready ? "Ready" : "NotReady" };
            }
        }
        return statuses;
    }
}
