using System.Diagnostics;
using Airgap.Artifacts;
using Airgap.Oci;
using Airgap.Packages;
using Airgap.Packages.Rpm;
using Airgap.TestKit;
using Xunit.Abstractions;

namespace Airgap.IntegrationTests.Packages.Rpm;

public sealed class RpmRepositoryTests(SignedYumRepositories repos, ITestOutputHelper output) : IClassFixture<SignedYumRepositories>, IDisposable
{
    private static readonly PackageRequest[] Kubernetes1202 =
        [new("kubeadm", "1.20.2-0"), new("kubelet", "1.20.2-0"), new("kubectl", "1.20.2-0")];

    private readonly TempDir _dir = new();
    private readonly BlobCache _cache = new(Directory.CreateTempSubdirectory("airgap-rpmcache-").FullName);

    public void Dispose()
    {
        _dir.Dispose();
        Directory.Delete(_cache.Root, recursive: true);
    }

    [Fact]
    public async Task Closure_from_signed_repos_installs_offline_with_rpm_and_dnf()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        output.WriteLine($"test repositories built (rpmbuild, createrepo_c, gpg) in {repos.BuildTime.TotalMilliseconds:F0} ms");
        using var downloader = new FileDownloader(_cache, NullProgress.Instance);
        var client = new RpmRepositoryClient(downloader, NullProgress.Instance);

        var watch = Stopwatch.StartNew();
        var set = await new RpmResolver(client).ResolveAsync([repos.Kubernetes, repos.Base], Kubernetes1202, "amd64", SignedYumRepositories.BaseSystem, ct);
        output.WriteLine($"resolve (repomd + signature + primary for 2 repos): {watch.ElapsedMilliseconds} ms");
        Assert.Equal(
        [
            "conntrack-tools-1.4.4-7.el7.x86_64", "cri-tools-1.13.0-0.x86_64", "ebtables-2.0.10-16.el7.x86_64", "ethtool-2:4.8-10.el7.x86_64",
            "iproute-4.11.0-30.el7.x86_64", "iptables-nft-1.8.4-10.el8.x86_64", "kubeadm-1.20.2-0.x86_64", "kubectl-1.20.2-0.x86_64",
            "kubelet-1.20.2-0.x86_64", "kubernetes-cni-0.8.7-0.x86_64", "socat-1.7.3.2-2.el7.noarch",
        ], set.Packages.Select(p => $"{p.Name}-{p.Version}.{p.Architecture}"));
        Assert.Equal(["bash", "util-linux"], set.Excluded);

        watch.Restart();
        var repo = await WriteRepositoryAsync(downloader, set, "repo", ct);
        output.WriteLine($"download {set.Packages.Count} rpms + write repodata: {watch.ElapsedMilliseconds} ms");
        var rpms = set.Packages.Select(p => Path.Combine(repo, p.FileName)).ToArray();
        var baseRpms = SignedYumRepositories.BaseSystem.Order().Select(n => repos.RpmOf("base", n)).ToArray();

        // rpm checks every Requires of what it installs against the rpmdb plus the transaction: with
        // no --nodeps, success means the closure (plus the base system) is complete.
        watch.Restart();
        var root = _dir.Sub("root");
        await Rpm(root, ["-ivh", .. baseRpms]);
        await Rpm(root, ["-ivh", .. rpms]);
        var installed = (await Rpm(root, ["-qa", "--qf", "%{NAME}\n"])).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToArray();
        Assert.Equal(set.Packages.Select(p => p.Name).Concat(SignedYumRepositories.BaseSystem).Order(), installed);
        output.WriteLine($"rpm --root install of base + closure: {watch.ElapsedMilliseconds} ms");

        // The check is real: without the base system, rpm names what is missing.
        var bare = await ProcessRunner.RunAsync("/usr/bin/rpm", ["--root", _dir.Sub("bare"), "-ivh", .. rpms], ct);
        Assert.False(bare.Succeeded);
        Assert.Contains("util-linux is needed by kubelet-1.20.2-0.x86_64", bare.Stderr);

        // dnf reads our repodata (not createrepo's) from file:// with the network cut.
        if (!File.Exists("/usr/bin/dnf"))
        {
            output.WriteLine("dnf is not installed (apt-get install dnf); skipped the dnf check");
            return;
        }
        watch.Restart();
        var dnfRoot = _dir.Sub("dnfroot");
        await Rpm(dnfRoot, ["-ivh", .. baseRpms]);
        var dnf = await ProcessRunner.RunAsync("/usr/bin/unshare",
        [
            "-n", "dnf", "--installroot", dnfRoot, "--releasever", "7", "--setopt", $"reposdir={_dir.Sub("no-repos")}",
            "--setopt", $"cachedir={_dir.Sub("dnfcache")}", "--setopt", "install_weak_deps=False", "--setopt", "gpgcheck=False",
            "--repofrompath", $"airgap,file://{repo}", "--repo", "airgap", "-y", "install", "kubeadm-1.20.2-0", "kubelet-1.20.2-0", "kubectl-1.20.2-0",
        ], ct);
        Assert.True(dnf.Succeeded, dnf.ToString());
        var dnfInstalled = (await Rpm(dnfRoot, ["-qa", "--qf", "%{NAME}\n"])).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order();
        Assert.Equal(installed, dnfInstalled);
        output.WriteLine($"dnf --installroot install from our repodata (unshare -n): {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task The_install_phases_dnf_source_installs_the_bundle_repository_offline_and_holds_the_versions()
    {
        if (!File.Exists("/usr/bin/dnf")) Assert.Fail("dnf is not installed (apt-get install dnf; make deps does)");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        using var downloader = new FileDownloader(_cache, NullProgress.Instance);
        var set = await new RpmResolver(new RpmRepositoryClient(downloader, NullProgress.Instance))
            .ResolveAsync([repos.Kubernetes, repos.Base], Kubernetes1202, "amd64", SignedYumRepositories.BaseSystem, ct);
        var repo = await WriteRepositoryAsync(downloader, set, "bundle-repo", ct);
        var root = _dir.Sub("node");
        await Rpm(root, ["-ivh", .. SignedYumRepositories.BaseSystem.Order().Select(n => repos.RpmOf("base", n))]);
        string[] dnf = ["dnf", "--installroot", root, "--releasever", "7", "--setopt", $"cachedir={_dir.Sub("dnf-cache")}", "--setopt", "gpgcheck=False"];
        // dnf and rpm act on the node root (--installroot / --root), with the network cut.
        var host = new Airgap.IntegrationTests.Nodes.RootedHost(root, spec => new Airgap.Nodes.CommandSpec("/usr/bin/unshare", spec.File switch
        {
            "dnf" => ["-n", .. dnf, .. spec.Args],
            "rpm" => ["-n", "rpm", "--root", root, .. spec.Args],
            _ => throw new InvalidOperationException($"the dnf source ran {spec.DisplayLine}"),
        }) { Timeout = spec.Timeout });
        var packages = set.Packages.Select(p => new Airgap.Bundles.BundlePackage { Os = "centos-7", Name = p.Name, Version = p.Version, Arch = p.Architecture, Path = p.FileName }).ToList();
        var source = new Airgap.Nodes.DnfBundleSource(host, NullProgress.Instance, "dnf");

        await source.ConfigureAsync(repo, ct);
        await source.InstallAsync(packages, ct);

        foreach (var name in new[] { "kubeadm", "kubelet", "kubectl" })
            Assert.Equal("1.20.2-0", await source.InstalledVersionAsync(name, ct));
        Assert.Null(await source.InstalledVersionAsync("docker", ct));
        Assert.Contains("exclude=kubeadm kubelet kubectl", File.ReadAllText(Path.Combine(root, "etc/yum.repos.d/airgap.repo")));
        // Held: with the repository's exclude in force, only airgap's own calls (--disableexcludes) see kubelet.
        string[] query = ["-n", .. dnf, "-q", "--disablerepo=*", "--enablerepo=airgap-bundle", "repoquery", "kubelet"];
        var held = await ProcessRunner.RunAsync("/usr/bin/unshare", query, ct);
        var lifted = await ProcessRunner.RunAsync("/usr/bin/unshare", [.. query, "--disableexcludes=airgap-bundle"], ct);
        Assert.True(held.Succeeded && lifted.Succeeded, held + "\n" + lifted);
        Assert.DoesNotContain("kubelet", held.Stdout);
        Assert.Contains("kubelet-0:1.20.2-0.x86_64", lifted.Stdout);
        // A second run finds every package at the bundle's version and installs nothing.
        var before = host.Commands.Count;
        await source.InstallAsync(packages, ct);
        Assert.DoesNotContain(host.Commands.Skip(before), c => c.Contains(" install ", StringComparison.Ordinal) || c.Contains(" downgrade ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metadata_altered_after_signing_is_refused()
    {
        var e = await LoadFailsAsync(repos.Repository("kubernetes", "tampered", repos.KubernetesKey));
        Assert.Contains("repomd.xml has a BAD signature", e.Message);
    }

    [Fact]
    public async Task A_signature_by_another_key_is_refused()
    {
        var e = await LoadFailsAsync(repos.Repository("kubernetes", "kubernetes", repos.BaseKey));
        Assert.Matches(@"repomd.xml is signed only by key\(s\) [0-9A-F]{16}, none of them in .*base.gpg; give the key that signs this repository", e.Message);
    }

    [Fact]
    public async Task A_repository_without_a_key_is_refused_unless_allowed()
    {
        var unsigned = repos.Repository("kubernetes", "kubernetes", null);
        var e = await LoadFailsAsync(unsigned);
        Assert.Contains("has no signing key", e.Message);

        using var downloader = new FileDownloader(_cache, NullProgress.Instance);
        var index = await new RpmRepositoryClient(downloader, NullProgress.Instance) { AllowUnsigned = true }.LoadAsync(unsigned, CancellationToken.None);
        Assert.Null(index.SigningKey);
        Assert.Equal(8, index.Packages.Count);
    }

    [Fact]
    public async Task Primary_metadata_that_does_not_match_repomd_is_refused()
    {
        var e = await LoadFailsAsync(repos.Repository("kubernetes", "bad-primary", repos.KubernetesKey));
        Assert.Matches("primary.xml.gz has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}", e.Message);
    }

    [Theory]
    [InlineData("xz")]
    [InlineData("zstd")]
    public async Task Xz_and_zstd_primary_metadata_are_read_like_gzip(string variant)
    {
        using var downloader = new FileDownloader(_cache, NullProgress.Instance);
        var client = new RpmRepositoryClient(downloader, NullProgress.Instance);
        var gzip = await client.LoadAsync(repos.Kubernetes, CancellationToken.None);
        var other = await client.LoadAsync(repos.Repository("kubernetes", variant, repos.KubernetesKey), CancellationToken.None);
        Assert.Equal(gzip.Packages.Select(p => $"{p.Name}-{p.Evr}").Order(), other.Packages.Select(p => $"{p.Name}-{p.Evr}").Order());
    }

    [Fact]
    public async Task A_package_that_does_not_match_its_checksum_is_refused()
    {
        using var downloader = new FileDownloader(_cache, NullProgress.Instance);
        var set = await new RpmResolver(new RpmRepositoryClient(downloader, NullProgress.Instance)).ResolveAsync(
            [repos.Repository("kubernetes", "bad-rpm", repos.KubernetesKey)], [new("kubectl", "1.20.2")], "amd64", new HashSet<string> { "/bin/sh" }, CancellationToken.None);
        var kubectl = set.Packages.Single();
        var e = await Assert.ThrowsAsync<AirgapException>(() => downloader.GetAsync(kubectl.Url, Digest.FromHex(kubectl.Sha256), kubectl.FileName, CancellationToken.None));
        Assert.Contains("the mirror serves different content; refusing it", e.Message);
        Assert.False(File.Exists(_cache.PathOf(Digest.FromHex(kubectl.Sha256))));
    }

    [Fact]
    public async Task Unsatisfiable_require_names_the_chain()
    {
        using var downloader = new FileDownloader(_cache, NullProgress.Instance);
        var resolver = new RpmResolver(new RpmRepositoryClient(downloader, NullProgress.Instance));
        // Only the Kubernetes repository: the OS packages are nowhere. /bin/sh is taken as given.
        HashSet<string> shell = ["/bin/sh"];
        var e = await Assert.ThrowsAsync<AirgapException>(() =>
            resolver.ResolveAsync([repos.Kubernetes], [new("kubelet", "1.20.2-0")], "amd64", shell, CancellationToken.None));
        Assert.Equal("kubelet 1.20.2-0 → conntrack: nothing provides it in kubernetes; add a repository that has it", e.Message);
        e = await Assert.ThrowsAsync<AirgapException>(() =>
            resolver.ResolveAsync([repos.Kubernetes], [new("kubeadm", "1.20.2-0")], "amd64", shell, CancellationToken.None));
        Assert.Equal("kubeadm 1.20.2-0 → cri-tools 1.13.0-0 → /usr/sbin/conntrack: nothing provides it in kubernetes; add a repository that has it", e.Message);
    }

    private async Task<AirgapException> LoadFailsAsync(PackageRepository repository)
    {
        using var downloader = new FileDownloader(_cache, NullProgress.Instance);
        var e = await Assert.ThrowsAsync<AirgapException>(() => new RpmRepositoryClient(downloader, NullProgress.Instance).LoadAsync(repository, CancellationToken.None));
        output.WriteLine(e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    /// <summary>The resolved packages and airgap's repodata in a flat directory, as a bundle holds them.</summary>
    private async Task<string> WriteRepositoryAsync(FileDownloader downloader, PackageSet set, string name, CancellationToken ct)
    {
        var repo = _dir.Sub(name);
        var cached = new Dictionary<ResolvedPackage, string>();
        foreach (var p in set.Packages)
        {
            cached[p] = await downloader.GetAsync(p.Url, Digest.FromHex(p.Sha256), p.FileName, ct);
            File.Copy(cached[p], Path.Combine(repo, p.FileName));
        }
        foreach (var (path, content) in await RpmRepositoryWriter.WriteAsync(set.Packages, p => cached[p], ct))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(repo, path))!);
            await File.WriteAllBytesAsync(Path.Combine(repo, path), content, ct);
        }
        return repo;
    }

    private static async Task<string> Rpm(string root, string[] args)
    {
        var result = await ProcessRunner.RunAsync("/usr/bin/rpm", ["--root", root, .. args]);
        Assert.True(result.Succeeded, $"rpm --root {root} {string.Join(' ', args)}: {result}");
        return result.Stdout;
    }
}
