using Airgap.Packages.Rpm;

namespace Airgap.Tests.Packages.Rpm;

public sealed class RpmVersionTests
{
    // rpm's own tests/rpmvercmp.at, plus a few Kubernetes-shaped ones; every row was checked
    // against Debian's rpm 4.18 with `rpm --eval '%{lua: print(rpm.vercmp(a, b))}'`.
    [Theory]
    [InlineData("1.0", "1.0", 0)]
    [InlineData("1.0", "2.0", -1)]
    [InlineData("2.0", "1.0", 1)]
    [InlineData("2.0.1", "2.0.1", 0)]
    [InlineData("2.0", "2.0.1", -1)]
    [InlineData("2.0.1", "2.0", 1)]
    [InlineData("2.0.1a", "2.0.1a", 0)]
    [InlineData("2.0.1a", "2.0.1", 1)]
    [InlineData("2.0.1", "2.0.1a", -1)]
    [InlineData("5.5p1", "5.5p1", 0)]
    [InlineData("5.5p1", "5.5p2", -1)]
    [InlineData("5.5p2", "5.5p1", 1)]
    [InlineData("5.5p10", "5.5p10", 0)]
    [InlineData("5.5p1", "5.5p10", -1)]
    [InlineData("5.5p10", "5.5p1", 1)]
    [InlineData("10xyz", "10.1xyz", -1)]
    [InlineData("10.1xyz", "10xyz", 1)]
    [InlineData("xyz10", "xyz10", 0)]
    [InlineData("xyz10", "xyz10.1", -1)]
    [InlineData("xyz10.1", "xyz10", 1)]
    [InlineData("xyz.4", "xyz.4", 0)]
    [InlineData("xyz.4", "8", -1)]
    [InlineData("8", "xyz.4", 1)]
    [InlineData("xyz.4", "2", -1)]
    [InlineData("2", "xyz.4", 1)]
    [InlineData("5.5p2", "5.6p1", -1)]
    [InlineData("5.6p1", "5.5p2", 1)]
    [InlineData("5.6p1", "6.5p1", -1)]
    [InlineData("6.5p1", "5.6p1", 1)]
    [InlineData("6.0.rc1", "6.0", 1)]
    [InlineData("6.0", "6.0.rc1", -1)]
    [InlineData("10b2", "10a1", 1)]
    [InlineData("10a2", "10b2", -1)]
    [InlineData("1.0aa", "1.0aa", 0)]
    [InlineData("1.0a", "1.0aa", -1)]
    [InlineData("1.0aa", "1.0a", 1)]
    [InlineData("10.0001", "10.0001", 0)]
    [InlineData("10.0001", "10.1", 0)]
    [InlineData("10.1", "10.0001", 0)]
    [InlineData("10.0001", "10.0039", -1)]
    [InlineData("10.0039", "10.0001", 1)]
    [InlineData("4.999.9", "5.0", -1)]
    [InlineData("5.0", "4.999.9", 1)]
    [InlineData("20101121", "20101121", 0)]
    [InlineData("20101121", "20101122", -1)]
    [InlineData("20101122", "20101121", 1)]
    [InlineData("2_0", "2_0", 0)]
    [InlineData("2.0", "2_0", 0)]
    [InlineData("2_0", "2.0", 0)]
    [InlineData("a", "a", 0)]
    [InlineData("a+", "a+", 0)]
    [InlineData("a+", "a_", 0)]
    [InlineData("a_", "a+", 0)]
    [InlineData("+a", "+a", 0)]
    [InlineData("+a", "_a", 0)]
    [InlineData("_a", "+a", 0)]
    [InlineData("+_", "+_", 0)]
    [InlineData("_+", "+_", 0)]
    [InlineData("_+", "_", 0)]
    [InlineData("+", "_", 0)]
    [InlineData("_", "+", 0)]
    [InlineData("1.0~rc1", "1.0~rc1", 0)]
    [InlineData("1.0~rc1", "1.0", -1)]
    [InlineData("1.0", "1.0~rc1", 1)]
    [InlineData("1.0~rc1", "1.0~rc2", -1)]
    [InlineData("1.0~rc2", "1.0~rc1", 1)]
    [InlineData("1.0~rc1~git123", "1.0~rc1~git123", 0)]
    [InlineData("1.0~rc1~git123", "1.0~rc1", -1)]
    [InlineData("1.0~rc1", "1.0~rc1~git123", 1)]
    [InlineData("1.0^", "1.0^", 0)]
    [InlineData("1.0^", "1.0", 1)]
    [InlineData("1.0", "1.0^", -1)]
    [InlineData("1.0^git1", "1.0^git1", 0)]
    [InlineData("1.0^git1", "1.0", 1)]
    [InlineData("1.0", "1.0^git1", -1)]
    [InlineData("1.0^git1", "1.0^git2", -1)]
    [InlineData("1.0^git2", "1.0^git1", 1)]
    [InlineData("1.0^git1", "1.01", -1)]
    [InlineData("1.01", "1.0^git1", 1)]
    [InlineData("1.0^20160101", "1.0^20160101", 0)]
    [InlineData("1.0^20160101", "1.0.1", -1)]
    [InlineData("1.0.1", "1.0^20160101", 1)]
    [InlineData("1.0^20160101^git1", "1.0^20160101^git1", 0)]
    [InlineData("1.0^20160102", "1.0^20160101^git1", 1)]
    [InlineData("1.0^20160101^git1", "1.0^20160102", -1)]
    [InlineData("1.0~rc1^git1", "1.0~rc1^git1", 0)]
    [InlineData("1.0~rc1^git1", "1.0~rc1", 1)]
    [InlineData("1.0~rc1", "1.0~rc1^git1", -1)]
    [InlineData("1.0^git1~pre", "1.0^git1~pre", 0)]
    [InlineData("1.0^git1", "1.0^git1~pre", 1)]
    [InlineData("1.0^git1~pre", "1.0^git1", -1)]
    [InlineData("1.0~", "1.0", -1)]
    [InlineData("1.0", "1.0~", 1)]
    [InlineData("1.0~", "1.0^", -1)]
    [InlineData("0.12", "0.2", 1)]
    [InlineData("1.20.2", "1.20.10", -1)]
    [InlineData("99999999999999999999999", "99999999999999999999998", 1)]
    public void Compares_like_rpmvercmp(string a, string b, int expected) => Assert.Equal(expected, RpmVersion.Compare(a, b));

    [Theory]
    [InlineData("1.20.2-0", "1.20.10-0", -1)]
    [InlineData("1:1.0-1", "2.0-1", 1)] // epoch first
    [InlineData("0:1.0-1", "1.0-1", 0)] // no epoch means 0
    [InlineData("1.0-2", "1.0-10", -1)]
    [InlineData("1.0", "1.0-10", 0)] // no release on one side: release not compared, as in rpm
    [InlineData("1.28.0-150500.1.1", "1.28.0-150500.1.10", -1)]
    public void Compares_epoch_version_release(string a, string b, int expected)
    {
        Assert.Equal(expected, Math.Sign(RpmVersion.Parse(a).CompareTo(RpmVersion.Parse(b))));
        Assert.Equal(-expected, Math.Sign(RpmVersion.Parse(b).CompareTo(RpmVersion.Parse(a))));
    }

    [Fact]
    public void Parses_and_prints_like_rpm_q()
    {
        Assert.Equal(new RpmVersion(2, "1.8.4", "10.el8"), RpmVersion.Parse("2:1.8.4-10.el8"));
        Assert.Equal(new RpmVersion(0, "1.20.2", null), RpmVersion.Parse("1.20.2"));
        Assert.Equal("1.20.2-0", RpmVersion.Parse("0:1.20.2-0").ToString());
        Assert.Equal("2:1.8.4-10.el8", RpmVersion.Parse("2:1.8.4-10.el8").ToString());
        // The release is what follows the last dash; a version cannot hold one.
        Assert.Equal(new RpmVersion(0, "1.0-beta", "3"), RpmVersion.Parse("1.0-beta-3"));
        Assert.Throws<AirgapException>(() => RpmVersion.Parse("x:1.0"));
    }
}
