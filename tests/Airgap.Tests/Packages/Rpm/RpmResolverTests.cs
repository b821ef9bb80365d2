using System.Xml.Linq;
using Airgap.Packages;
using Airgap.Packages.Rpm;
using static Airgap.Tests.Packages.Rpm.PrimaryXml;

namespace Airgap.Tests.Packages.Rpm;

public sealed class RpmResolverTests
{
    private static readonly HashSet<string> NoBase = [];
    private static readonly HashSet<string> Base = ["bash", "util-linux"];

    // The kubernetes-el7 repository's shape: two releases, kubelet with its real Requires.
    private static XElement[] Kubernetes(string kubeletRequiresIptables = "iptables >= 1.4.21") =>
    [
        .. new[] { "1.20.2-0", "1.21.0-0" }.SelectMany(v => new[]
        {
            Package("kubeadm", v, requires: [$"kubelet >= {(v.StartsWith("1.21", StringComparison.Ordinal) ? "1.21.0" : "1.13.0")}",
                "kubectl >= 1.13.0", "kubernetes-cni >= 0.8.6", "cri-tools >= 1.13.0"]),
            Package("kubelet", v, provides: [$"kubelet(x86-64) = {v}"], requires:
            [
                "pre:/bin/sh", "conntrack", "ebtables", "ethtool", "iproute", kubeletRequiresIptables, "socat", "util-linux",
                "kubernetes-cni >= 0.8.6", "kubelet(x86-64)", "/usr/bin/kubelet", "rpmlib(CompressedFileNames) <= 3.0.4-1",
            ], files: ["/usr/bin/kubelet"]),
            Package("kubectl", v, files: ["/usr/bin/kubectl"]),
        }),
        Package("kubelet", "1.20.2-0", arch: "aarch64", requires: ["conntrack"]),
        Package("kubernetes-cni", "0.8.6-0", requires: ["kubelet"]),
        Package("kubernetes-cni", "0.8.7-0", requires: ["kubelet"]),
        Package("kubernetes-cni", "0.7.5-0"),
        Package("cri-tools", "1.13.0-0", requires: ["/usr/sbin/conntrack"]),
    ];

    private static XElement[] Os(bool withConntrack = true, bool withNewIptables = true) =>
    [
        .. withConntrack ? [Package("conntrack-tools", "1.4.4-7.el7", provides: ["conntrack = 1.4.4"], files: ["/usr/sbin/conntrack", "/usr/sbin/nfct"])] : Array.Empty<XElement>(),
        Package("ebtables", "2.0.10-16.el7"),
        Package("ethtool", "2:4.8-10.el7"),
        Package("iproute", "4.11.0-30.el7", files: ["/usr/sbin/ip"]),
        Package("iptables", "1.4.7-1.el7"),
        .. withNewIptables ? [Package("iptables-nft", "1.8.4-10.el8", provides: ["iptables = 1.8.4-10.el8"])] : Array.Empty<XElement>(),
        Package("socat", "1.7.3.2-2.el7", requires: ["/bin/sh"]),
        Package("util-linux", "2.23.2-65.el7", requires: ["/bin/sh"]),
        Package("bash", "4.2.46-34.el7", files: ["/bin/sh", "/bin/bash"]),
        Package("zsh", "5.0.2-34.el7", files: ["/bin/zsh"], provides: ["/bin/sh"]),
    ];

    private static RpmRepositoryIndex[] Repos(XElement[]? kubernetes = null, XElement[]? os = null) =>
        [Index("kubernetes", kubernetes ?? Kubernetes()), Index("base", os ?? Os())];

    private static readonly PackageRequest[] Kube1202 =
        [new("kubeadm", "1.20.2-0"), new("kubelet", "1.20.2-0"), new("kubectl", "1.20.2-0")];

    [Fact]
    public void Closes_over_names_versioned_and_file_provides_and_leaves_out_the_base_system()
    {
        var set = RpmResolver.Resolve(Repos(), Kube1202, "amd64", Base);

        Assert.Equal(
        [
            "conntrack-tools 1.4.4-7.el7", "cri-tools 1.13.0-0", "ebtables 2.0.10-16.el7", "ethtool 2:4.8-10.el7", "iproute 4.11.0-30.el7",
            "iptables-nft 1.8.4-10.el8", "kubeadm 1.20.2-0", "kubectl 1.20.2-0", "kubelet 1.20.2-0", "kubernetes-cni 0.8.7-0",
            "socat 1.7.3.2-2.el7",
        ], set.Packages.Select(p => $"{p.Name} {p.Version}"));
        // /bin/sh (kubelet's Requires(pre)) and util-linux are everywhere: left out, and said so.
        Assert.Equal(["bash", "util-linux"], set.Excluded);
        Assert.All(set.Packages, p => Assert.Equal("x86_64", p.Architecture));
    }

    [Fact]
    public void Without_a_base_system_the_closure_carries_a_shell_too()
    {
        var set = RpmResolver.Resolve(Repos(), Kube1202, "amd64", NoBase);
        // bash, not zsh: the file /bin/sh and the virtual provide /bin/sh both qualify; the choice is by name, stable.
        Assert.Contains(set.Packages, p => p.Name == "bash");
        Assert.DoesNotContain(set.Packages, p => p.Name == "zsh");
        Assert.Contains(set.Packages, p => p.Name == "util-linux");
        Assert.Empty(set.Excluded);
    }

    [Fact]
    public void Pins_match_version_release_or_version_and_unpinned_takes_the_newest()
    {
        Assert.Equal("1.20.2-0", Version(RpmResolver.Resolve(Repos(), [new("kubectl", "1.20.2-0")], "amd64", Base), "kubectl"));
        Assert.Equal("1.20.2-0", Version(RpmResolver.Resolve(Repos(), [new("kubectl", "1.20.2")], "amd64", Base), "kubectl"));
        Assert.Equal("1.20.2-0", Version(RpmResolver.Resolve(Repos(), [new("kubectl", "0:1.20.2-0")], "amd64", Base), "kubectl"));
        Assert.Equal("1.21.0-0", Version(RpmResolver.Resolve(Repos(), [new("kubectl", null)], "amd64", Base), "kubectl"));
        // A capability works as a request, as with `yum install /usr/sbin/conntrack`.
        Assert.Equal("1.4.4-7.el7", Version(RpmResolver.Resolve(Repos(), [new("/usr/sbin/conntrack", null)], "amd64", Base), "conntrack-tools"));
    }

    [Fact]
    public void Resolved_packages_carry_url_checksum_file_name_and_the_source_entry()
    {
        var kubelet = RpmResolver.Resolve(Repos(), [new("kubelet", "1.20.2-0")], "amd64", Base).Packages.Single(p => p.Name == "kubelet");
        Assert.Equal(new Uri("http://kubernetes.example/el7/x86_64/Packages/kubelet-1.20.2-0.x86_64.rpm"), kubelet.Url);
        Assert.Equal("kubelet-1.20.2-0.x86_64.rpm", kubelet.FileName);
        Assert.Equal("kubernetes", kubelet.Repository);
        Assert.Equal(1234, kubelet.Size);
        Assert.Equal(64, kubelet.Sha256.Length);
        Assert.Equal("kubelet", XElement.Parse(kubelet.Control).Element(XName.Get("name", RpmPrimaryReader.CommonNamespace))?.Value);
    }

    [Fact]
    public void Picks_the_target_architecture_and_noarch_only()
    {
        var arm = RpmResolver.Resolve(
            [Index("kubernetes", Package("kubelet", "1.20.2-0", arch: "aarch64", requires: ["conntrack"]), Package("kubelet", "1.20.2-0", requires: ["socat"])),
             Index("base", Package("conntrack-tools", "1.4.4-7", arch: "noarch", provides: ["conntrack"]), Package("socat", "1.7.3.2-2"))],
            [new("kubelet", "1.20.2-0")], "arm64", NoBase);
        Assert.Equal(["kubelet aarch64", "conntrack-tools noarch"], arm.Packages.OrderByDescending(p => p.Name).Select(p => $"{p.Name} {p.Architecture}"));
        Assert.Throws<AirgapException>(() => RpmResolver.Resolve(Repos(), Kube1202, "mips", Base));
    }

    [Fact]
    public void Unsatisfiable_require_names_the_chain()
    {
        var e = Assert.Throws<AirgapException>(() =>
            RpmResolver.Resolve(Repos(os: Os(withConntrack: false)), [new("kubeadm", "1.20.2-0")], "amd64", Base));
        // kubeadm's "kubelet >= 1.13.0" takes the newest kubelet, as yum does when kubelet is not pinned too.
        Assert.Equal("kubeadm 1.20.2-0 → kubelet 1.21.0-0 → conntrack: nothing provides it in kubernetes, base; add a repository that has it", e.Message);
    }

    [Fact]
    public void Too_old_versions_are_named_in_the_error()
    {
        var e = Assert.Throws<AirgapException>(() =>
            RpmResolver.Resolve(Repos(os: Os(withNewIptables: false)), [new("kubelet", "1.20.2-0")], "amd64", Base));
        Assert.Equal("kubelet 1.20.2-0 → iptables >= 1.4.21: nothing in kubernetes, base provides a version that fits (there: iptables 1.4.7-1.el7); add a repository that has one", e.Message);
    }

    [Fact]
    public void A_pin_the_repository_lacks_lists_what_it_has()
    {
        var e = Assert.Throws<AirgapException>(() => RpmResolver.Resolve(Repos(), [new("kubeadm", "1.19.0-0")], "amd64", Base));
        Assert.Equal("kubeadm 1.19.0-0: not in kubernetes, base (newest there: 1.21.0-0, 1.20.2-0); pin a version the repository has", e.Message);
        e = Assert.Throws<AirgapException>(() => RpmResolver.Resolve(Repos(), [new("kubeadmm", null)], "amd64", Base));
        Assert.StartsWith("kubeadmm: no package of that name in kubernetes, base", e.Message);
    }

    [Fact]
    public void Disagreeing_pins_are_an_error_not_two_versions()
    {
        var e = Assert.Throws<AirgapException>(() =>
            RpmResolver.Resolve(Repos(), [new("kubelet", "1.20.2-0"), new("kubeadm", "1.21.0-0")], "amd64", Base));
        Assert.Equal("kubeadm 1.21.0-0 → kubelet 1.21.0-0: but kubelet 1.20.2-0 is already chosen; only one version of a package installs, so pin versions that agree", e.Message);
    }

    [Fact]
    public void Conflicts_inside_the_closure_are_refused()
    {
        var e = Assert.Throws<AirgapException>(() => RpmResolver.Resolve(
            [Index("r", Package("a", "1-1", requires: ["b"]), Package("b", "1-1", conflicts: ["a < 2"]))], [new("a", null)], "amd64", NoBase));
        Assert.Equal("a 1-1 → b 1-1 conflicts with a 1-1 (a < 2); they cannot be installed together, so pin other versions", e.Message);
    }

    [Fact]
    public void A_package_with_only_a_sha1_checksum_is_refused_when_chosen()
    {
        var old = Package("socat", "1.7.3.2-2.el7");
        old.Element(XName.Get("checksum", RpmPrimaryReader.CommonNamespace))!.SetAttributeValue("type", "sha");
        var repos = new[] { Index("old", old, Package("ethtool", "4.8-1")) };
        Assert.Equal("4.8-1", Version(RpmResolver.Resolve(repos, [new("ethtool", null)], "amd64", NoBase), "ethtool"));
        var e = Assert.Throws<AirgapException>(() => RpmResolver.Resolve(repos, [new("socat", null)], "amd64", NoBase));
        Assert.Contains("has only a 'sha' checksum", e.Message);
    }

    private static string Version(PackageSet set, string name) => set.Packages.Single(p => p.Name == name).Version;
}
