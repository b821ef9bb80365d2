using Airgap.Oci;

namespace Airgap.Tests.Oci;

public sealed class ImageReferenceTests
{
    [Theory]
    [InlineData("k8s.gcr.io/kube-apiserver:v1.20.2", "k8s.gcr.io", "kube-apiserver", "v1.20.2")]
    [InlineData("nginx", "docker.io", "library/nginx", "latest")]
    [InlineData("nginx:1.19", "docker.io", "library/nginx", "1.19")]
    [InlineData("flannel/flannel:v0.22.0", "docker.io", "flannel/flannel", "v0.22.0")]
    [InlineData("quay.io/coreos/flannel:v0.13.0", "quay.io", "coreos/flannel", "v0.13.0")]
    [InlineData("127.0.0.1:5000/google_containers/pause:3.2", "127.0.0.1:5000", "google_containers/pause", "3.2")]
    [InlineData("localhost/x", "localhost", "x", "latest")]
    [InlineData("registry.k8s.io/coredns/coredns:v1.8.0", "registry.k8s.io", "coredns/coredns", "v1.8.0")]
    [InlineData("index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1")]
    public void Parses_like_docker(string text, string registry, string repository, string tag)
    {
        var r = ImageReference.Parse(text);
        Assert.Equal(registry, r.Registry);
        Assert.Equal(repository, r.Repository);
        Assert.Equal(tag, r.Tag);
    }

    [Fact]
    public void Keeps_a_digest_and_asks_for_it()
    {
        var hex = new string('a', 64);
        var r = ImageReference.Parse($"k8s.gcr.io/pause@sha256:{hex}");
        Assert.Null(r.Tag);
        Assert.Equal($"sha256:{hex}", r.ManifestReference);
        Assert.Equal($"k8s.gcr.io/pause@sha256:{hex}", r.ToString());
    }

    [Fact]
    public void Docker_hub_api_host_differs_from_its_name()
    {
        Assert.Equal("registry-1.docker.io", ImageReference.Parse("busybox").ApiHost);
        Assert.Equal("quay.io", ImageReference.Parse("quay.io/a/b").ApiHost);
    }

    [Theory]
    [InlineData("")]
    [InlineData("UPPER/case")]
    [InlineData("k8s.gcr.io/pause:bad tag")]
    [InlineData("k8s.gcr.io/pause@sha256:short")]
    [InlineData("k8s.gcr.io//pause")]
    [InlineData("k8s.gcr.io/pause:")]
    public void Rejects_malformed_references_with_a_reason(string text)
    {
        var e = Assert.Throws<AirgapException>(() => ImageReference.Parse(text));
        Assert.Contains("is not a valid image reference", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}
