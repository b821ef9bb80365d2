using Airgap.Releases;

namespace Airgap.Artifacts;

/// <summary>The node components that ship outside Kubernetes' own release, at the versions a minor was tested with.</summary>
public sealed record BinaryVersions(string CriTools, string CniPlugins, string Containerd, string Runc)
{
    // Each row: the cri-tools release of that minor, and the CNI plugins, containerd and runc releases that
    // were current (and used by kubeadm's CI / kubernetes' dependencies) when the minor shipped.
    private static readonly Dictionary<int, BinaryVersions> ByMinor = new()
    {
        [18] = new("v1.18.0", "v0.8.6", "1.4.3", "v1.0.0-rc92"),
        [19] = new("v1.19.0", "v0.8.7", "1.4.3", "v1.0.0-rc92"),
        [20] = new("v1.20.0", "v0.8.7", "1.4.3", "v1.0.0-rc92"),
        [21] = new("v1.21.0", "v0.9.1", "1.5.5", "v1.0.2"),
        [22] = new("v1.22.0", "v0.9.1", "1.5.8", "v1.0.3"),
        [23] = new("v1.23.0", "v1.0.1", "1.6.4", "v1.1.1"),
        [24] = new("v1.24.2", "v1.1.1", "1.6.8", "v1.1.4"),
        [25] = new("v1.25.0", "v1.1.1", "1.6.12", "v1.1.4"),
        [26] = new("v1.26.0", "v1.2.0", "1.6.18", "v1.1.4"),
        [27] = new("v1.27.0", "v1.3.0", "1.7.2", "v1.1.7"),
        [28] = new("v1.28.0", "v1.3.0", "1.7.6", "v1.1.9"),
        [29] = new("v1.29.0", "v1.4.0", "1.7.11", "v1.1.10"),
        [30] = new("v1.30.0", "v1.4.1", "1.7.16", "v1.1.12"),
        [31] = new("v1.31.1", "v1.5.1", "1.7.22", "v1.1.14"),
        [32] = new("v1.32.0", "v1.6.1", "1.7.24", "v1.2.3"),
    };

    public static BinaryVersions For(KubernetesVersion kubernetes) =>
        kubernetes.Major == 1 && ByMinor.TryGetValue(kubernetes.Minor, out var v)
            ? v
            : throw new AirgapException(
                $"airgap has no default crictl/CNI/containerd/runc versions for Kubernetes {kubernetes} (it knows 1.{ByMinor.Keys.Min()}–1.{ByMinor.Keys.Max()}); pass --crictl-version, --cni-plugins-version, --containerd-version and --runc-version, or --no-binaries");

    public BinaryVersions With(string? criTools, string? cniPlugins, string? containerd, string? runc) => new(
        Prefixed(criTools) ?? CriTools, Prefixed(cniPlugins) ?? CniPlugins, containerd?.TrimStart('v') ?? Containerd, Prefixed(runc) ?? Runc);

    private static string? Prefixed(string? v) => v is null ? null : v.StartsWith('v') ? v : "v" + v;
}
