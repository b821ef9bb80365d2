using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Nodes;

/// <summary>
/// The phases for a node's role and flags, decided before anything runs, so --dry-run, the journal
/// and the runner agree on what happens. Flag combinations that cannot work are refused here, with
/// the reason, rather than failing halfway through an install.
/// </summary>
public sealed record InstallPlan(InstallOptions Options, KubeadmApiVersion KubeadmApiVersion, NodeWorkflow<IInstallPhase> Workflow,
                                 IReadOnlyList<PlannedPhase<InstallContext>> Phases)
{
    public IReadOnlyList<PlannedPhase<InstallContext>> ToRun => Phases.Where(p => !p.Skipped).ToList();

    public PlannedPhase<InstallContext> this[string name] => Phases.Single(p => p.Name == name);

    public static InstallPlan Create(InstallOptions options)
    {
        var api = KubeadmConfig.ApiVersionFor(options.KubernetesVersion);
        Validate(options);
        var workflow = NodeWorkflows.For(options.Role);
        var skipped = ParseSkips(workflow, options.SkipPhases);
        var phases = workflow.Phases
            .Select(phase => new PlannedPhase<InstallContext>(phase, phase.Describe(options))
            {
                SkipReason = skipped.Contains(phase.Name) ? "--skip-phases" : phase.SkipReason(options),
            })
            .ToList();
        return new InstallPlan(options, api, workflow, phases);
    }

    private static void Validate(InstallOptions o)
    {
        if (o.SingleNode && o.Role != NodeRole.InitControlPlane)
            throw new AirgapException("--single-node makes this node the whole cluster; it cannot be combined with joining (--role worker or join)");
        if (o.Cni == CniChoice.Bridge && !o.SingleNode)
            throw new AirgapException("--cni bridge does not route between nodes and needs --single-node; use --cni flannel for a multi-node cluster");
        if (o.Runtime == ContainerRuntimeKind.Docker && o.KubernetesVersion >= KubernetesVersion.Create(1, 24, 0))
            throw new AirgapException($"--runtime docker needs Kubernetes older than v1.24 (dockershim was removed); {o.KubernetesVersion} uses --runtime containerd");
    }

    private static HashSet<string> ParseSkips(NodeWorkflow<IInstallPhase> workflow, IReadOnlyList<string> names)
    {
        var phases = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names.SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var phase = workflow.Find(name)
                ?? throw new AirgapException($"--skip-phases: \"{name}\" is not a phase of {workflow.Name}; phases are {string.Join(", ", workflow.Names)}");
            phases.Add(phase.Name);
        }
        return phases;
    }
}
