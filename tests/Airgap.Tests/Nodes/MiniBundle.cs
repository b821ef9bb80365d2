using System.Security.Cryptography;
using System.Text;
using Airgap.Bundles;
using Airgap.Oci;
using Airgap.Releases;

namespace Airgap.Tests.Nodes;

/// <summary>
/// A small but valid bundle written by the product's own writer: kubeadm v1.20.2's image names over
/// one shared image (so verify's structural checks pass), plus package files for one OS.
/// </summary>
internal static class MiniBundle
{
    public static async Task<string> WriteAsync(string directory, string arch = "amd64", string os = "debian-12",
        IReadOnlyList<(string Name, string Version, bool Requested)>? packages = null)
    {
        var set = KubeadmImageTable.Get(KubernetesVersion.Parse("v1.20.2"));
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"" + arch + "\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        var layer = Encoding.UTF8.GetBytes("not really a layer, but verify only checks its digest and size");
        string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));
        var manifest = Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{{Sha(config)}}","size":{{config.Length}}},
             "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{{Sha(layer)}}","size":{{layer.Length}}}]}
            """);
        var names = set.Images.Select(i => set.Canonical(i)).ToList();
        var entries = string.Join(",", names.Select(n =>
            $$"""{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{{Sha(manifest)}}","size":{{manifest.Length}},"annotations":{"{{OciLayout.ContainerdNameAnnotation}}":"{{n}}"} }"""));
        var index = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"manifests":[{{entries}}]}""");

        var members = new List<BundleMember>
        {
            BundleMember.FromBytes("images/oci-layout", """{"imageLayoutVersion":"1.0.0"}"""u8.ToArray()),
            BundleMember.FromBytes("images/index.json", index),
            BundleMember.FromBytes($"images/blobs/sha256/{Sha(config)}", config),
            BundleMember.FromBytes($"images/blobs/sha256/{Sha(layer)}", layer),
            BundleMember.FromBytes($"images/blobs/sha256/{Sha(manifest)}", manifest),
        };
        var document = new BundleDocument
        {
            Name = "mini", Kubernetes = "v1.20.2", Arch = arch, CreatedBy = "tests",
            Images = names.Select(n => new BundleImage { Name = n, Source = n, Platform = $"linux/{arch}", Digest = $"sha256:{Sha(manifest)}", Size = manifest.Length }).ToList(),
        };
        var rpm = os.StartsWith("rocky", StringComparison.Ordinal) || os.StartsWith("centos", StringComparison.Ordinal);
        foreach (var (name, version, requested) in packages ??
                 [("kubeadm", "1.20.2-00", true), ("kubelet", "1.20.2-00", true), ("kubectl", "1.20.2-00", true), ("conntrack", "1:1.4.7-1+b2", true), ("libmnl0", "1.0.4-3", false)])
        {
            var file = rpm ? $"{name}-{version}.x86_64.rpm" : $"{name}_{version.Replace(':', '%')}_{arch}.deb";
            var path = $"packages/{os}/{arch}/{file}";
            var content = Encoding.UTF8.GetBytes($"package {name} {version}");
            members.Add(BundleMember.FromBytes(path, content));
            document.Packages.Add(new BundlePackage { Os = os, Name = name, Version = version, Arch = rpm ? "x86_64" : arch, Path = path, Repository = "test", Sha256 = Sha(content), Size = content.Length, Requested = requested });
        }
        var index2 = rpm ? "repodata/repomd.xml" : "Packages";
        members.Add(BundleMember.FromBytes($"packages/{os}/{arch}/{index2}", "index"u8.ToArray()));

        var bundle = Path.Combine(directory, $"mini-{arch}.tar");
        await BundleWriter.WriteAsync(bundle, document, members, NullProgress.Instance, default);
        return bundle;
    }
}
