using Airgap.Oci;

namespace Airgap.Tests.Oci;

public sealed class MirrorRulesTests
{
    [Fact]
    public void Mirrors_are_tried_in_order_then_the_source()
    {
        var rules = new MirrorRules();
        rules.Add("quay.io=quay.mirror-a.example");
        rules.Add("quay.io=https://mirror-b.example/quay/");
        var candidates = rules.Candidates(ImageReference.Parse("quay.io/coreos/flannel:v0.13.0")).Select(c => c.ToString()).ToList();
        Assert.Equal(["quay.mirror-a.example/coreos/flannel:v0.13.0", "mirror-b.example/quay/coreos/flannel:v0.13.0", "quay.io/coreos/flannel:v0.13.0"], candidates);
    }

    [Fact]
    public void Docker_hub_rules_see_library_paths()
    {
        var rules = new MirrorRules();
        rules.Add("docker.io=hub.example/dockerhub");
        Assert.Equal("hub.example/dockerhub/library/nginx:1.19", rules.Candidates(ImageReference.Parse("nginx:1.19"))[0].ToString());
    }

    [Fact]
    public void A_path_prefix_rule_only_matches_its_path()
    {
        var rules = new MirrorRules();
        rules.Add("ghcr.io/flannel-io=mirror.example/flannel");
        Assert.Single(rules.Candidates(ImageReference.Parse("ghcr.io/other/x:1")));
        Assert.Equal("mirror.example/flannel/flannel:v1", rules.Candidates(ImageReference.Parse("ghcr.io/flannel-io/flannel:v1"))[0].ToString());
    }

    [Theory]
    [InlineData("quay.io")]
    [InlineData("=x")]
    [InlineData("quay.io=")]
    [InlineData("quay.io=UPPER")]
    public void Rejects_malformed_rules(string rule) =>
        Assert.Throws<AirgapException>(() => new MirrorRules().Add(rule));
}
