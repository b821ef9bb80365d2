using Airgap.Packages.Rpm;

namespace Airgap.Tests.Packages.Rpm;

public sealed class RpmDependencyTests
{
    [Theory]
    // provide, require, satisfied? — rpm's rpmdsCompare semantics
    [InlineData("iptables = 1.8.4-10", "iptables >= 1.4.21", true)]
    [InlineData("iptables = 1.4.7-1", "iptables >= 1.4.21", false)]
    [InlineData("iptables", "iptables >= 1.4.21", true)] // an unversioned provide matches any version
    [InlineData("iptables = 1.8.4-10", "iptables", true)]
    [InlineData("kubelet = 1.20.2-0", "kubelet = 1.20.2", true)] // require without release ignores it
    [InlineData("kubelet = 1.20.2-0", "kubelet = 1.20.2-1", false)]
    [InlineData("kubelet = 1.20.2-0", "kubelet < 1.20.2-1", true)]
    [InlineData("kubelet = 1.20.2-0", "kubelet > 1.20.2", false)]
    [InlineData("kubelet = 1:1.0-0", "kubelet >= 1.20.2", true)] // epoch wins
    [InlineData("foo >= 2.0", "foo < 3.0", true)] // ranges that overlap
    [InlineData("foo >= 3.0", "foo < 3.0", false)]
    [InlineData("foo <= 3.0", "foo >= 3.0", true)]
    [InlineData("foo = 1.0", "bar", false)]
    public void Provide_satisfies_require_when_ranges_overlap(string provide, string require, bool expected) =>
        Assert.Equal(expected, Dep(provide).Satisfies(Dep(require)));

    [Fact]
    public void Package_satisfies_by_name_provide_or_primary_file()
    {
        var p = RpmPrimaryReader.Parse(PrimaryXml.Package("conntrack-tools", "1.4.4-7", provides: ["conntrack = 1.4.4"],
            files: ["/usr/sbin/conntrack"]), "t");
        Assert.True(p.Satisfies(Dep("conntrack-tools >= 1.4")));
        Assert.True(p.Satisfies(Dep("conntrack")));
        Assert.True(p.Satisfies(Dep("/usr/sbin/conntrack")));
        Assert.False(p.Satisfies(Dep("/usr/sbin/nfct")));
        Assert.False(p.Satisfies(Dep("conntrack >= 1.5")));
    }

    private static RpmDependency Dep(string text)
    {
        var parts = text.Split(' ');
        if (parts.Length == 1) return new RpmDependency(parts[0]);
        var flags = parts[1] switch { "=" => "EQ", "<" => "LT", "<=" => "LE", ">" => "GT", _ => "GE" };
        return new RpmDependency(parts[0], RpmDependency.ParseFlags(flags), RpmVersion.Parse(parts[2]));
    }
}
