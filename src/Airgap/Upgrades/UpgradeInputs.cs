using Airgap.Nodes;
using Airgap.Releases;

namespace Airgap.Upgrades;

public enum UpgradeNodeRole { ControlPlane, Worker }

/// <summary>
/// One node as the cluster-reading side found it. <see cref="ApiServer"/> is the version of the node's
/// kube-apiserver static pod (control planes only); <see cref="Kubeadm"/> and <see cref="Kubectl"/> are
/// null where the binary is absent.
/// </summary>
/// <param name="Os">The OS profile name airgap uses for the node, e.g. ubuntu-22.04.</param>
/// <param name="Arch">amd64, arm64: as bundles name it.</param>
public sealed record NodeState(
    string Name,
    UpgradeNodeRole Role,
    string Arch,
    string Os,
    KubernetesVersion Kubelet,
    KubernetesVersion? Kubeadm = null,
    KubernetesVersion? Kubectl = null,
    KubernetesVersion? ApiServer = null);

/// <summary>The running cluster, nodes in the order the operator listed them (the first control plane leads).</summary>
public sealed record ClusterState(IReadOnlyList<NodeState> Nodes)
{
    /// <summary>
    /// The config API of the kubeadm config airgap keeps on the nodes (/etc/kubernetes/airgap/kubeadm.yaml),
    /// when it was read; null means the one airgap writes for the running version.
    /// </summary>
    public KubeadmApiVersion? ConfigFileApi { get; init; }
}

/// <summary>A bundle offered for the upgrade; a cluster of several architectures is given one per arch.</summary>
/// <param name="Oses">The OS profiles the bundle has packages for.</param>
/// <param name="HasBinaries">Whether it carries kubeadm/kubelet/kubectl binaries, which any Linux of its arch can take.</param>
public sealed record UpgradeBundle(KubernetesVersion Version, string Arch, IReadOnlyList<string> Oses, bool HasBinaries)
{
    /// <summary>The canonical names of the images it holds (bundle.yaml); empty means: as the release table says for its version.</summary>
    public IReadOnlyList<string> Images { get; init; } = [];
}
