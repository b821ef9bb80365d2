using Airgap.Releases;

namespace Airgap.Artifacts;

/// <summary>
/// The node components that ship outside Kubernetes' own release. Their default versions per minor
/// live in the release table (manifests/kubernetes/releases.yaml, extendable by the operator).
/// </summary>
public sealed record BinaryVersions(string CriTools, string CniPlugins, string Containerd, string Runc)
{
    public static BinaryVersions For(KubernetesVersion kubernetes) => ReleaseTable.Current.BinariesFor(kubernetes);

    /// <summary>
    /// In the form the download URLs need: "v" on crictl, CNI plugins and runc tags, none on
    /// containerd's; either spelling is accepted, as operators write both.
    /// </summary>
    public static BinaryVersions Normalized(string criTools, string cniPlugins, string containerd, string runc) =>
        new(Prefixed(criTools), Prefixed(cniPlugins), containerd.TrimStart('v'), Prefixed(runc));

    public BinaryVersions With(string? criTools, string? cniPlugins, string? containerd, string? runc) =>
        Normalized(criTools ?? CriTools, cniPlugins ?? CniPlugins, containerd ?? Containerd, runc ?? Runc);

    private static string Prefixed(string v) => v.StartsWith('v') ? v : "v" + v;
}
