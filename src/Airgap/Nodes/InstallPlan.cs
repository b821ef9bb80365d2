using Airgap.Releases;

namespace Airgap.Nodes;

/// <summary>The install phases, in the order they run. Their lowercase names are what --skip-phases and the journal use.</summary>
public enum InstallPhase { Verify, Preflight, Runtime, Packages, Images, Kubeadm, Kubeconfig, Cni, Finalize }

public static class InstallPhaseNames
{
    public static string ToName(this InstallPhase phase) => phase.ToString().ToLowerInvariant();

    public static IReadOnlyList<string> All { get; } = Enum.GetValues<InstallPhase>().Select(p => p.ToName()).ToList();

    public static bool TryParse(string name, out InstallPhase phase)
    {
        foreach (var candidate in Enum.GetValues<InstallPhase>())
        {
            if (!string.Equals(candidate.ToName(), name.Trim(), StringComparison.OrdinalIgnoreCase)) continue;
            phase = candidate;
            return true;
        }
        phase = default;
        return false;
    }
}

/// <summary>One phase as planned for this node: what it will do, or why it will not run.</summary>
public sealed record PlannedPhase(InstallPhase Phase, string Description)
{
    public string Name => Phase.ToName();
    public string? SkipReason { get; init; }
    public bool Skipped => SkipReason is not null;
}

/// <summary>
/// The phases for a node's role and flags, decided before anything runs, so --dry-run, the journal
/// and the runner agree on what happens. Flag combinations that cannot work are refused here, with
/// the reason, rather than failing halfway through an install.
/// </summary>
public sealed record InstallPlan(InstallOptions Options, KubeadmApiVersion KubeadmApiVersion, IReadOnlyList<PlannedPhase> Phases)
{
    public IReadOnlyList<PlannedPhase> ToRun => Phases.Where(p => !p.Skipped).ToList();

    public PlannedPhase this[InstallPhase phase] => Phases.Single(p => p.Phase == phase);

    public static InstallPlan Create(InstallOptions options)
    {
        var api = KubeadmConfig.ApiVersionFor(options.KubernetesVersion);
        Validate(options);
        var skipped = ParseSkips(options.SkipPhases);

        var phases = Enum.GetValues<InstallPhase>()
            .Select(phase =>
            {
                var planned = new PlannedPhase(phase, Describe(phase, options, api));
                var reason = skipped.Contains(phase) ? "--skip-phases" : InherentSkip(phase, options);
                return reason is null ? planned : planned with { SkipReason = reason };
            })
            .ToList();
        return new InstallPlan(options, api, phases);
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

    private static HashSet<InstallPhase> ParseSkips(IReadOnlyList<string> names)
    {
        var phases = new HashSet<InstallPhase>();
        foreach (var name in names.SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!InstallPhaseNames.TryParse(name, out var phase))
                throw new AirgapException($"--skip-phases: \"{name}\" is not a phase; phases are {string.Join(", ", InstallPhaseNames.All)}");
            phases.Add(phase);
        }
        return phases;
    }

    /// <summary>Phases that have nothing to do for this role or these flags.</summary>
    private static string? InherentSkip(InstallPhase phase, InstallOptions o) => phase switch
    {
        InstallPhase.Kubeconfig when o.Role == NodeRole.Worker => "workers get no admin kubeconfig",
        InstallPhase.Cni when o.Role != NodeRole.InitControlPlane => "the network add-on is applied once, from the first control plane",
        InstallPhase.Cni when o.Cni == CniChoice.None => "--cni none: install a network add-on yourself",
        _ => null,
    };

    private static string Describe(InstallPhase phase, InstallOptions o, KubeadmApiVersion api)
    {
        var docker = o.Runtime == ContainerRuntimeKind.Docker;
        return phase switch
        {
            InstallPhase.Verify => "check the bundle against SHA256SUMS and its digests, and that it is for this node's architecture",
            InstallPhase.Preflight => "check swap, kernel modules, sysctls, ports, CPU, memory and earlier cluster state (--fix repairs what it can)",
            InstallPhase.Runtime => docker
                ? "configure Docker's cgroup driver to match the kubelet's"
                : $"install containerd, write {ContainerdConfig.DefaultPath} (CRI on, cgroup driver, the bundle's pause image), start it",
            InstallPhase.Packages => "install kubeadm, kubelet and kubectl from the bundle and hold them at its version",
            InstallPhase.Images => docker
                ? "load the bundle's images into Docker and check each one kubeadm needs is there"
                : "import the bundle's images into containerd (namespace k8s.io) and check each one kubeadm needs is there",
            InstallPhase.Kubeadm => o.Role == NodeRole.InitControlPlane
                ? $"write {KubeadmConfig.DefaultPath} ({api.ToApiVersion()}) and run kubeadm init"
                : $"write {KubeadmConfig.DefaultPath} ({api.ToApiVersion()}) and run kubeadm join{(o.Role == NodeRole.JoinControlPlane ? " as a control plane" : "")}",
            InstallPhase.Kubeconfig => "copy admin.conf to root's ~/.kube/config (0600)",
            InstallPhase.Cni => o.Cni == CniChoice.Bridge
                ? $"write /etc/cni/net.d/{BridgeCniConfig.FileName} (bridge + host-local on the pod CIDR), wait for the node to be Ready"
                : "apply the bundle's Flannel manifest with Network = the pod CIDR, wait for the node to be Ready",
            InstallPhase.Finalize => o.Role switch
            {
                NodeRole.InitControlPlane when o.SingleNode => "check the node is untainted and kube-system pods run; write join details (0600)",
                NodeRole.InitControlPlane => "check kube-system pods run; write join details (0600) and print how to join",
                _ => "check the node registered and is Ready",
            },
            _ => throw new ArgumentOutOfRangeException(nameof(phase)),
        };
    }
}
