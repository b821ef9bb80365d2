using Airgap.Nodes;
using Airgap.Releases;

namespace Airgap.Upgrades;

/// <summary>
/// Which kubeadm config API a release writes and which it still reads. From kubeadm's own support
/// matrix (cmd/kubeadm/app/util/config/common.go, validateSupportedVersion) and changelogs:
/// v1beta2 from 1.15, deprecated (read with a warning) from 1.22 and removed in 1.27 (kubernetes PR
/// #114540, CHANGELOG-1.27: "kubeadm 1.26's config migrate can be used"); v1beta3 from 1.22,
/// deprecated from 1.31; v1beta4 from 1.31. No kubeadm source read here records v1beta3's removal,
/// so it counts as read by every release from 1.22 on.
/// </summary>
public static class KubeadmConfigApis
{
    /// <summary>The API airgap writes for a release: the newest it reads (see <see cref="KubeadmConfig.ApiVersionFor"/>).</summary>
    public static KubeadmApiVersion Writes(KubernetesVersion version) => KubeadmConfig.ApiVersionFor(version);

    public static bool Reads(KubernetesVersion kubeadm, KubeadmApiVersion api) => kubeadm.Major == 1 && api switch
    {
        KubeadmApiVersion.V1Beta2 => kubeadm.Minor is >= 15 and <= 26,
        KubeadmApiVersion.V1Beta3 => kubeadm.Minor >= 22,
        KubeadmApiVersion.V1Beta4 => kubeadm.Minor >= 31,
        _ => false,
    };

    /// <summary>
    /// The config change of an upgrade from <paramref name="from"/> to <paramref name="to"/>;
    /// <paramref name="fileApi"/> is the API the node's config file is in, when known.
    /// </summary>
    public static ConfigApiChange Change(KubernetesVersion from, KubernetesVersion to, KubeadmApiVersion? fileApi = null)
    {
        var before = fileApi ?? Writes(from);
        return new ConfigApiChange(before, Writes(to), MigrateFirst: !Reads(to, before));
    }
}
