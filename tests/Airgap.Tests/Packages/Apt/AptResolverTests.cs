using System.Text;
using Airgap.Packages;
using Airgap.Packages.Apt;

namespace Airgap.Tests.Packages.Apt;

public sealed class AptResolverTests
{
    private static string Pkg(string name, string version, string? depends = null, string arch = "amd64", string? provides = null,
        string? preDepends = null, string? priority = "optional", bool essential = false, string? conflicts = null, string? breaks = null)
    {
        var sb = new StringBuilder()
            .Append($"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n");
        if (essential) sb.Append("Essential: yes\n");
        if (priority is not null) sb.Append($"Priority: {priority}\n");
        if (preDepends is not null) sb.Append($"Pre-Depends: {preDepends}\n");
        if (depends is not null) sb.Append($"Depends: {depends}\n");
        if (provides is not null) sb.Append($"Provides: {provides}\n");
        if (conflicts is not null) sb.Append($"Conflicts: {conflicts}\n");
        if (breaks is not null) sb.Append($"Breaks: {breaks}\n");
        sb.Append($"Filename: pool/{name}_{version}_{arch}.deb\nSize: 100\nSHA256: {new string('a', 64)}\n");
        return sb.ToString();
    }

    private static AptIndex Index(string name, params string[] stanzas) =>
        AptIndex.FromText(new PackageRepository(name, RepositoryKind.Apt, new Uri($"http://127.0.0.1:9/{name}/"), "x", ["main"], null), string.Join("\n", stanzas), "amd64");

    /// <summary>A tiny Debian: a base system and the host tools kubelet wants.</summary>
    private static AptIndex Os() => Index("debian",
        Pkg("libc6", "2.36-9", depends: "libgcc-s1", priority: "optional"),
        Pkg("libgcc-s1", "12.2.0-14", priority: "optional"),
        Pkg("base-files", "12.4", essential: true, priority: "required"),
        Pkg("util-linux", "2.38.1-5", preDepends: "libc6 (>= 2.34)", essential: true, priority: "required"),
        Pkg("mount", "2.38.1-5", depends: "util-linux (= 2.38.1-5)", priority: "required"),
        Pkg("dpkg", "1.21.22", preDepends: "libc6", essential: true, priority: "required"),
        Pkg("iptables", "1.8.9-2", depends: "libip4tc2 (= 1.8.9-2), libxtables12 (>= 1.6.0+snapshot20161117), netbase"),
        Pkg("libip4tc2", "1.8.9-2", depends: "libc6 (>= 2.28)"),
        Pkg("libxtables12", "1.8.9-2", depends: "libc6 (>= 2.14)"),
        Pkg("netbase", "6.4", arch: "all", priority: "important"),
        Pkg("iproute2", "6.1.0-3", depends: "libc6, libelf1, libmnl0"),
        Pkg("libelf1", "0.188-2.1"),
        Pkg("libmnl0", "1.0.4-3"),
        Pkg("socat", "1.7.4.4-2", depends: "libc6, libssl3 (>= 3.0.0), libwrap0 (>= 7.6-4~)"),
        Pkg("libssl3", "3.0.15-1"),
        Pkg("libwrap0", "7.6.q-32"),
        Pkg("ebtables", "2.0.11-5", depends: "iptables | nftables"),
        Pkg("nftables", "1.0.6-2"),
        Pkg("ethtool", "1:6.1-1", depends: "libc6, libmnl0"),
        Pkg("conntrack", "1:1.4.7-1+b2", depends: "libc6, libmnl0, libnetfilter-conntrack3 (>= 1.0.9)"),
        Pkg("libnetfilter-conntrack3", "1.0.9-3"),
        Pkg("default-mta", "1", provides: "mail-transport-agent"),
        Pkg("exim4-daemon-light", "4.96-15", provides: "mail-transport-agent", priority: "standard"),
        Pkg("postfix", "3.7.11-0", provides: "mail-transport-agent", priority: "optional"));

    private static AptIndex Kubernetes(params string[] extra) => Index("kubernetes", new[]
    {
        Pkg("kubelet", "1.20.2-00", depends: "iptables (>= 1.4.21), kubernetes-cni (>= 0.8.6), iproute2, socat, util-linux, mount, ebtables, ethtool, conntrack"),
        Pkg("kubelet", "1.20.10-00", depends: "iptables (>= 1.4.21), kubernetes-cni (>= 0.8.7), iproute2, socat, util-linux, mount, ebtables, ethtool, conntrack"),
        Pkg("kubelet", "1.18.0-00", depends: "iptables (>= 1.4.21), kubernetes-cni (>= 0.7.5), iproute2, socat, util-linux, mount, ebtables, ethtool, conntrack"),
        Pkg("kubeadm", "1.20.2-00", depends: "kubelet (>= 1.19.0), kubectl (>= 1.13.0), kubernetes-cni (>= 0.8.6), cri-tools (>= 1.13.0)"),
        Pkg("kubectl", "1.20.2-00"),
        Pkg("kubectl", "1.21.0-00"),
        Pkg("kubernetes-cni", "0.8.7-00", depends: "iptables (>= 1.4.21), iproute2, socat, util-linux, mount, ebtables, ethtool"),
        Pkg("kubernetes-cni", "0.7.5-00"),
        Pkg("cri-tools", "1.13.0-01"),
    }.Concat(extra).ToArray());

    private static string[] Names(PackageSet set) => set.Packages.Select(p => $"{p.Name}={p.Version}").ToArray();

    [Fact]
    public void Closes_over_kubelets_real_dependencies_leaving_the_base_system_out()
    {
        var set = AptResolver.Resolve([Kubernetes(), Os()], [new("kubeadm", "1.20.2-00"), new("kubelet", "1.20.2-00"), new("kubectl", "1.20.2-00")], "amd64");
        Assert.Equal(
            [
                "conntrack=1:1.4.7-1+b2", "cri-tools=1.13.0-01", "ebtables=2.0.11-5", "ethtool=1:6.1-1", "iproute2=6.1.0-3", "iptables=1.8.9-2",
                "kubeadm=1.20.2-00", "kubectl=1.20.2-00", "kubelet=1.20.2-00", "kubernetes-cni=0.8.7-00", "libelf1=0.188-2.1", "libip4tc2=1.8.9-2",
                "libmnl0=1.0.4-3", "libnetfilter-conntrack3=1.0.9-3", "libssl3=3.0.15-1", "libwrap0=7.6.q-32", "libxtables12=1.8.9-2",
                "netbase=6.4", "socat=1.7.4.4-2",
            ],
            Names(set));
        // libc6 is no base package itself, but every required package needs it: debootstrap installs it, so it is left out too.
        Assert.Equal(["libc6", "mount", "util-linux"], set.Excluded);
        var kubelet = set.Packages.Single(p => p.Name == "kubelet");
        Assert.Equal("kubelet_1.20.2-00_amd64.deb", kubelet.FileName);
        Assert.Equal(new Uri("http://127.0.0.1:9/kubernetes/pool/kubelet_1.20.2-00_amd64.deb"), kubelet.Url);
        Assert.Equal("kubernetes", kubelet.Repository);
        Assert.StartsWith("Package: kubelet\nVersion: 1.20.2-00\n", kubelet.Control, StringComparison.Ordinal);
        Assert.Equal("ethtool_6.1-1_amd64.deb", set.Packages.Single(p => p.Name == "ethtool").FileName); // epoch left out, as in Debian's pool
    }

    [Fact]
    public void Without_pins_takes_the_highest_version_across_repositories()
    {
        var newer = Index("backports", Pkg("kubectl", "1.22.0-00"), Pkg("kubectl", "1.19.0-00"));
        var set = AptResolver.Resolve([Kubernetes(), newer], [new("kubectl", null)], "amd64");
        Assert.Equal(["kubectl=1.22.0-00"], Names(set));
        Assert.Equal("backports", set.Packages[0].Repository);
        var same = Index("mirror", Pkg("kubectl", "1.21.0-00"));
        Assert.Equal("kubernetes", AptResolver.Resolve([Kubernetes(), same], [new("kubectl", null)], "amd64").Packages[0].Repository);
    }

    [Fact]
    public void A_pinned_request_wins_over_newer_versions_its_dependents_would_take()
    {
        var set = AptResolver.Resolve([Kubernetes(), Os()], [new("kubeadm", "1.20.2-00"), new("kubelet", "1.20.2-00")], "amd64");
        Assert.Contains("kubelet=1.20.2-00", Names(set));
        Assert.Contains("kubectl=1.21.0-00", Names(set)); // unpinned: the newest satisfying kubectl (>= 1.13.0)
    }

    [Fact]
    public void An_alternative_already_chosen_is_preferred_over_the_first_one()
    {
        var set = AptResolver.Resolve([Os()], [new("nftables", null), new("ebtables", null)], "amd64");
        Assert.Equal(["ebtables=2.0.11-5", "nftables=1.0.6-2"], Names(set));
        var first = AptResolver.Resolve([Os()], [new("ebtables", null)], "amd64");
        Assert.Contains("iptables=1.8.9-2", Names(first));
        Assert.DoesNotContain("nftables=1.0.6-2", Names(first));
    }

    [Fact]
    public void An_alternative_that_cannot_be_satisfied_falls_through_to_the_next()
    {
        var idx = Index("x", Pkg("app", "1", depends: "missing-thing (>= 2) | fallback"), Pkg("missing-thing", "1"), Pkg("fallback", "3"));
        Assert.Equal(["app=1", "fallback=3"], Names(AptResolver.Resolve([idx], [new("app", null)], "amd64")));
    }

    [Fact]
    public void Virtual_packages_are_satisfied_by_a_provider_with_versioned_provides_honoured()
    {
        var idx = Index("x",
            Pkg("app", "1", depends: "mail-transport-agent, libfoo-abi (>= 2)"),
            Pkg("libfoo1", "1.0", provides: "libfoo-abi (= 1)"),
            Pkg("libfoo2", "2.0", provides: "libfoo-abi (= 2)"),
            Pkg("libfoo-old", "9.0", provides: "libfoo-abi"));
        var set = AptResolver.Resolve([idx, Os()], [new("app", null)], "amd64");
        // exim4 is Priority standard, above the optional default-mta and postfix: apt's CompareProviders prefers it too.
        Assert.Equal(["app=1", "exim4-daemon-light=4.96-15", "libfoo2=2.0"], Names(set));
    }

    [Fact]
    public void A_provider_already_chosen_satisfies_a_virtual_dependency()
    {
        var idx = Index("x", Pkg("app", "1", depends: "mail-transport-agent"));
        var set = AptResolver.Resolve([idx, Os()], [new("postfix", null), new("app", null)], "amd64");
        Assert.Equal(["app=1", "postfix=3.7.11-0"], Names(set));
    }

    [Fact]
    public void Requesting_a_virtual_package_with_one_provider_takes_it_and_with_several_asks()
    {
        var idx = Index("x", Pkg("containerd.io", "1.6.0", provides: "containerd, runc"));
        Assert.Equal(["containerd.io=1.6.0"], Names(AptResolver.Resolve([idx], [new("runc", null)], "amd64")));
        var e = Assert.Throws<AirgapException>(() => AptResolver.Resolve([Os()], [new("mail-transport-agent", null)], "amd64"));
        Assert.Contains("virtual package provided by", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pre_Depends_and_arch_all_are_followed_and_other_architectures_ignored()
    {
        var idx = Index("x",
            Pkg("tool", "1", preDepends: "helper-data", depends: "arm-only [arm64], x86-lib [amd64], lib:any"),
            Pkg("helper-data", "1", arch: "all"),
            Pkg("x86-lib", "1"),
            Pkg("lib", "1"),
            Pkg("lib", "2", arch: "arm64"));
        Assert.Equal(["helper-data=1", "lib=1", "tool=1", "x86-lib=1"], Names(AptResolver.Resolve([idx], [new("tool", null)], "amd64")));
    }

    [Fact]
    public void An_unsatisfiable_dependency_names_the_whole_chain()
    {
        var os = Index("debian", Pkg("iptables", "1.8.9-2"), Pkg("socat", "1"), Pkg("iproute2", "1"), Pkg("ebtables", "1"), Pkg("ethtool", "1"),
            Pkg("util-linux", "1", essential: true, priority: "required"), Pkg("mount", "1", priority: "required"));
        var e = Assert.Throws<AirgapException>(() =>
            AptResolver.Resolve([Kubernetes(), os], [new("kubeadm", "1.20.2-00"), new("kubelet", "1.20.2-00")], "amd64"));
        Assert.Equal(
            "kubelet 1.20.2-00 → conntrack: no package provides it in 'kubernetes', 'debian'; add a repository that has it (--os-mirror / --repos)",
            e.Message);

        var deeper = Assert.Throws<AirgapException>(() => AptResolver.Resolve([Kubernetes(), os], [new("kubeadm", "1.20.2-00")], "amd64"));
        Assert.StartsWith("kubeadm 1.20.2-00 → kubelet 1.20.10-00 → conntrack: no package provides it", deeper.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_version_constraint_no_package_meets_says_what_there_is()
    {
        var old = Index("k", Pkg("kubelet", "1.20.2-00", depends: "kubernetes-cni (>= 0.8.6)"), Pkg("kubernetes-cni", "0.7.5-00"), Pkg("kubernetes-cni", "0.6.0-00"));
        var e = Assert.Throws<AirgapException>(() => AptResolver.Resolve([old], [new("kubelet", null)], "amd64"));
        Assert.Equal("kubelet 1.20.2-00 → kubernetes-cni (>= 0.8.6): only kubernetes-cni 0.7.5-00, 0.6.0-00 in 'k'; add a repository that has it (--os-mirror / --repos)", e.Message);
    }

    [Fact]
    public void A_pin_that_contradicts_a_dependency_is_an_error_naming_both()
    {
        var e = Assert.Throws<AirgapException>(() =>
            AptResolver.Resolve([Kubernetes(), Os()], [new("kubelet", "1.18.0-00"), new("kubeadm", "1.20.2-00")], "amd64"));
        Assert.StartsWith("kubeadm 1.20.2-00 → kubelet (>= 1.19.0): kubelet 1.18.0-00 is already chosen", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_pinned_version_lists_the_versions_there_are()
    {
        var e = Assert.Throws<AirgapException>(() => AptResolver.Resolve([Kubernetes()], [new("kubelet", "1.20.3-00")], "amd64"));
        Assert.Contains("kubelet 1.20.3-00 is not in 'kubernetes' (it has 1.20.10-00, 1.20.2-00, 1.18.0-00)", e.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<AirgapException>(() => AptResolver.Resolve([Kubernetes()], [new("nope", null)], "amd64"));
        Assert.Equal("package nope is not in 'kubernetes'; add a repository that has it (--os-mirror / --repos)", missing.Message);
    }

    [Fact]
    public void Requested_base_packages_are_left_out_unless_pinned()
    {
        var set = AptResolver.Resolve([Os()], [new("mount", null), new("socat", null)], "amd64");
        Assert.Equal(["libssl3=3.0.15-1", "libwrap0=7.6.q-32", "socat=1.7.4.4-2"], Names(set));
        Assert.Equal(["libc6", "mount"], set.Excluded);
        Assert.Equal(["mount=2.38.1-5"], Names(AptResolver.Resolve([Os()], [new("mount", "2.38.1-5")], "amd64")));
    }

    [Fact]
    public void Conflicts_and_Breaks_between_chosen_packages_are_errors_naming_both()
    {
        var idx = Index("x",
            Pkg("a", "1", depends: "b"),
            Pkg("b", "1", breaks: "c (<< 2)"),
            Pkg("c", "1"),
            Pkg("d", "1", provides: "virt", conflicts: "virt"), // the usual Provides+Conflicts of one's own virtual: fine
            Pkg("e", "1", conflicts: "other-virt"),
            Pkg("f", "1", provides: "other-virt"));
        var e = Assert.Throws<AirgapException>(() => AptResolver.Resolve([idx], [new("a", null), new("c", null)], "amd64"));
        Assert.Equal("b 1 and c 1 cannot be installed together (Breaks: c (<< 2)); pin a different version of one of them", e.Message);
        Assert.Equal(["d=1"], Names(AptResolver.Resolve([idx], [new("d", null)], "amd64")));
        var v = Assert.Throws<AirgapException>(() => AptResolver.Resolve([idx], [new("e", null), new("f", null)], "amd64"));
        Assert.Contains("e 1 and f 1 cannot be installed together (Conflicts: other-virt)", v.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Is_deterministic_whatever_the_request_order()
    {
        var a = AptResolver.Resolve([Kubernetes(), Os()], [new("kubeadm", "1.20.2-00"), new("kubelet", "1.20.2-00")], "amd64");
        var b = AptResolver.Resolve([Kubernetes(), Os()], [new("kubelet", "1.20.2-00"), new("kubeadm", "1.20.2-00")], "amd64");
        Assert.Equal(Names(a), Names(b));
        Assert.Equal(a.Excluded, b.Excluded);
    }

    [Fact]
    public void A_pin_without_revision_takes_the_newest_revision_of_that_upstream_version()
    {
        var k8s = Index("kubernetes",
            Pkg("kubectl", "1.28.0-1.1"), Pkg("kubectl", "1.28.0-2.1"), Pkg("kubectl", "1.28.1-1.1"));
        var set = AptResolver.Resolve([k8s], [new("kubectl", "1.28.0")], "amd64");
        Assert.Equal("1.28.0-2.1", set.Packages.Single().Version);
        Assert.Throws<AirgapException>(() => AptResolver.Resolve([k8s], [new("kubectl", "1.28.0-3.1")], "amd64"));
    }
}
