using System.Diagnostics;
using Airgap.Artifacts;
using Airgap.Bundles;
using Airgap.Nodes;
using Airgap.Oci;
using Airgap.Packages;
using Airgap.Packages.Apt;
using Airgap.TestKit;
using Xunit.Abstractions;

namespace Airgap.IntegrationTests.Packages.Apt;

[CollectionDefinition(Name)]
public sealed class DebianArchiveCollection : ICollectionFixture<DebootstrapChroot>, ICollectionFixture<SignedAptRepository>
{
    public const string Name = "apt against the Debian archive";
}

/// <summary>
/// The resolver against Debian's real archive (the mirror this host uses), judged by apt itself: the
/// closure must be exactly what apt-get install --simulate --no-install-recommends installs on a
/// minimal debootstrap system, and the repository airgap writes from it must install those packages
/// into that system with the network cut.
/// </summary>
[Collection(DebianArchiveCollection.Name)]
[Trait("Category", "Slow")]
public sealed class DebianArchiveTests(DebootstrapChroot chroot, SignedAptRepository k8s, ITestOutputHelper output)
{
    // Shared between runs: indexes and debs are stored by sha256, so a stale entry can never be served for a new one.
    private static readonly string CacheRoot = Path.Combine(DebootstrapChroot.CacheDirectory, "blobs");

    [Fact]
    public async Task Debian_closure_for_the_kubernetes_host_tools_equals_apts_and_installs_offline()
    {
        string[] wanted = ["kubernetes-client", "containerd", "conntrack", "socat", "ebtables", "ipset", "ipvsadm"];
        await CompareWithAptAndInstallOfflineAsync([chroot.Mirror.Repository()], wanted.Select(n => new PackageRequest(n, null)).ToList(), extraSource: null);
    }

    [Fact]
    public async Task Kubeadm_kubelet_kubectl_from_a_signed_repository_close_over_Debian_like_apt_does()
    {
        var keyInChroot = "/etc/apt/keyrings/airgap-test-kubernetes.asc";
        var source = $"deb [signed-by={keyInChroot}] {k8s.Server.BaseUri}kubernetes kubernetes-xenial main\n";
        var set = await CompareWithAptAndInstallOfflineAsync(
            [k8s.Repository("kubernetes"), chroot.Mirror.Repository()],
            [new("kubeadm", "1.20.2-00"), new("kubelet", "1.20.2-00"), new("kubectl", "1.20.2-00")],
            extraSource: (source, k8s.Key, keyInChroot));

        var names = set.Packages.Select(p => p.Name).ToHashSet();
        foreach (var name in new[] { "kubeadm", "kubelet", "kubectl", "kubernetes-cni", "cri-tools", "iptables", "iproute2", "socat", "ebtables", "ethtool", "conntrack" })
            Assert.Contains(name, names);
        Assert.Equal("0.8.7-00", set.Packages.Single(p => p.Name == "kubernetes-cni").Version);
        Assert.Contains("util-linux", set.Excluded);
        Assert.Contains("mount", set.Excluded);
    }

    private async Task<PackageSet> CompareWithAptAndInstallOfflineAsync(
        IReadOnlyList<PackageRepository> repos, IReadOnlyList<PackageRequest> requests, (string Line, string Key, string KeyInChroot)? extraSource)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        var ct = cts.Token;
        using var work = new TempDir();
        output.WriteLine($"base system tarball: {(chroot.Rebuilt ? "built by debootstrap" : "from the cache")} in {chroot.PrepareTime.TotalSeconds:F1}s");

        var watch = Stopwatch.StartNew();
        using var client = new AptRepositoryClient(new FileDownloader(new BlobCache(CacheRoot), NullProgress.Instance), NullProgress.Instance);
        var set = await new AptResolver(client).ResolveAsync(repos, requests, chroot.Architecture, ct);
        output.WriteLine($"airgap resolved {set.Packages.Count} packages ({set.Excluded.Count} left out as base) in {watch.Elapsed.TotalSeconds:F1}s");

        var system = await chroot.ExtractAsync(work.Path, ct);
        try
        {
            watch.Restart();
            if (extraSource is { } extra)
            {
                Directory.CreateDirectory(Path.Combine(system.Root, "etc/apt/keyrings"));
                File.Copy(extra.Key, system.Root + extra.KeyInChroot);
                await File.WriteAllTextAsync(Path.Combine(system.Root, "etc/apt/sources.list.d/airgap-test.list"), extra.Line, ct);
            }
            await system.RunAsync(ct, "apt-get", "update", "-q");
            // A point release since the tarball was made: bring the base system to what a fresh debootstrap would install.
            await system.RunAsync(ct, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q", "dist-upgrade");
            var installed = await system.InstalledAsync(ct);
            var pins = requests.Select(r => r.Version is null ? r.Name : $"{r.Name}={r.Version}").ToArray();
            var (apt, upgrades) = await system.SimulateInstallAsync(pins, ct);
            output.WriteLine($"apt's answer in the chroot in {watch.Elapsed.TotalSeconds:F1}s: {string.Join(' ', apt.Select(kv => $"{kv.Key}={kv.Value}").Order())}");

            Assert.True(upgrades.Count == 0, $"apt wants to upgrade base packages for this request: {string.Join("; ", upgrades)}");
            var ours = set.Packages.ToDictionary(p => p.Name, p => p.Version);
            Assert.Equal(apt.OrderBy(kv => kv.Key, StringComparer.Ordinal), ours.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            foreach (var name in set.Excluded)
                Assert.True(installed.ContainsKey(name), $"{name} was left out as part of every base system, but debootstrap did not install it");

            watch.Restart();
            var debs = await client.DownloadAsync(set.Packages, ct);
            var index = AptRepositoryWriter.Write(set.Packages).ToDictionary(f => f.RelativePath, f => f.Content);
            await system.CopyRepositoryAsync(index, debs, ct);
            output.WriteLine($"downloaded {set.Packages.Sum(p => p.Size) / 1048576.0:F1} MiB and wrote the repository in {watch.Elapsed.TotalSeconds:F1}s");

            // The packages phase's own apt source, its commands run inside the chroot with the network cut.
            watch.Restart();
            var node = Airgap.IntegrationTests.Nodes.RootedHost.Chroot(system.Root);
            var source = new AptBundleSource(node, NullProgress.Instance);
            await source.ConfigureAsync(Chroot.RepositoryInChroot, ct);
            await source.InstallAsync(set.Packages.Select(p => new BundlePackage { Os = "debian-12", Name = p.Name, Version = p.Version, Arch = p.Architecture, Path = p.FileName }).ToList(), ct);
            var after = await system.InstalledAsync(ct);
            foreach (var p in set.Packages)
                Assert.True(after.TryGetValue(p.Name, out var v) && v == p.Version, $"{p.Name} {p.Version} is not installed after the offline install (dpkg has {v ?? "nothing"})");
            foreach (var held in new[] { "kubeadm", "kubelet", "kubectl" }.Where(ours.ContainsKey))
                Assert.Equal(ours[held], await source.InstalledVersionAsync(held, ct));
            var holds = (await system.RunAsync(ct, "apt-mark", "showhold")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(new[] { "kubeadm", "kubectl", "kubelet" }.Where(ours.ContainsKey), holds.Order(StringComparer.Ordinal));
            Assert.Contains(node.Commands, c => c.StartsWith("apt-get -o Dir::Etc::SourceList=/etc/apt/sources.list.d/airgap.list -o Dir::Etc::SourceParts=/dev/null", StringComparison.Ordinal));
            output.WriteLine($"installed offline by the packages phase's apt source (unshare --net chroot) in {watch.Elapsed.TotalSeconds:F1}s");
            return set;
        }
        finally
        {
            await system.DeleteAsync();
        }
    }
}
