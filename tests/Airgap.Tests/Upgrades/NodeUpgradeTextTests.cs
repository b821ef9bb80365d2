using Airgap.Releases;
using Airgap.Upgrades;

namespace Airgap.Tests.Upgrades;

/// <summary>What the node upgrade reads from kubeadm's manifests and kubectl's output, from real lines.</summary>
public sealed class NodeUpgradeTextTests
{
    private const string Manifest = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: kube-apiserver
        spec:
          containers:
          - command:
            - kube-apiserver
            image: k8s.gcr.io/kube-apiserver:v1.20.2
            imagePullPolicy: IfNotPresent
        """;

    [Fact]
    public void The_api_server_version_is_the_tag_of_its_static_pod_image()
    {
        Assert.Equal("k8s.gcr.io/kube-apiserver:v1.20.2", NodeUpgradeProbe.ImageOf(Manifest));
        Assert.Equal(KubernetesVersion.Parse("v1.20.2"), NodeUpgradeProbe.TagVersion(NodeUpgradeProbe.ImageOf(Manifest)));
        Assert.Equal(KubernetesVersion.Parse("v1.20.15"), NodeUpgradeProbe.TagVersion("registry.local:5000/google_containers/kube-apiserver:v1.20.15"));
        Assert.Null(NodeUpgradeProbe.TagVersion("k8s.gcr.io/kube-apiserver@sha256:" + new string('a', 64)));
        Assert.Null(NodeUpgradeProbe.ImageOf("kind: Pod\n"));
    }

    [Theory]
    // kubectl 1.20's and 1.28's wording of a PodDisruptionBudget refusal.
    [InlineData("""error when evicting pods/"web-6d4cf56db6-7x2lq" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.""",
                "default/web-6d4cf56db6-7x2lq (Cannot evict pod as it would violate the pod's disruption budget)")]
    [InlineData("""evicting pod default/web-6d4cf56db6-7x2lq""", null)]
    [InlineData("""error when evicting pods/web-1 -n shop: global timeout reached: 5m0s""", "shop/web-1 (global timeout reached: 5m0s)")]
    public void A_drain_names_the_pod_that_blocks_it_and_why(string line, string? expected) => Assert.Equal(expected, Drain.Blocker(line));
}
