using Airgap.Packages;
using Airgap.Packages.Profiles;
using Airgap.Releases;

namespace Airgap.Tests.Packages.Profiles;

public sealed class OsProfileTests : IDisposable
{
    private static readonly KubernetesVersion Legacy = KubernetesVersion.Parse("v1.20.2");
    private static readonly KubernetesVersion PerMinor = KubernetesVersion.Parse("v1.28.0");

    private readonly string _dir = Directory.CreateTempSubdirectory("airgap-profiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private RepositoryOverrides Defaults => RepositoryOverrides.None with { KeyDirectory = Path.Combine(_dir, "keys") };

    private static PackageRepository Named(IEnumerable<PackageRepository> repos, string name) => Assert.Single(repos, r => r.Name == name);

    [Fact]
    public void Every_profile_the_issue_asks_for_is_built_in_and_loads()
    {
        string[] wanted = ["centos-7", "debian-11", "debian-12", "rocky-8", "rocky-9", "ubuntu-18.04", "ubuntu-20.04", "ubuntu-22.04"];
        Assert.Equal(wanted, OsProfileCatalog.Known);
        foreach (var name in wanted)
        {
            var profile = OsProfileCatalog.Get(name);
            Assert.Equal(name, profile.Name);
            foreach (var arch in new[] { "amd64", "arm64" })
            foreach (var version in new[] { Legacy, PerMinor })
            {
                var repos = profile.Repositories(version, arch, Defaults);
                Assert.All(repos, r => Assert.Equal(profile.Kind, r.Kind));
                Assert.All(repos, r => Assert.True(File.Exists(r.KeyFile), $"{name} {r.Name}: key {r.KeyFile}"));
                Assert.All(repos, r => Assert.EndsWith("/", r.BaseUrl.AbsoluteUri));
                Assert.Contains(repos, r => r.Name == OsProfile.KubernetesRepositoryName);
            }
        }
    }

    [Fact]
    public void Debian_12_at_a_legacy_version_uses_the_domestic_mirror_and_kubernetes_xenial()
    {
        var choices = OsProfileCatalog.Get("debian-12").RepositoryChoices(Legacy, "amd64", Defaults);
        var repos = choices.Select(c => c.Preferred).ToList();

        Assert.Equal(["debian", "debian-updates", "debian-security", "kubernetes"], repos.Select(r => r.Name));
        var debian = Named(repos, "debian");
        Assert.Equal("https://mirrors.aliyun.com/debian/", debian.BaseUrl.AbsoluteUri);
        Assert.Equal("bookworm", debian.Suite);
        Assert.Equal(["main"], debian.Components);
        Assert.Equal("bookworm-updates", Named(repos, "debian-updates").Suite);
        var security = Named(repos, "debian-security");
        Assert.Equal("https://mirrors.aliyun.com/debian-security/", security.BaseUrl.AbsoluteUri);
        Assert.Equal("bookworm-security", security.Suite);
        Assert.Equal("debian-archive-keyring.gpg", Path.GetFileName(debian.KeyFile));

        var kubernetes = Named(repos, "kubernetes");
        Assert.Equal("https://mirrors.aliyun.com/kubernetes/apt/", kubernetes.BaseUrl.AbsoluteUri);
        Assert.Equal("kubernetes-xenial", kubernetes.Suite);
        Assert.Equal(["main"], kubernetes.Components);
        Assert.Equal("kubernetes-legacy.gpg", Path.GetFileName(kubernetes.KeyFile));

        // Alternatives, in preference order, with the same suite and key.
        Assert.Equal(
            ["https://mirrors.aliyun.com/debian-security/", "https://mirrors.tuna.tsinghua.edu.cn/debian-security/"],
            choices.Single(c => c.Name == "debian-security").Candidates.Select(c => c.BaseUrl.AbsoluteUri));
        Assert.Equal(
            ["https://mirrors.aliyun.com/kubernetes/apt/", "https://apt.kubernetes.io/"],
            choices.Single(c => c.Name == "kubernetes").Candidates.Select(c => c.BaseUrl.AbsoluteUri));
    }

    [Fact]
    public void Debian_12_from_v1_24_on_uses_the_per_minor_flat_repository()
    {
        var choice = OsProfileCatalog.Get("debian-12").RepositoryChoices(PerMinor, "amd64", Defaults).Single(c => c.Name == "kubernetes");

        Assert.Equal(
            ["https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.28/deb/", "https://pkgs.k8s.io/core:/stable:/v1.28/deb/"],
            choice.Candidates.Select(c => c.BaseUrl.AbsoluteUri));
        Assert.All(choice.Candidates, c => Assert.Equal("/", c.Suite));
        Assert.All(choice.Candidates, c => Assert.Empty(c.Components));
        Assert.All(choice.Candidates, c => Assert.Equal("kubernetes-pkgs.gpg", Path.GetFileName(c.KeyFile)));
        Assert.Equal(KubernetesRepositoryLayout.PerMinor, KubernetesRepositoryLayouts.ForVersion(KubernetesVersion.Parse("v1.24.0")));
        Assert.Equal(KubernetesRepositoryLayout.Legacy, KubernetesRepositoryLayouts.ForVersion(KubernetesVersion.Parse("v1.23.17")));
    }

    [Fact]
    public void Os_mirror_replaces_the_archive_root_and_the_security_archive_follows_it()
    {
        var overrides = Defaults with { OsMirror = new Uri("http://127.0.0.1:8080/debian") };
        var choices = OsProfileCatalog.Get("debian-12").RepositoryChoices(Legacy, "amd64", overrides);

        Assert.Equal("http://127.0.0.1:8080/debian/", choices.Single(c => c.Name == "debian").Candidates.Single().BaseUrl.AbsoluteUri);
        Assert.Equal("http://127.0.0.1:8080/debian/", choices.Single(c => c.Name == "debian-updates").Candidates.Single().BaseUrl.AbsoluteUri);
        var security = choices.Single(c => c.Name == "debian-security").Candidates.Single();
        Assert.Equal("http://127.0.0.1:8080/debian-security/", security.BaseUrl.AbsoluteUri);
        Assert.Equal("bookworm-security", security.Suite);
        // The Kubernetes repository is not part of the OS archive.
        Assert.Equal("https://mirrors.aliyun.com/kubernetes/apt/", choices.Single(c => c.Name == "kubernetes").Preferred.BaseUrl.AbsoluteUri);
    }

    [Fact]
    public void Rpm_profiles_map_the_architecture_and_bring_dockers_repository_for_containerd()
    {
        var centos = OsProfileCatalog.Get("centos-7");
        var repos = centos.Repositories(Legacy, "arm64", Defaults);

        Assert.Equal(["centos-os", "centos-updates", "centos-extras", "kubernetes", "docker-ce"], repos.Select(r => r.Name));
        Assert.Equal("https://mirrors.aliyun.com/centos-vault/altarch/7.9.2009/os/aarch64/", Named(repos, "centos-os").BaseUrl.AbsoluteUri);
        Assert.Equal("https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-aarch64/", Named(repos, "kubernetes").BaseUrl.AbsoluteUri);
        Assert.Equal("https://mirrors.aliyun.com/docker-ce/linux/centos/7/aarch64/stable/", Named(repos, "docker-ce").BaseUrl.AbsoluteUri);
        Assert.Equal("docker-ce-rpm.gpg", Path.GetFileName(Named(repos, "docker-ce").KeyFile));
        Assert.All(repos, r => Assert.Null(r.Suite));

        var rocky = OsProfileCatalog.Get("rocky-9").Repositories(PerMinor, "amd64", Defaults);
        Assert.Equal("https://mirrors.aliyun.com/rockylinux/9/BaseOS/x86_64/os/", Named(rocky, "rocky-baseos").BaseUrl.AbsoluteUri);
        Assert.Equal("https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.28/rpm/", Named(rocky, "kubernetes").BaseUrl.AbsoluteUri);

        var mirrored = centos.Repositories(Legacy, "amd64", Defaults with { OsMirror = new Uri("http://127.0.0.1:9/vault/") });
        Assert.Equal("http://127.0.0.1:9/vault/7.9.2009/updates/x86_64/", Named(mirrored, "centos-updates").BaseUrl.AbsoluteUri);
    }

    [Fact]
    public void Ubuntu_arm64_comes_from_the_ports_archive()
    {
        var choice = OsProfileCatalog.Get("ubuntu-22.04").RepositoryChoices(Legacy, "arm64", Defaults).Single(c => c.Name == "ubuntu-security");
        Assert.Equal(["https://mirrors.aliyun.com/ubuntu-ports/", "http://ports.ubuntu.com/ubuntu-ports/"], choice.Candidates.Select(c => c.BaseUrl.AbsoluteUri));
        Assert.Equal("jammy-security", choice.Preferred.Suite);
    }

    [Fact]
    public void K8s_repo_and_its_key_replace_the_profiles_and_placeholders_are_filled()
    {
        var key = Path.Combine(_dir, "lab.asc");
        File.WriteAllText(key, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n");
        var overrides = Defaults with { KubernetesRepo = new Uri("http://127.0.0.1:5000/"), KubernetesRepoKey = key };
        var kubernetes = OsProfileCatalog.Get("debian-12").RepositoryChoices(Legacy, "amd64", overrides).Single(c => c.Name == "kubernetes");

        var only = Assert.Single(kubernetes.Candidates);
        Assert.Equal("http://127.0.0.1:5000/", only.BaseUrl.AbsoluteUri);
        Assert.Equal("kubernetes-xenial", only.Suite);
        Assert.Equal(Path.GetFullPath(key), only.KeyFile);

        // Without a key, a --k8s-repo is taken as a mirror of the official repository: the profile's key stays.
        var mirror = OsProfileCatalog.Get("rocky-8").Repositories(PerMinor, "amd64",
            Defaults with { KubernetesRepo = new Uri("https://mirror.example/k8s/{minor}/rpm/") });
        Assert.Equal("https://mirror.example/k8s/v1.28/rpm/", Named(mirror, "kubernetes").BaseUrl.AbsoluteUri);
        Assert.Equal("kubernetes-pkgs.gpg", Path.GetFileName(Named(mirror, "kubernetes").KeyFile));

        // A probed layout wins over the version's.
        var probed = OsProfileCatalog.Get("debian-12").Repositories(PerMinor, "amd64",
            overrides with { KubernetesLayout = KubernetesRepositoryLayout.Legacy });
        Assert.Equal("kubernetes-xenial", Named(probed, "kubernetes").Suite);

        var missing = Assert.Throws<AirgapException>(() => OsProfileCatalog.Get("debian-12").Repositories(Legacy, "amd64",
            overrides with { KubernetesRepoKey = Path.Combine(_dir, "nope.gpg") }));
        Assert.Contains("--k8s-repo-key", missing.Message);
        Assert.Contains("nope.gpg", missing.Message);
    }

    [Fact]
    public void Repos_file_entries_replace_profile_repositories_by_name_and_add_the_others()
    {
        var key = Path.Combine(_dir, "extra.gpg");
        File.WriteAllBytes(key, OsProfileCatalog.KeyBytes("docker-ce-rpm.gpg"));
        var extra = new List<PackageRepository>
        {
            new("debian-security", RepositoryKind.Apt, new Uri("http://127.0.0.1:1/sec/"), "bookworm-security", ["main"], key),
            new("local", RepositoryKind.Apt, new Uri("http://127.0.0.1:2/"), "/", [], key),
            new("centos-only", RepositoryKind.Rpm, new Uri("http://127.0.0.1:3/"), null, [], key),
        };
        var repos = OsProfileCatalog.Get("debian-12").Repositories(Legacy, "amd64", Defaults with { Extra = extra });

        Assert.Equal(["debian", "debian-updates", "debian-security", "kubernetes", "local"], repos.Select(r => r.Name));
        Assert.Equal("http://127.0.0.1:1/sec/", Named(repos, "debian-security").BaseUrl.AbsoluteUri);
    }

    [Fact]
    public void Unknown_profile_names_every_known_one()
    {
        var e = Assert.Throws<AirgapException>(() => OsProfileCatalog.Get("fedora-40"));
        Assert.StartsWith("unknown OS profile 'fedora-40'; known profiles: ", e.Message);
        Assert.All(OsProfileCatalog.Known, name => Assert.Contains(name, e.Message));
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Unknown_architecture_and_pre_releases_are_errors_with_advice()
    {
        var profile = OsProfileCatalog.Get("ubuntu-20.04");
        var arch = Assert.Throws<AirgapException>(() => profile.Repositories(Legacy, "ppc64le", Defaults));
        Assert.Contains("amd64, arm64", arch.Message);

        var rc = Assert.Throws<AirgapException>(() => profile.Repositories(KubernetesVersion.Parse("v1.31.0-rc.0"), "amd64", Defaults));
        Assert.Contains("--k8s-repo", rc.Message);
    }

    [Fact]
    public void A_profile_without_a_key_for_its_kubernetes_repository_refuses_to_trust_it()
    {
        var yaml = OsProfileCatalog.ProfileText("debian-12").Replace("    key: kubernetes-legacy.gpg", "    key: null", StringComparison.Ordinal);
        var profile = OsProfileDocument.Parse(yaml, "test", "debian-12");

        var e = Assert.Throws<AirgapException>(() => profile.Repositories(Legacy, "amd64", Defaults));
        Assert.Equal("profile debian-12 has no trusted key for its Kubernetes repository; pass --k8s-repo-key FILE", e.Message);

        // The per-minor repository still has its key, and --k8s-repo-key fills the gap.
        Assert.NotNull(Named(profile.Repositories(PerMinor, "amd64", Defaults), "kubernetes").KeyFile);
        var key = Path.Combine(_dir, "given.gpg");
        File.WriteAllBytes(key, OsProfileCatalog.KeyBytes("kubernetes-legacy.gpg"));
        Assert.Equal(key, Named(profile.Repositories(Legacy, "amd64", Defaults with { KubernetesRepoKey = key }), "kubernetes").KeyFile);
    }

    [Theory]
    [InlineData("family: apt", "family: dpkg", "write apt or rpm")]
    [InlineData("key: kubernetes-pkgs.gpg", "key: nowhere.gpg", "not in manifests/keys/")]
    [InlineData("  ipvsadm: ipvsadm\n", "", "ipvsadm")]
    [InlineData("name: debian-12", "name: debian-13", "must equal its file name")]
    [InlineData("codename: bookworm", "codename: bookworm\nmirror: x", "mirror")]
    [InlineData("/{minor}/deb/", "/v1.28/deb/", "must hold {minor}")]
    [InlineData("{archive}-security", "https://elsewhere.example/debian-security", "derived from {archive}")]
    public void Profile_mistakes_are_caught_when_it_is_read(string find, string replace, string expected)
    {
        var yaml = OsProfileCatalog.ProfileText("debian-12");
        Assert.Contains(find, yaml);
        var e = Assert.Throws<AirgapException>(() => OsProfileDocument.Parse(yaml.Replace(find, replace, StringComparison.Ordinal), "test", "debian-12"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Node_packages_pin_kubeadm_kubelet_kubectl_in_each_repositorys_spelling()
    {
        static string? Pin(IReadOnlyList<PackageRequest> r, string name) => r.Single(p => p.Name == name).Version;

        var debianLegacy = OsProfileCatalog.Get("debian-12").NodePackages(Legacy);
        Assert.Equal("1.20.2-00", Pin(debianLegacy, "kubeadm"));
        Assert.Equal("1.20.2-00", Pin(debianLegacy, "kubelet"));
        Assert.Equal("1.20.2-00", Pin(debianLegacy, "kubectl"));
        Assert.Null(Pin(debianLegacy, "kubernetes-cni"));
        Assert.Null(Pin(debianLegacy, "cri-tools"));
        Assert.Equal(
            ["kubeadm", "kubelet", "kubectl", "kubernetes-cni", "cri-tools", "containerd", "conntrack", "socat", "ebtables", "ethtool", "ipset", "ipvsadm", "iptables"],
            debianLegacy.Select(p => p.Name));

        Assert.Equal("1.20.2-0", Pin(OsProfileCatalog.Get("centos-7").NodePackages(Legacy), "kubeadm"));
        // pkgs.k8s.io revisions vary per rebuild: the upstream version alone, any revision.
        Assert.Equal("1.28.0", Pin(OsProfileCatalog.Get("debian-12").NodePackages(PerMinor), "kubelet"));
        Assert.Equal("1.28.0", Pin(OsProfileCatalog.Get("rocky-9").NodePackages(PerMinor), "kubectl"));

        var centos = OsProfileCatalog.Get("centos-7").NodePackages(Legacy).Select(p => p.Name).ToList();
        Assert.Contains("containerd.io", centos);
        Assert.Contains("conntrack-tools", centos);
        Assert.DoesNotContain("conntrack", centos);
        var rocky9 = OsProfileCatalog.Get("rocky-9").NodePackages(PerMinor).Select(p => p.Name).ToList();
        Assert.Single(rocky9, n => n == "iptables-nft");
        Assert.Contains("iptables-ebtables", OsProfileCatalog.Get("rocky-8").NodePackages(PerMinor).Select(p => p.Name));
    }
}
