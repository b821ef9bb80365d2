using Airgap.Packages;
using Airgap.Packages.Apt;

namespace Airgap.Tests.Packages.Apt;

public sealed class ControlParsingTests
{
    private const string Packages = """
        Package: kubelet
        Version: 1.20.2-00
        Architecture: amd64
        Maintainer: Kubernetes Authors <kubernetes-dev+release@googlegroups.com>
        Installed-Size: 113220
        Depends: iptables (>= 1.4.21), kubernetes-cni (>= 0.8.6), iproute2, socat, util-linux, mount, ebtables, ethtool, conntrack
        Homepage: https://kubernetes.io
        Priority: optional
        Section: misc
        Filename: pool/kubelet_1.20.2-00_amd64_4c6ad1d3.deb
        Size: 18852536
        SHA256: 4c6ad1d3d6df4fa0ffe0eb5a2f3ddc7a6d0d1b0e05e14bdf66b1b6e3b43f1d49
        Description: Kubernetes Node Agent
         The node agent of Kubernetes, the container cluster manager
         .
         More text.

        Package: libc6
        Version: 2.36-9+deb12u10
        Architecture: amd64
        Multi-Arch: same
        Priority: optional
        Depends: libgcc-s1
        Recommends: libidn2-0 (>= 2.0.5~)
        Breaks: aide (<< 0.17.3-4+b3), busybox (<< 1.30.1-6), hurd (<< 1:0.9.git20220301-2), nscd (<< 2.36)
        Filename: pool/main/g/glibc/libc6_2.36-9+deb12u10_amd64.deb

        Package: foo-arm
        Version: 1
        Architecture: arm64

        Package: python3-six
        Version: 1.16.0-4
        Architecture: all
        Multi-Arch: foreign
        Depends: python3:any
        Provides: python3.11-six, six-compat (= 1.16.0)
        """;

    private static readonly PackageRepository Repo = new("test", RepositoryKind.Apt, new Uri("http://127.0.0.1:1/k8s/"), "kubernetes-xenial", ["main"], null);

    [Fact]
    public void Reads_stanzas_with_continuation_lines()
    {
        var stanzas = ControlStanza.ParseAll(Packages, "test");
        Assert.Equal(4, stanzas.Count);
        Assert.Equal("kubelet", stanzas[0]["package"]);
        Assert.Equal("Kubernetes Node Agent\nThe node agent of Kubernetes, the container cluster manager\n.\nMore text.", stanzas[0]["Description"]);
        Assert.StartsWith("Package: kubelet\n", stanzas[0].Text, StringComparison.Ordinal);
        Assert.EndsWith(" More text.", stanzas[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Rewrites_one_field_and_keeps_the_rest_byte_for_byte()
    {
        var stanza = ControlStanza.ParseAll(Packages, "test")[0];
        var rewritten = stanza.WithField("Filename", "./kubelet_1.20.2-00_amd64.deb");
        Assert.Equal(stanza.Text.Replace("pool/kubelet_1.20.2-00_amd64_4c6ad1d3.deb", "./kubelet_1.20.2-00_amd64.deb", StringComparison.Ordinal), rewritten);
        var multi = stanza.WithField("Description", "short");
        Assert.DoesNotContain("More text", multi, StringComparison.Ordinal);
        Assert.Contains("Description: short", multi, StringComparison.Ordinal);
    }

    [Fact]
    public void Keeps_the_target_architecture_and_all()
    {
        var index = AptIndex.FromText(Repo, Packages, "amd64");
        Assert.Equal(["kubelet", "libc6", "python3-six"], index.Packages.Select(p => p.Name));
        var six = index.Packages[2];
        Assert.Equal("foreign", six.MultiArch);
        Assert.Equal(["python3.11-six", "six-compat"], six.Provides.Select(p => p.Name));
        Assert.Equal("1.16.0", six.Provides[1].Version!.Text);
        Assert.Equal("any", six.Depends[0].Alternatives[0].ArchQualifier);
        Assert.Equal(new Uri("http://127.0.0.1:1/k8s/pool/kubelet_1.20.2-00_amd64_4c6ad1d3.deb"), index.Packages[0].Url());
        Assert.Equal(18852536, index.Packages[0].Size);
    }

    [Fact]
    public void Parses_relations_with_operators_alternatives_qualifiers_and_arch_lists()
    {
        var groups = RelationParser.ParseGroups("a (>= 1.0) | b:any, c [amd64], d (<<2~), e:native (= 1:2-3) [!i386 !armel], f (>> 0.1) | g ( <= 3 ), h (< 1), i (> 2)", "test");
        Assert.Equal(7, groups.Count);
        var a = groups[0].Alternatives[0];
        Assert.Equal(("a", RelationOperator.GreaterOrEqual, "1.0"), (a.Name, a.Operator!.Value, a.Version!.Text));
        Assert.Equal(("b", "any"), (groups[0].Alternatives[1].Name, groups[0].Alternatives[1].ArchQualifier));
        Assert.Equal(["amd64"], groups[1].Alternatives[0].Architectures!);
        Assert.True(groups[1].Alternatives[0].AppliesTo("amd64"));
        Assert.False(groups[1].Alternatives[0].AppliesTo("arm64"));
        Assert.Equal((RelationOperator.LessThan, "2~"), (groups[2].Alternatives[0].Operator!.Value, groups[2].Alternatives[0].Version!.Text));
        var e = groups[3].Alternatives[0];
        Assert.Equal(("native", RelationOperator.Equal, 1L), (e.ArchQualifier, e.Operator!.Value, e.Version!.Epoch));
        Assert.False(e.AppliesTo("i386"));
        Assert.True(e.AppliesTo("amd64"));
        Assert.Equal(RelationOperator.LessOrEqual, groups[4].Alternatives[1].Operator);
        Assert.Equal(RelationOperator.LessOrEqual, groups[5].Alternatives[0].Operator); // obsolete "<" means <=
        Assert.Equal(RelationOperator.GreaterOrEqual, groups[6].Alternatives[0].Operator);
        Assert.Equal("a (>= 1.0) | b:any", groups[0].ToString());
    }

    [Theory]
    [InlineData("(>= 1)")]
    [InlineData("a (>= 1")]
    [InlineData("a (~= 1)")]
    [InlineData("a (>= )")]
    [InlineData("a [amd64 !i386]")]
    [InlineData("a b")]
    public void Refuses_damaged_relations_in_one_line(string field)
    {
        var e = Assert.Throws<AirgapException>(() => RelationParser.ParseGroups(field, "repo X Packages"));
        Assert.Contains("repo X Packages", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Versions_satisfy_relations_like_dpkg()
    {
        var r = RelationParser.ParseOne("kubernetes-cni (>= 0.8.6)", "Depends", "t");
        Assert.True(r.AcceptsVersion(DebianVersion.Parse("0.8.7-00")));
        Assert.True(r.AcceptsVersion(DebianVersion.Parse("0.8.6")));
        Assert.False(r.AcceptsVersion(DebianVersion.Parse("0.8.6~rc1")));
        Assert.False(r.AcceptsVersion(null)); // an unversioned Provides never satisfies a versioned Depends
        Assert.True(RelationParser.ParseOne("x (<< 2)", "Depends", "t").AcceptsVersion(DebianVersion.Parse("2~beta")));
        Assert.True(RelationParser.ParseOne("x (= 1.0)", "Depends", "t").AcceptsVersion(DebianVersion.Parse("1.0-0")));
        Assert.True(RelationParser.ParseOne("x (>> 1.0)", "Depends", "t").AcceptsVersion(DebianVersion.Parse("1.0+b1")));
    }

    [Fact]
    public void Reads_a_Release_file()
    {
        const string text = """
            Origin: Debian
            Suite: stable
            Codename: bookworm
            Date: Sat, 11 Jan 2025 10:16:37 UTC
            Valid-Until: Sat, 18 Jan 2025 10:16:37 UTC
            Acquire-By-Hash: yes
            No-Support-for-Architecture-all: Packages
            Architectures: all amd64 arm64
            Components: main contrib
            MD5Sum:
             0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all
            SHA256:
             515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f 50060337 main/binary-amd64/Packages
             9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5  8790396 main/binary-amd64/Packages.xz
            """;
        var release = ReleaseFile.Parse(text, "test");
        Assert.Equal(("stable", "bookworm"), (release.Suite, release.Codename));
        Assert.Equal(["all", "amd64", "arm64"], release.Architectures);
        Assert.Equal(["main", "contrib"], release.Components);
        Assert.True(release.AcquireByHash);
        Assert.True(release.ArchitectureAllInArchIndexes);
        Assert.Equal(new DateTimeOffset(2025, 1, 18, 10, 16, 37, TimeSpan.Zero), release.ValidUntil);
        Assert.Equal(8790396, release.Find("main/binary-amd64/Packages.xz")!.Size);
        Assert.Equal(2, release.Sha256Entries.Count);
        Assert.Null(release.Find("contrib/Contents-all"));
    }

    [Fact]
    public void Refuses_a_damaged_SHA256_line()
    {
        var e = Assert.Throws<AirgapException>(() => ReleaseFile.Parse("Suite: x\nSHA256:\n abc 12 Packages\n", "repo 'k8s' Release"));
        Assert.Contains("repo 'k8s' Release", e.Message, StringComparison.Ordinal);
    }
}
