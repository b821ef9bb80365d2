using Airgap.Releases;

namespace Airgap.Nodes;

/// <summary>What this node becomes: the first control plane (kubeadm init), another control plane, or a worker (kubeadm join).</summary>
public enum NodeRole { InitControlPlane, JoinControlPlane, Worker }

public enum CniChoice { Flannel, Bridge, None }

public enum ContainerRuntimeKind { Containerd, Docker }

public enum ProxyMode { Iptables, Ipvs }

public static class NodeRoleExtensions
{
    public static bool IsControlPlane(this NodeRole role) => role != NodeRole.Worker;
}

/// <summary>The install flags that shape the plan; names follow kubeadm's flags where they exist.</summary>
public sealed record InstallOptions
{
    public required KubernetesVersion KubernetesVersion { get; init; }
    public NodeRole Role { get; init; } = NodeRole.InitControlPlane;
    public bool SingleNode { get; init; }
    public CniChoice Cni { get; init; } = CniChoice.Flannel;
    public ContainerRuntimeKind Runtime { get; init; } = ContainerRuntimeKind.Containerd;

    /// <summary>Phase names as given to --skip-phases.</summary>
    public IReadOnlyList<string> SkipPhases { get; init; } = [];
}
