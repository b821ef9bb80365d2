using Airgap.Packages.Apt;

namespace Airgap.Tests.Packages.Apt;

public sealed class DebianVersionTests
{
    // Each pair: left < right, as `dpkg --compare-versions L lt R` answers.
    [Theory]
    [InlineData("1.0~rc1", "1.0")]
    [InlineData("1.0~rc1", "1.0~rc2")]
    [InlineData("1.0~~", "1.0~")]
    [InlineData("1.0~", "1.0")]
    [InlineData("1.0", "1.0a")]
    [InlineData("1.0a", "1.0+")]
    [InlineData("1.0", "1.0.1")]
    [InlineData("9.9", "1:0.1")]
    [InlineData("1.20.2-00", "1.20.10-00")]
    [InlineData("1.20.2-00", "1.20.2-01")]
    [InlineData("1.9", "1.10")]
    [InlineData("2.36-9", "2.36-9+deb12u4")]
    [InlineData("2.36-9+deb12u3", "2.36-9+deb12u10")]
    [InlineData("1.6.20~ds1-1", "1.6.20~ds1-1+b1")]
    [InlineData("0.8.7-00", "1.1.1-00")]
    [InlineData("1.4.21", "1.8.9-2")]
    [InlineData("1.0-1", "1.0-1.1")]
    [InlineData("a", "b")]
    [InlineData("1:1.2.3", "2:0.1")]
    [InlineData("1.28.0-1.1", "1.28.0-2.1")]
    [InlineData("7.88.1-10+deb12u5", "7.88.1-10+deb12u12")]
    public void Orders_like_dpkg(string lower, string higher)
    {
        var a = DebianVersion.Parse(lower);
        var b = DebianVersion.Parse(higher);
        Assert.True(a < b, $"{lower} < {higher}");
        Assert.True(b > a, $"{higher} > {lower}");
        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData("1.0", "1.00")]
    [InlineData("1.0", "1.0-0")]
    [InlineData("0:1.0", "1.0")]
    [InlineData("1.01", "1.1")]
    [InlineData("1a", "1a0")]
    public void Treats_what_dpkg_calls_equal_as_equal(string x, string y)
    {
        var a = DebianVersion.Parse(x);
        var b = DebianVersion.Parse(y);
        Assert.Equal(0, a.CompareTo(b));
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Fact]
    public void Splits_epoch_upstream_and_the_last_dash_revision()
    {
        var v = DebianVersion.Parse("1:2.3-rc-4");
        Assert.Equal(1, v.Epoch);
        Assert.Equal("2.3-rc", v.Upstream);
        Assert.Equal("4", v.Revision);
        Assert.Equal("1:2.3-rc-4", v.ToString());
    }

    [Fact]
    public void Handles_digit_runs_longer_than_a_long()
    {
        Assert.True(DebianVersion.Parse("1.99999999999999999999999") < DebianVersion.Parse("1.100000000000000000000000"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("x:1.0")]
    [InlineData("1.0-")]
    [InlineData(":1.0")]
    [InlineData("1.0 beta")]
    public void Refuses_what_is_not_a_version(string text)
    {
        Assert.False(DebianVersion.TryParse(text, out _));
        var e = Assert.Throws<AirgapException>(() => DebianVersion.Parse(text));
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Sorts_a_list_like_apt_cache_policy()
    {
        var sorted = new[] { "1.20.10-00", "1.20.2-00", "1.20.2~rc.0-00", "1:0.1-00", "1.21.0-00", "1.9.11-00" }
            .Select(DebianVersion.Parse).Order().Select(v => v.Text).ToArray();
        Assert.Equal(["1.9.11-00", "1.20.2~rc.0-00", "1.20.2-00", "1.20.10-00", "1.21.0-00", "1:0.1-00"], sorted);
    }
}
