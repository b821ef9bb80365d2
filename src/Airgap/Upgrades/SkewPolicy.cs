using Airgap.Releases;

namespace Airgap.Upgrades;

/// <summary>
/// Kubernetes' version skew policy (kubernetes.io/releases/version-skew-policy), the parts an upgrade
/// must keep while control planes move before kubelets.
/// </summary>
public static class SkewPolicy
{
    /// <summary>
    /// How many minors <paramref name="kubelet"/> may trail kube-apiserver: "up to three minor versions
    /// older (kubelet &lt; 1.25 may only be up to two minor versions older)", the policy's words since
    /// 1.28; so a three-minor gap first appears under a 1.28 API server.
    /// </summary>
    public static int KubeletMaxMinorsBehind(KubernetesVersion kubelet) => kubelet.Minor >= 25 ? 3 : 2;

    /// <summary>kubectl is supported within one minor (older or newer) of kube-apiserver.</summary>
    public const int KubectlMaxMinorsApart = 1;

    /// <summary>kubeadm upgrades a control plane by one minor at a time.</summary>
    public const int KubeadmMaxMinorStep = 1;

    public static int MinorsBetween(KubernetesVersion older, KubernetesVersion newer) => newer.Minor - older.Minor;
}
