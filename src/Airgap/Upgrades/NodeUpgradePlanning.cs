using Airgap.Nodes;
using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Upgrades;

/// <summary>This node's part of an upgrade: the cluster read from its API server, the planner's decision, and the steps that fall to this node.</summary>
public sealed record NodeUpgradeDecision(NodeUpgradeView View, UpgradePlan Plan, IReadOnlyList<NodeStep> Mine)
{
    public KubernetesVersion Target => Plan.To;
}

/// <summary>
/// `airgap upgrade` without cluster.yaml upgrades the node it runs on, as kubeadm's own upgrade guide
/// does node by node: it may act only when every step the planner puts before this node's is done —
/// the first control plane applies, the other control planes follow, workers come last.
/// </summary>
public static class NodeUpgradePlanning
{
    public static async Task<NodeUpgradeDecision> DecideAsync(InstallContext c, CancellationToken ct)
    {
        var view = await NodeUpgradeProbe.ReadAsync(c, ct).ConfigureAwait(false);
        var bundle = new UpgradeBundle(c.Version, c.Document.Arch, c.Document.Packages.Select(p => p.Os).Distinct().ToList(), BinaryInstaller.Covers(c.Document))
        {
            Images = c.ImageNames,
        };
        var decision = UpgradePlanner.Plan(view.Cluster, [bundle], ReleaseTable.Current);
        if (decision.Refusal is { } refusal) throw new AirgapException(refusal.Message);
        var plan = decision.Plan!;
        var mine = plan.Steps.Where(s => s.Node == view.Node).ToList();
        if (mine.Count == 0) return new NodeUpgradeDecision(view, plan, mine);
        // Steps of other nodes that kubeadm needs done before this node's first one.
        var first = mine[0];
        var before = plan.Steps.Where(s => s.Node != view.Node && s.Order < first.Order && MustPrecede(s.Action, first.Action)).ToList();
        if (before.Count > 0)
            throw new AirgapException($"refusing: {view.Node} comes after {string.Join(", ", before.Select(s => $"{s.Node} ({Describe(s.Action)})").Distinct())}; " +
                                      $"run airgap upgrade there first (kubeadm upgrades the control planes before the other nodes)");
        return new NodeUpgradeDecision(view, plan, mine);
    }

    /// <summary>Only the control plane's own order binds a node: apply before any other control plane or kubelet, control planes before workers.</summary>
    private static bool MustPrecede(UpgradeAction earlier, UpgradeAction mine) => (earlier, mine) switch
    {
        (UpgradeAction.ApplyControlPlane, _) => true,
        (UpgradeAction.UpgradeControlPlane, UpgradeAction.UpgradeWorker) => true,
        _ => false,
    };

    public static string Describe(UpgradeAction action) => action switch
    {
        UpgradeAction.ApplyControlPlane => "kubeadm upgrade apply",
        UpgradeAction.UpgradeControlPlane => "kubeadm upgrade node, control plane",
        UpgradeAction.UpgradeKubelet => "kubelet and kubectl",
        UpgradeAction.UpgradeWorker => "kubeadm upgrade node, kubelet and kubectl",
        _ => action.ToString(),
    };

    /// <summary>The plan as an operator reads it, one line each.</summary>
    public static IEnumerable<string> Lines(NodeUpgradeDecision d) => Lines(d.Plan, d.View.Node, d.View.Cluster.Nodes.Count);

    /// <summary>The plan as printed by `airgap upgrade plan` (one node, marked) and `airgap cluster upgrade plan`.</summary>
    public static IEnumerable<string> Lines(UpgradePlan plan, string? thisNode = null, int? clusterSize = null)
    {
        yield return $"upgrade {plan.From} → {plan.To} ({plan.Kind.ToString().ToLowerInvariant()})" +
                     (clusterSize is { } n ? $", cluster of {n} node{(n == 1 ? "" : "s")}" : "");
        foreach (var step in plan.Steps)
            yield return $"  {step.Order}. {step.Node}: {Describe(step.Action)}; {string.Join(", ", step.Changes)} ({step.Source}){(step.Node == thisNode ? "  ← this node" : "")}";
        if (plan.NothingToDo) yield return $"  every node runs {plan.To}: nothing to do but check";
        if (plan.Images.Added.Count > 0) yield return $"  images added: {string.Join(", ", plan.Images.Added)}";
        if (plan.Images.Registry is { } registry) yield return $"  kubeadm's registry moves from {registry.From} to {registry.To}";
        if (plan.Images.SandboxChanges) yield return $"  containerd's sandbox image moves from {plan.Images.SandboxFrom} to {plan.Images.SandboxTo}";
        if (plan.Config.Changes) yield return $"  kubeadm config API {plan.Config.From.ToApiVersion()} → {plan.Config.To.ToApiVersion()}{(plan.Config.MigrateFirst ? " (migrated first)" : "")}";
        foreach (var note in plan.Notes) yield return "  " + note;
    }
}
