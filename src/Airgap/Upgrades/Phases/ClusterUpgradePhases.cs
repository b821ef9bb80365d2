using Airgap.Clusters;
using Airgap.Nodes;
using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Upgrades.Phases;

/// <summary>The running cluster read over SSH, the skew rules applied to cluster.yaml's bundle, and each node's step printed; a refusal stops everything before it starts.</summary>
public sealed class ClusterUpgradePlanPhase : IPhase<ClusterContext>
{
    public string Name => "plan";
    public string Description => "read the running cluster (API server, and each node over SSH), check the version skew rules against cluster.yaml's bundle, print each node's step";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var plan = await PlanAsync(c, ct).ConfigureAwait(false);
        foreach (var line in NodeUpgradePlanning.Lines(plan)) c.Progress.Info("  " + line);
        c.UpgradePlan = plan;
    }

    public static async Task<UpgradePlan> PlanAsync(ClusterContext c, CancellationToken ct)
    {
        var state = await ClusterUpgradeProbe.ReadAsync(c, ct).ConfigureAwait(false);
        var version = KubernetesVersion.Parse(c.Document.Kubernetes);
        var bundle = new UpgradeBundle(version, c.Document.Arch, c.Document.Packages.Select(p => p.Os).Distinct().ToList(), BinaryInstaller.Covers(c.Document))
        {
            Images = c.Document.Images.Select(i => i.Name).ToList(),
        };
        var decision = UpgradePlanner.Plan(state, [bundle], ReleaseTable.Current);
        if (decision.Refusal is { } refusal) throw new AirgapException(refusal.Message);
        var plan = decision.Plan!;
        if (plan.Config.MigrateFirst)
            throw new AirgapException($"refusing: the kubeadm config on this cluster is {plan.Config.From.ToApiVersion()}, which kubeadm {plan.To} no longer reads; upgrade through the minors between one at a time");
        return plan;
    }
}

/// <summary>Every node imports the new bundle's images (only those it lacks) before anything anywhere restarts.</summary>
public sealed class ClusterUpgradeImagesPhase : IPhase<ClusterContext>
{
    public string Name => "images";
    public string Description => "on every node in parallel: verify the new bundle and import the images its runtime lacks, before anything restarts";

    public Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct) =>
        c.ForEachAsync(c.Config.Nodes, host => c.RunAirgapAsync(host, NodeArgs(c, "plan", "kubeadm", "drain", "kubelet", "uncordon"), ct), ct);

    /// <summary>`airgap upgrade apply` on a node with the given phases skipped: the jump host plans, drains and uncordons for the cluster.</summary>
    internal static string[] NodeArgs(ClusterContext c, params string[] skipped) =>
        ["upgrade", "apply", .. c.RemoteBundleArguments(), "--drain-timeout", $"{(int)c.DrainTimeout.TotalSeconds}s", "--skip-phases", string.Join(',', skipped)];
}

/// <summary>
/// The plan's steps in its order — the first control plane's `kubeadm upgrade apply`, the other control
/// planes' `kubeadm upgrade node` one at a time, each control plane's kubelet (drained from the first
/// control plane, upgraded, Ready, uncordoned), then the workers whole, `--batch-size` at a time. The
/// plan is made again from the running cluster, and it leaves out what is at the target already: after
/// a kill the next run continues where the cluster stands, and each node's own journal checks what it
/// finished rather than redoing it.
/// </summary>
public sealed class ClusterUpgradeNodesPhase : IPhase<ClusterContext>
{
    public string Name => "nodes";
    public string Description => "the plan's steps in order: kubeadm upgrade apply, then upgrade node on the other control planes, then each kubelet (drain, upgrade, Ready, uncordon); workers in batches";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var plan = await ClusterUpgradePlanPhase.PlanAsync(c, ct).ConfigureAwait(false);
        var hosts = c.Config.Nodes.ToDictionary(h => h.Name.ToLowerInvariant());
        var single = c.Config.Nodes.Count == 1;
        // Nodes the plan leaves out are at the target: their journals' checks confirm it, and one killed
        // between its kubelet and its uncordon is uncordoned now.
        var moving = plan.Steps.Select(s => s.Node).ToHashSet();
        var settled = c.Config.Nodes.Where(h => !moving.Contains(h.Name.ToLowerInvariant())).ToList();
        await c.ForEachAsync(settled, async host =>
        {
            await c.RunAirgapAsync(host, ClusterUpgradeImagesPhase.NodeArgs(c, "plan", "drain", "uncordon"), ct).ConfigureAwait(false);
            await UncordonAsync(c, host.Name.ToLowerInvariant(), plan.To, ct).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);

        var steps = plan.Steps.OrderBy(s => s.Order).ToList();
        for (var i = 0; i < steps.Count;)
        {
            var step = steps[i];
            if (step.Action == UpgradeAction.UpgradeWorker)
            {
                var batch = steps.Skip(i).TakeWhile(s => s.Action == UpgradeAction.UpgradeWorker).Take(Math.Max(1, c.UpgradeBatchSize)).ToList();
                i += batch.Count;
                await c.ForEachAsync(batch.Select(s => hosts[s.Node]), async host =>
                {
                    await KubeadmAsync(c, host, ct).ConfigureAwait(false);
                    await KubeletAsync(c, host, plan.To, single, ct).ConfigureAwait(false);
                }, ct).ConfigureAwait(false);
                continue;
            }
            i++;
            var node = hosts[step.Node];
            if (step.Action is UpgradeAction.ApplyControlPlane or UpgradeAction.UpgradeControlPlane) await KubeadmAsync(c, node, ct).ConfigureAwait(false);
            else await KubeletAsync(c, node, plan.To, single, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The node's kubeadm and its upgrade (apply on the first control plane, node elsewhere: the node's phase decides from the cluster).</summary>
    private static Task KubeadmAsync(ClusterContext c, ClusterHost host, CancellationToken ct) =>
        c.RunAirgapAsync(host, ClusterUpgradeImagesPhase.NodeArgs(c, "plan", "drain", "kubelet", "uncordon"), ct);

    private static async Task KubeletAsync(ClusterContext c, ClusterHost host, KubernetesVersion target, bool single, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        var node = host.Name.ToLowerInvariant();
        if (single) c.Progress.Info($"{host.Name}: the whole cluster, not drained");
        else
        {
            c.Progress.Info($"{host.Name}: draining (PodDisruptionBudgets respected, up to {c.DrainTimeout.TotalSeconds:0} s)");
            var kubectl = await ClusterUpgradeProbe.KubectlVersionAsync(c.Ssh(c.FirstControlPlane), ct).ConfigureAwait(false);
            await Drain.RunAsync(c.Ssh(c.FirstControlPlane), c.Kubectl(Drain.Arguments(node, kubectl, c.DrainTimeout)), node, c.DrainTimeout,
                line => c.Progress.Info($"{host.Name}: {line.Trim()}"), ct).ConfigureAwait(false);
        }
        await c.RunAirgapAsync(host, ClusterUpgradeImagesPhase.NodeArgs(c, "plan", "drain", "uncordon"), ct).ConfigureAwait(false);
        await UncordonAsync(c, node, target, ct).ConfigureAwait(false);
        c.Progress.Info($"{host.Name}: at {target}, Ready, uncordoned ({(DateTime.UtcNow - started).TotalSeconds:0} s)");
    }

    private static async Task UncordonAsync(ClusterContext c, string node, KubernetesVersion target, CancellationToken ct)
    {
        var cp = c.Ssh(c.FirstControlPlane);
        await InstallContext.WaitForAsync($"{node} to be Ready with kubelet {target}", c.ReadyTimeout, async () =>
        {
            var r = await cp.RunAsync(c.Kubectl("get", "node", node, "-o",
                "jsonpath={.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type==\"Ready\")].status}"), ct).ConfigureAwait(false);
            return r.ExitCode == 0 && r.Stdout.Trim() == $"{target} True";
        }, ct).ConfigureAwait(false);
        await cp.RunCheckedAsync(c.Kubectl("uncordon", node), ct).ConfigureAwait(false);
    }
}
