using Airgap.Releases;

namespace Airgap.Tests.Releases;

public sealed class KubernetesVersionTests
{
    [Theory]
    [InlineData("v1.20.2")]
    [InlineData("1.20.2")]
    public void Parses_with_or_without_v(string text)
    {
        var version = KubernetesVersion.Parse(text);

        Assert.Equal((1, 20, 2), (version.Major, version.Minor, version.Patch));
        Assert.Equal("v1.20.2", version.ToString());
        Assert.False(version.IsPrerelease);
    }

    [Fact]
    public void Keeps_a_prerelease_label()
    {
        var version = KubernetesVersion.Parse("v1.31.0-rc.0");

        Assert.True(version.IsPrerelease);
        Assert.Equal("v1.31.0-rc.0", version.ToString());
        Assert.True(version < KubernetesVersion.Parse("v1.31.0"));
    }

    [Fact]
    public void Rejects_a_two_part_version_with_a_one_line_message()
    {
        var e = Assert.Throws<ArgumentException>(() => KubernetesVersion.Parse("1.20"));

        Assert.StartsWith("\"1.20\" is not a Kubernetes version: expected vMAJOR.MINOR.PATCH, e.g. v1.20.2", e.Message);
        Assert.DoesNotContain('\n', e.Message.Split(" (Parameter")[0]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("v")]
    [InlineData("v1.20")]
    [InlineData("v1.20.x")]
    [InlineData("1.20.2.1")]
    [InlineData("V1.20.2")]
    [InlineData("vv1.20.2")]
    [InlineData("v1.20.2+build")]
    [InlineData("stable-1")]
    public void Rejects_what_is_not_a_version(string text)
    {
        Assert.False(KubernetesVersion.TryParse(text, out _));
        Assert.Throws<ArgumentException>(() => KubernetesVersion.Parse(text));
    }

    [Fact]
    public void Compares_numerically_not_as_text()
    {
        var versions = new[] { "v1.9.0", "v1.20.10", "v1.20.2", "v1.100.0" }.Select(KubernetesVersion.Parse).ToList();
        versions.Sort();

        Assert.Equal(["v1.9.0", "v1.20.2", "v1.20.10", "v1.100.0"], versions.Select(v => v.ToString()));
    }

    [Fact]
    public void Equal_versions_are_equal_however_written()
    {
        var a = KubernetesVersion.Parse("v1.20.2");
        var b = KubernetesVersion.Parse("1.20.2");

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, KubernetesVersion.Parse("v1.20.3"));
        Assert.Equal(a, KubernetesVersion.Create(1, 20, 2));
    }
}
