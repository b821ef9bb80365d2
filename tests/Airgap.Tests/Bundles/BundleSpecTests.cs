using Airgap.Bundles;

namespace Airgap.Tests.Bundles;

public sealed class BundleSpecTests
{
    [Theory]
    [InlineData("flannel", "flannel", null)]
    [InlineData("flannel:v0.13.0", "flannel", "v0.13.0")]
    [InlineData("flannel:0.14.0", "flannel", "v0.14.0")]
    [InlineData("none", "none", null)]
    public void Parses_cni(string text, string name, string? version)
    {
        var cni = CniSpec.Parse(text);
        Assert.Equal(name, cni.Name);
        Assert.Equal(version, cni.Version);
    }

    [Fact]
    public void Unknown_cni_names_the_known_ones() =>
        Assert.Contains("flannel, bridge, none", Assert.Throws<AirgapException>(() => CniSpec.Parse("weave")).Message);

    [Fact]
    public void Architectures_accept_commas_and_uname_spellings() =>
        Assert.Equal(["amd64", "arm64"], BundleSpec.ParseArchitectures(["x86_64,aarch64", "amd64"]));

    [Fact]
    public void Unknown_architecture_is_an_error() =>
        Assert.Throws<AirgapException>(() => BundleSpec.ParseArchitectures(["s390x"]));

    [Fact]
    public void Sums_lines_in_both_sha256sum_modes()
    {
        var hex = new string('0', 64);
        var sums = BundleReader.ParseSums("b", $"{hex}  a/b\n{hex} *c\n");
        Assert.Equal(2, sums.Count);
        Assert.Throws<AirgapException>(() => BundleReader.ParseSums("b", $"{hex}  ../x\n"));
        Assert.Throws<AirgapException>(() => BundleReader.ParseSums("b", "nonsense\n"));
    }
}

public sealed class PlannedImageTests
{
    [Theory]
    [InlineData("quay.io/coreos/flannel:v0.12.0-arm64", "arm64")]
    [InlineData("quay.io/coreos/flannel:v0.12.0-amd64", "amd64")]
    [InlineData("quay.io/coreos/flannel:v0.12.0-s390x", "s390x")]
    [InlineData("quay.io/coreos/flannel:v0.13.0", null)]
    [InlineData("docker.io/flannel/flannel-cni-plugin:v1.1.2", null)]
    public void Single_arch_tags_are_recognised(string image, string? arch) =>
        Assert.Equal(arch, PlannedImage.ArchOfTag(Airgap.Oci.ImageReference.Parse(image)));
}
