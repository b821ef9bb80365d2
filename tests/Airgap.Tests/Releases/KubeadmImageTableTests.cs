using Airgap.Releases;

namespace Airgap.Tests.Releases;

public sealed class KubeadmImageTableTests
{
    private static KubeadmImageSet Get(string version) => KubeadmImageTable.Get(KubernetesVersion.Parse(version));

    private static KubeadmImage Image(KubeadmImageSet set, string flatName) => set.Images.Single(i => i.FlatName == flatName);

    [Fact]
    public void V1_20_2_is_exactly_what_kubeadm_prints()
    {
        var set = Get("v1.20.2");

        Assert.Equal(
            [
                "k8s.gcr.io/kube-apiserver:v1.20.2",
                "k8s.gcr.io/kube-controller-manager:v1.20.2",
                "k8s.gcr.io/kube-scheduler:v1.20.2",
                "k8s.gcr.io/kube-proxy:v1.20.2",
                "k8s.gcr.io/pause:3.2",
                "k8s.gcr.io/etcd:3.4.13-0",
                "k8s.gcr.io/coredns:1.7.0",
            ],
            set.CanonicalNames());
    }

    [Fact]
    public void V1_20_2_under_an_image_repository_uses_the_same_names()
    {
        var set = Get("v1.20.2");

        Assert.Equal("registry.example/google_containers/coredns:1.7.0", set.From("registry.example/google_containers/", Image(set, "coredns")));
        Assert.Equal("registry.example/google_containers/etcd:3.4.13-0", set.From("registry.example/google_containers", Image(set, "etcd")));
    }

    [Fact]
    public void From_1_21_CoreDNS_is_nested_upstream_and_flat_in_a_mirror()
    {
        var set = Get("v1.21.2");
        var coreDns = Image(set, "coredns");

        Assert.Equal("k8s.gcr.io/coredns/coredns:v1.8.0", set.Canonical(coreDns));
        Assert.Equal("R/coredns:v1.8.0", set.From("R", coreDns));
        // kubeadm keeps the nested path when --image-repository is its own default registry.
        Assert.Equal("k8s.gcr.io/coredns/coredns:v1.8.0", set.From("k8s.gcr.io", coreDns));
        Assert.Equal("k8s.gcr.io/pause:3.4.1", set.Canonical(Image(set, "pause")));
    }

    [Theory]
    [InlineData("v1.22.16", "k8s.gcr.io", "3.5.0-0")]
    [InlineData("v1.22.17", "registry.k8s.io", "3.5.6-0")]
    [InlineData("v1.23.14", "k8s.gcr.io", "3.5.5-0")]
    [InlineData("v1.23.15", "registry.k8s.io", "3.5.6-0")]
    [InlineData("v1.24.0", "k8s.gcr.io", "3.5.3-0")]
    [InlineData("v1.24.8", "k8s.gcr.io", "3.5.5-0")]
    [InlineData("v1.24.9", "registry.k8s.io", "3.5.6-0")]
    public void Late_1_22_to_1_24_patches_moved_to_registry_k8s_io(string version, string registry, string etcd)
    {
        var set = Get(version);

        Assert.Equal(registry, set.DefaultRegistry);
        Assert.Equal($"{registry}/etcd:{etcd}", set.Canonical(Image(set, "etcd")));
        Assert.Equal($"{registry}/kube-apiserver:{version}", set.Canonical(set.Images[0]));
    }

    [Fact]
    public void From_1_25_everything_is_on_registry_k8s_io()
    {
        Assert.Equal(
            [
                "registry.k8s.io/kube-apiserver:v1.25.0",
                "registry.k8s.io/kube-controller-manager:v1.25.0",
                "registry.k8s.io/kube-scheduler:v1.25.0",
                "registry.k8s.io/kube-proxy:v1.25.0",
                "registry.k8s.io/pause:3.8",
                "registry.k8s.io/etcd:3.5.4-0",
                "registry.k8s.io/coredns/coredns:v1.9.3",
            ],
            Get("v1.25.0").CanonicalNames());
        Assert.All(KubeadmImageTable.Known.Where(r => r.First.Minor >= 25),
            r => Assert.Equal("registry.k8s.io", KubeadmImageTable.Get(r.Last).DefaultRegistry));
    }

    [Fact]
    public void From_1_29_kubeadm_lists_CoreDNS_before_pause_and_etcd()
    {
        Assert.Equal(
            [
                "registry.k8s.io/kube-apiserver:v1.29.0",
                "registry.k8s.io/kube-controller-manager:v1.29.0",
                "registry.k8s.io/kube-scheduler:v1.29.0",
                "registry.k8s.io/kube-proxy:v1.29.0",
                "registry.k8s.io/coredns/coredns:v1.11.1",
                "registry.k8s.io/pause:3.9",
                "registry.k8s.io/etcd:3.5.10-0",
            ],
            Get("v1.29.0").CanonicalNames());
        Assert.Equal("registry.k8s.io/coredns/coredns:v1.10.1", Get("v1.28.15").CanonicalNames()[^1]);
    }

    [Theory]
    [InlineData("v1.19.0", "3.4.9-1")]
    [InlineData("v1.19.1", "3.4.13-0")]
    [InlineData("v1.31.13", "3.5.15-0")]
    [InlineData("v1.31.14", "3.5.24-0")]
    public void Etcd_follows_the_patch_release_not_just_the_minor(string version, string etcd)
    {
        var set = Get(version);
        Assert.Equal(etcd, Image(set, "etcd").Tag);
    }

    [Fact]
    public void Every_known_version_has_seven_images_and_a_tag_per_component()
    {
        foreach (var range in KubeadmImageTable.Known)
        {
            for (var patch = range.First.Patch; patch <= range.Last.Patch; patch++)
            {
                var version = KubernetesVersion.Create(1, range.First.Minor, patch);
                Assert.True(KubeadmImageTable.TryGet(version, out var set), version.ToString());
                Assert.Equal(7, set.Images.Count);
                Assert.Equal(7, set.Images.Select(i => i.FlatName).Distinct().Count());
                Assert.All(set.Images, i => Assert.False(string.IsNullOrEmpty(i.Tag)));
            }
        }
    }

    [Fact]
    public void Known_runs_cover_1_18_to_1_36_in_order()
    {
        var known = KubeadmImageTable.Known;

        Assert.Equal("v1.18.0", known[0].First.ToString());
        Assert.Equal("v1.36.3", known[^1].Last.ToString());
        Assert.Equal(Enumerable.Range(18, 19), known.Select(r => r.First.Minor).Distinct());
        for (var i = 1; i < known.Count; i++) Assert.True(known[i - 1].Last < known[i].First);
    }

    [Theory]
    [InlineData("v1.18.7")]
    [InlineData("v1.17.17")]
    [InlineData("v1.32.99")]
    [InlineData("v1.31.0-rc.0")]
    [InlineData("v2.0.0")]
    public void Unlisted_versions_are_not_guessed(string version)
    {
        Assert.False(KubeadmImageTable.TryGet(KubernetesVersion.Parse(version), out _));
    }

    [Fact]
    public void Unknown_version_error_says_what_is_known_and_what_to_do()
    {
        var e = Assert.Throws<UnknownKubernetesVersionException>(() => Get("v1.40.0"));

        Assert.StartsWith(
            "Kubernetes v1.40.0 is not in airgap's release table (it knows v1.18.0–v1.18.6, v1.18.8–v1.18.10, v1.18.12–v1.18.20, v1.19.0–v1.19.16, v1.20.0–v1.20.15, ",
            e.Message);
        Assert.EndsWith(
            "v1.32.0–v1.32.13, v1.33.0–v1.33.13, v1.34.0–v1.34.10, v1.35.0–v1.35.7, v1.36.0–v1.36.3); " +
            "add a row for it to /etc/airgap/releases.yaml or the file $AIRGAP_RELEASES names (see README, \"The release table\"), " +
            "or pass --kubeadm PATH to a kubeadm binary of that version to ask it instead",
            e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal("v1.40.0", e.Version.ToString());
        Assert.IsAssignableFrom<AirgapException>(e);
    }
}
