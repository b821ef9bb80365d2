using System.Text.Json;
using System.Text.RegularExpressions;
using Airgap.Bundles;

namespace Airgap.Tests.Bundles;

/// <summary>sbom.cdx.json: what CycloneDX 1.5's schema requires of it, what it lists, and that it is the same bytes every time.</summary>
public sealed class BundleSbomTests
{
    private static BundleDocument Document() => new()
    {
        Name = "airgap-k8s-v1.20.2-linux-amd64", Kubernetes = "v1.20.2", Arch = "amd64",
        Cni = new BundleCni { Name = "flannel", Version = "v0.13.0" },
        Images =
        [
            new BundleImage
            {
                Name = "k8s.gcr.io/kube-apiserver:v1.20.2", Source = "registry.aliyuncs.com/google_containers/kube-apiserver:v1.20.2",
                Platform = "linux/amd64", MediaType = "application/vnd.docker.distribution.manifest.v2+json",
                Digest = "sha256:" + new string('a', 64), IndexDigest = "sha256:" + new string('b', 64),
            },
        ],
        Packages =
        [
            new BundlePackage { Os = "debian-12", Name = "kubeadm", Version = "1.20.2-00", Arch = "amd64", Path = "packages/debian-12/amd64/kubeadm_1.20.2-00_amd64.deb", Repository = "kubernetes", Sha256 = new string('c', 64) },
            new BundlePackage { Os = "rocky-9", Name = "containerd.io", Version = "1:1.6.9-3.1.el9", Arch = "x86_64", Path = "packages/rocky-9/amd64/containerd.io-1.6.9-3.1.el9.x86_64.rpm", Repository = "docker-ce", Sha256 = new string('d', 64) },
        ],
        Binaries =
        [
            new BundleBinary { Name = "kubeadm", Version = "v1.20.2", Path = "binaries/amd64/kubeadm", Source = "https://dl.k8s.io/release/v1.20.2/bin/linux/amd64/kubeadm", ChecksumSource = "https://dl.k8s.io/release/v1.20.2/bin/linux/amd64/kubeadm.sha256", Sha256 = new string('e', 64) },
        ],
    };

    [Fact]
    public void Every_field_CycloneDX_1_5_requires_is_there_with_an_allowed_value()
    {
        using var bom = JsonDocument.Parse(BundleSbom.Write(Document(), "0.1.0", new string('f', 64)));
        var root = bom.RootElement;
        // The schema's top-level "required" and its constants.
        Assert.Equal("CycloneDX", root.GetProperty("bomFormat").GetString());
        Assert.Equal("1.5", root.GetProperty("specVersion").GetString());
        Assert.Matches("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", root.GetProperty("serialNumber").GetString());
        Assert.True(root.GetProperty("version").GetInt32() >= 1);
        Assert.False(root.GetProperty("metadata").TryGetProperty("timestamp", out _));

        string[] types = ["application", "framework", "library", "container", "platform", "operating-system", "device", "device-driver", "firmware", "file", "machine-learning-model", "data"];
        var components = root.GetProperty("components").EnumerateArray().Append(root.GetProperty("metadata").GetProperty("component")).ToList();
        foreach (var c in components)
        {
            Assert.Contains(c.GetProperty("type").GetString(), types);
            Assert.False(string.IsNullOrEmpty(c.GetProperty("name").GetString()));
            foreach (var hash in c.TryGetProperty("hashes", out var hashes) ? hashes.EnumerateArray() : Enumerable.Empty<JsonElement>())
            {
                Assert.Equal("SHA-256", hash.GetProperty("alg").GetString());
                Assert.Matches("^([a-fA-F0-9]{32}|[a-fA-F0-9]{40}|[a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128})$", hash.GetProperty("content").GetString());
            }
            foreach (var p in c.GetProperty("properties").EnumerateArray()) Assert.False(string.IsNullOrEmpty(p.GetProperty("name").GetString()));
        }
        var refs = components.Select(c => c.GetProperty("bom-ref").GetString()).ToList();
        Assert.Equal(refs.Count, refs.Distinct().Count());
    }

    [Fact]
    public void It_lists_each_image_package_and_binary_with_its_digest_version_and_purl()
    {
        using var bom = JsonDocument.Parse(BundleSbom.Write(Document(), "0.1.0", new string('f', 64)));
        var components = bom.RootElement.GetProperty("components").EnumerateArray().ToDictionary(c => c.GetProperty("bom-ref").GetString()!);

        var image = components["image:k8s.gcr.io/kube-apiserver:v1.20.2"];
        Assert.Equal("container", image.GetProperty("type").GetString());
        Assert.Equal("k8s.gcr.io/kube-apiserver", image.GetProperty("name").GetString());
        Assert.Equal("v1.20.2", image.GetProperty("version").GetString());
        Assert.Equal(new string('a', 64), image.GetProperty("hashes")[0].GetProperty("content").GetString());
        Assert.Equal($"pkg:oci/kube-apiserver@sha256%3A{new string('a', 64)}?arch=amd64&repository_url=k8s.gcr.io/kube-apiserver&tag=v1.20.2", image.GetProperty("purl").GetString());

        var deb = components["package:debian-12:kubeadm:1.20.2-00:amd64"];
        Assert.Equal("pkg:deb/debian/kubeadm@1.20.2-00?arch=amd64&distro=debian-12", deb.GetProperty("purl").GetString());
        var rpm = components["package:rocky-9:containerd.io:1:1.6.9-3.1.el9:x86_64"];
        // The epoch's colon is percent-encoded, as purl requires of a version.
        Assert.Equal("pkg:rpm/rocky/containerd.io@1%3A1.6.9-3.1.el9?arch=x86_64&distro=rocky-9", rpm.GetProperty("purl").GetString());
        Assert.Equal(new string('d', 64), rpm.GetProperty("hashes")[0].GetProperty("content").GetString());

        var kubeadm = components["binary:binaries/amd64/kubeadm"];
        Assert.Equal("v1.20.2", kubeadm.GetProperty("version").GetString());
        Assert.Equal(new string('e', 64), kubeadm.GetProperty("hashes")[0].GetProperty("content").GetString());
        Assert.Equal(new string('f', 64), components["binary:bin/airgap"].GetProperty("hashes")[0].GetProperty("content").GetString());
        Assert.Equal(5, components.Count);
    }

    [Fact]
    public void The_same_bundle_gives_the_same_bytes_and_another_one_another_serial_number()
    {
        var first = BundleSbom.Write(Document(), "0.1.0", null);
        Assert.Equal(first, BundleSbom.Write(Document(), "0.1.0", null));

        var other = Document();
        other.Images[0].Digest = "sha256:" + new string('9', 64);
        string Serial(byte[] b) => Regex.Match(System.Text.Encoding.UTF8.GetString(b), "urn:uuid:[0-9a-f-]+").Value;
        Assert.NotEqual(Serial(first), Serial(BundleSbom.Write(other, "0.1.0", null)));
    }
}
