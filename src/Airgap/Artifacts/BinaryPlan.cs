using Airgap.Releases;

namespace Airgap.Artifacts;

/// <summary>
/// One file to fetch for the binary install path: where it lives upstream (or on a mirror of the same
/// shape) and where its published checksum may be, tried in order.
/// </summary>
public sealed record BinaryArtifact(string Name, string Version, string Arch, Uri Url, IReadOnlyList<Uri> ChecksumUrls, string FileName, bool Executable)
{
    public string BundlePath => $"binaries/{Arch}/{FileName}";
}

/// <summary>Where binaries come from. Both roots can point at mirrors of the same layout.</summary>
public sealed record BinarySources(Uri KubernetesRelease, Uri GitHub)
{
    public static readonly Uri DefaultKubernetesRelease = new("https://dl.k8s.io");
    public static readonly Uri DefaultGitHub = new("https://github.com");

    public static BinarySources Default => new(DefaultKubernetesRelease, DefaultGitHub);
}

public static class BinaryPlan
{
    public static IReadOnlyList<BinaryArtifact> For(KubernetesVersion kubernetes, BinaryVersions versions, string arch, BinarySources sources)
    {
        var k8s = Root(sources.KubernetesRelease);
        var gh = Root(sources.GitHub);
        var list = new List<BinaryArtifact>();
        foreach (var name in new[] { "kubeadm", "kubelet", "kubectl" })
        {
            var url = new Uri($"{k8s}/release/{kubernetes}/bin/linux/{arch}/{name}");
            list.Add(new BinaryArtifact(name, kubernetes.ToString(), arch, url, [new Uri(url + ".sha256")], name, Executable: true));
        }
        list.Add(GitHubAsset(gh, "crictl", "kubernetes-sigs/cri-tools", versions.CriTools, $"crictl-{versions.CriTools}-linux-{arch}.tar.gz", arch, null));
        list.Add(GitHubAsset(gh, "cni-plugins", "containernetworking/plugins", versions.CniPlugins, $"cni-plugins-linux-{arch}-{versions.CniPlugins}.tgz", arch, null));
        list.Add(GitHubAsset(gh, "containerd", "containerd/containerd", "v" + versions.Containerd, $"containerd-{versions.Containerd}-linux-{arch}.tar.gz", arch, null));
        // runc publishes one runc.sha256sum for all its assets besides (in mirrors) per-file .sha256.
        list.Add(GitHubAsset(gh, "runc", "opencontainers/runc", versions.Runc, $"runc.{arch}", arch, "runc.sha256sum") with { Executable = true });
        return list;
    }

    private static BinaryArtifact GitHubAsset(string gh, string name, string repository, string tag, string file, string arch, string? combined)
    {
        var dir = $"{gh}/{repository}/releases/download/{tag}";
        var url = new Uri($"{dir}/{file}");
        var sums = new List<Uri> { new(url + ".sha256"), new(url + ".sha256sum") };
        if (combined is not null) sums.Add(new Uri($"{dir}/{combined}"));
        return new BinaryArtifact(name, tag, arch, url, sums, file, Executable: false);
    }

    private static string Root(Uri uri) => uri.ToString().TrimEnd('/');
}
