using Airgap.Releases;

namespace Airgap.Tests.Releases;

public sealed class FlannelManifestTests
{
    // Shaped like kube-flannel.yml (ConfigMap, per-arch DaemonSets with init containers), plus the
    // other places a pod template can sit, and a commented-out image that must not count.
    private const string Manifest = """
        ---
        kind: Namespace
        apiVersion: v1
        metadata:
          name: kube-flannel
        ---
        kind: ConfigMap
        apiVersion: v1
        metadata:
          name: kube-flannel-cfg
          namespace: kube-flannel
        data:
          cni-conf.json: |
            { "name": "cbr0", "plugins": [ { "type": "flannel" } ] }
          net-conf.json: |
            {
              "Network": "10.244.0.0/16",
              "Backend": { "Type": "vxlan" }
            }
        ---
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: kube-flannel-ds-amd64
        spec:
          template:
            spec:
              initContainers:
              - name: install-cni-plugin
               #image: example.org/flannel-cni-plugin:commented-out
                image: example.org/flannel-cni-plugin:v1.0.0
              - name: install-cni
                image: example.org/flannel:v0.0.1-amd64
              containers:
              - name: kube-flannel
                image: example.org/flannel:v0.0.1-amd64
        ---
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: kube-flannel-ds-arm64
        spec:
          template:
            spec:
              containers:
              - name: kube-flannel
                image: example.org/flannel:v0.0.1-arm64
        ---
        apiVersion: v1
        kind: List
        items:
        - apiVersion: apps/v1
          kind: Deployment
          spec:
            template:
              spec:
                containers:
                - name: helper
                  image: example.org/helper:1
        - apiVersion: batch/v1
          kind: CronJob
          spec:
            jobTemplate:
              spec:
                template:
                  spec:
                    containers:
                    - name: cleanup
                      image: example.org/cleanup:2
        """;

    [Fact]
    public void Reads_every_distinct_image_in_document_order()
    {
        Assert.Equal(
            [
                "example.org/flannel-cni-plugin:v1.0.0",
                "example.org/flannel:v0.0.1-amd64",
                "example.org/flannel:v0.0.1-arm64",
                "example.org/helper:1",
                "example.org/cleanup:2",
            ],
            FlannelManifest.ReadImages(Manifest));
    }

    [Fact]
    public void Reads_the_pod_network_from_net_conf_json()
    {
        Assert.Equal("10.244.0.0/16", FlannelManifest.ReadNetwork(Manifest));
    }

    [Fact]
    public void Network_is_null_without_the_flannel_config_map()
    {
        const string other = """
            kind: ConfigMap
            apiVersion: v1
            metadata:
              name: something-else
            data:
              net-conf.json: '{"Network": "10.1.0.0/16"}'
            """;

        Assert.Null(FlannelManifest.ReadNetwork(other));
        Assert.Null(FlannelManifest.ReadNetwork("kind: ConfigMap\nmetadata:\n  name: kube-flannel-cfg\ndata: {}\n"));
        Assert.Empty(FlannelManifest.ReadImages(other));
    }

    [Fact]
    public void Broken_yaml_is_a_one_line_airgap_error()
    {
        var e = Assert.Throws<AirgapException>(() => FlannelManifest.ReadImages("kind: DaemonSet\nspec: [unclosed\n"));

        Assert.StartsWith("manifest is not valid YAML at line", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Broken_net_conf_json_is_reported()
    {
        const string yaml = "kind: ConfigMap\nmetadata:\n  name: kube-flannel-cfg\ndata:\n  net-conf.json: '{\"Network\": '\n";

        var e = Assert.Throws<AirgapException>(() => FlannelManifest.ReadNetwork(yaml));
        Assert.StartsWith("net-conf.json in the kube-flannel-cfg ConfigMap is not valid JSON", e.Message);
    }
}

public sealed class FlannelReleaseTests
{
    [Fact]
    public void Kubernetes_1_20_defaults_to_flannel_0_13_0_from_the_repository_tag()
    {
        var release = FlannelRelease.DefaultFor(KubernetesVersion.Parse("v1.20.2"));

        Assert.Equal("v0.13.0", release.Version);
        Assert.Equal("https://raw.githubusercontent.com/flannel-io/flannel/v0.13.0/Documentation/kube-flannel.yml", release.ManifestUrl);
        Assert.Equal("526baa6f631ce5cb452117f49207350db60612dfcce9e475fe5f94075e98fd4b", release.ManifestSha256);
    }

    [Fact]
    public void Every_minor_from_1_18_to_1_32_has_a_default_with_a_hash()
    {
        for (var minor = 18; minor <= 32; minor++)
        {
            var release = FlannelRelease.DefaultFor(KubernetesVersion.Create(1, minor, 0));
            Assert.Matches("^[0-9a-f]{64}$", release.ManifestSha256);
            Assert.Equal(FlannelRelease.ManifestUrlFor(release.Version), release.ManifestUrl);
        }
    }

    [Fact]
    public void Defaults_do_not_go_backwards_as_Kubernetes_moves_on()
    {
        var versions = Enumerable.Range(18, 15)
            .Select(m => NuGet.Versioning.SemanticVersion.Parse(FlannelRelease.DefaultFor(KubernetesVersion.Create(1, m, 0)).Version[1..]))
            .ToList();

        for (var i = 1; i < versions.Count; i++) Assert.True(versions[i] >= versions[i - 1]);
    }

    [Fact]
    public void Get_accepts_a_version_with_or_without_v()
    {
        Assert.Equal(FlannelRelease.Get("v0.22.1"), FlannelRelease.Get("0.22.1"));
        Assert.True(FlannelRelease.TryGet("v0.12.0", out _));
    }

    [Fact]
    public void Unknown_flannel_version_says_what_to_do()
    {
        var e = Assert.Throws<AirgapException>(() => FlannelRelease.Get("v0.99.0"));

        Assert.Contains("v0.99.0", e.Message);
        Assert.Contains("--flannel-manifest", e.Message);
        Assert.False(FlannelRelease.TryGet("v0.11.0", out _));
    }

    [Fact]
    public void No_default_for_an_unknown_minor()
    {
        var e = Assert.Throws<AirgapException>(() => FlannelRelease.DefaultFor(KubernetesVersion.Parse("v1.40.0")));
        Assert.Contains("--cni flannel:VERSION", e.Message);
    }
}
