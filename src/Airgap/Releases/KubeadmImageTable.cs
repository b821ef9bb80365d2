using System.Diagnostics.CodeAnalysis;

namespace Airgap.Releases;

/// <summary>
/// The answer to <c>kubeadm config images list --kubernetes-version V</c> when no kubeadm binary of
/// version V is at hand: the image rows of <see cref="ReleaseTable.Current"/> (built-in facts taken
/// from each kubeadm release, plus the operator's releases file).
/// </summary>
public static class KubeadmImageTable
{
    /// <summary>The patch releases the table answers for, as runs per minor (for error messages).</summary>
    public static IReadOnlyList<KubernetesVersionRange> Known => ReleaseTable.Current.Known;

    public static bool TryGet(KubernetesVersion version, [NotNullWhen(true)] out KubeadmImageSet? set) =>
        ReleaseTable.Current.TryGet(version, out set);

    public static KubeadmImageSet Get(KubernetesVersion version) => ReleaseTable.Current.Get(version);
}
