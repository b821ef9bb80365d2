using Airgap.Artifacts;
using Airgap.Oci;
using Airgap.Packages;
using Airgap.Packages.Apt;

namespace Airgap.IntegrationTests.Packages.Apt;

/// <summary>The apt client and resolver against repositories signed by real gpg: what they accept and, one line each, what they refuse.</summary>
public sealed class SignedAptRepositoryTests(SignedAptRepository repo) : IClassFixture<SignedAptRepository>, IDisposable
{
    private readonly TempDir _cache = new();

    public void Dispose() => _cache.Dispose();

    private AptRepositoryClient Client(bool allowUnsigned = false) =>
        new(new FileDownloader(new BlobCache(_cache.Path), NullProgress.Instance), NullProgress.Instance) { AllowUnsigned = allowUnsigned };

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    [Fact]
    public async Task Reads_a_gpg_signed_InRelease_and_the_xz_index_it_vouches_for()
    {
        using var client = Client();
        var index = await client.LoadAsync(repo.Repository("kubernetes"), "amd64", Timeout());
        Assert.Equal(SignedAptRepository.Packages.Length, index.Packages.Count);
        Assert.Equal("kubernetes-xenial", index.Release!.Codename);
        Assert.Contains(repo.Server.RequestLog, l => l.StartsWith("GET /kubernetes/dists/kubernetes-xenial/main/binary-amd64/Packages.xz ", StringComparison.Ordinal));
        var kubelet = index.Packages.Single(p => p.Name == "kubelet" && p.Version.Text == "1.20.2-00");
        Assert.Equal("conntrack", kubelet.Depends[^1].Alternatives[0].Name);

        // The index is in the cache under its sha256: a second load fetches only the (always fresh) InRelease.
        var before = repo.Server.RequestLog.Count;
        await client.LoadAsync(repo.Repository("kubernetes"), "amd64", Timeout());
        Assert.Equal(["GET /kubernetes/dists/kubernetes-xenial/InRelease range=- -> 200"], repo.Server.RequestLog.Skip(before));
    }

    [Fact]
    public async Task Reads_a_flat_repository_signed_with_a_detached_Release_gpg()
    {
        using var client = Client();
        var set = await new AptResolver(client).ResolveAsync([repo.Flat()], [new("kubectl", "1.20.2-00")], "amd64", Timeout());
        var kubectl = Assert.Single(set.Packages);
        Assert.Equal(new Uri(repo.Server.BaseUri, "flat/pool/kubectl_1.20.2-00_amd64.deb"), kubectl.Url);
        Assert.Contains(repo.Server.RequestLog, l => l.StartsWith("GET /flat/Release.gpg ", StringComparison.Ordinal));
        Assert.Contains(repo.Server.RequestLog, l => l.StartsWith("GET /flat/Packages.gz ", StringComparison.Ordinal));

        var files = await client.DownloadAsync(set.Packages, Timeout());
        Assert.Equal(File.ReadAllBytes(Path.Combine(repo.Root, "flat/pool/kubectl_1.20.2-00_amd64.deb")), File.ReadAllBytes(files["kubectl_1.20.2-00_amd64.deb"]));
    }

    [Fact]
    public async Task Refuses_an_InRelease_signed_by_another_key()
    {
        using var client = Client();
        var e = await Assert.ThrowsAsync<AirgapException>(() => client.LoadAsync(repo.Repository("wrong-key"), "amd64", Timeout()));
        Assert.StartsWith("repository 'wrong-key': InRelease is signed only by key(s) ", e.Message, StringComparison.Ordinal);
        Assert.Contains("--k8s-repo-key", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);

        var other = await Assert.ThrowsAsync<AirgapException>(() => client.LoadAsync(repo.Repository("kubernetes", repo.OtherKey), "amd64", Timeout()));
        Assert.Contains($"none of them in {repo.OtherKey}", other.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(repo.Server.RequestLog, l => l.Contains("wrong-key/dists/kubernetes-xenial/main", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refuses_a_Packages_index_changed_after_signing()
    {
        using var client = Client();
        var e = await Assert.ThrowsAsync<AirgapException>(() => client.LoadAsync(repo.Repository("tampered"), "amd64", Timeout()));
        Assert.Equal(
            "repository 'tampered': main/binary-amd64/Packages.xz does not match the SHA256 in its signed Release: the mirror serves altered or half-synced content; retry later or use another mirror",
            e.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(_cache.Path, "blobs", "sha256")));
    }

    [Fact]
    public async Task Refuses_a_deb_whose_checksum_does_not_match_the_index()
    {
        using var client = Client();
        var set = await new AptResolver(client).ResolveAsync([repo.Repository("bad-deb")], [new("kubectl", "1.20.2-00")], "amd64", Timeout());
        var e = await Assert.ThrowsAsync<AirgapException>(() => client.DownloadAsync(set.Packages, Timeout()));
        Assert.StartsWith("package kubectl 1.20.2-00 from 'bad-deb': ", e.Message, StringComparison.Ordinal);
        Assert.Contains("refusing it", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(Path.Combine(_cache.Path, "blobs", "sha256", set.Packages[0].Sha256)));
    }

    [Fact]
    public async Task Refuses_a_repository_without_a_key_unless_unsigned_is_allowed()
    {
        var unsigned = repo.Repository("kubernetes") with { KeyFile = null };
        using (var client = Client())
        {
            var e = await Assert.ThrowsAsync<AirgapException>(() => client.LoadAsync(unsigned, "amd64", Timeout()));
            Assert.StartsWith("repository 'kubernetes' (", e.Message, StringComparison.Ordinal);
            Assert.Contains("has no key to check its signature", e.Message, StringComparison.Ordinal);
        }
        using (var client = Client(allowUnsigned: true))
            Assert.Equal(SignedAptRepository.Packages.Length, (await client.LoadAsync(unsigned, "amd64", Timeout())).Packages.Count);
    }

    [Fact]
    public async Task An_unsatisfiable_dependency_names_the_chain_and_the_repositories()
    {
        using var client = Client();
        var e = await Assert.ThrowsAsync<AirgapException>(() => new AptResolver(client).ResolveAsync(
            [repo.Repository("kubernetes")], [new("kubeadm", "1.20.2-00"), new("kubelet", "1.20.2-00")], "amd64", Timeout()));
        Assert.Equal(
            "kubelet 1.20.2-00 → iptables (>= 1.4.21): no package provides it in 'kubernetes'; add a repository that has it (--os-mirror / --repos)",
            e.Message);
        var missing = await Assert.ThrowsAsync<AirgapException>(() => new AptResolver(client).ResolveAsync(
            [repo.Repository("kubernetes")], [new("kubelet", "1.20.3-00")], "amd64", Timeout()));
        Assert.StartsWith("kubelet 1.20.3-00 is not in 'kubernetes' (it has 1.20.10-00, 1.20.2-00)", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Says_which_suite_or_component_does_not_exist()
    {
        using var client = Client();
        var noSuite = await Assert.ThrowsAsync<AirgapException>(() => client.LoadAsync(repo.Repository("kubernetes") with { Suite = "kubernetes-bionic" }, "amd64", Timeout()));
        Assert.Contains("neither InRelease nor Release found under", noSuite.Message, StringComparison.Ordinal);
        var noComponent = await Assert.ThrowsAsync<AirgapException>(() => client.LoadAsync(repo.Repository("kubernetes") with { Components = ["contrib"] }, "amd64", Timeout()));
        Assert.Contains("has no component 'contrib' (it has main)", noComponent.Message, StringComparison.Ordinal);
        var noArch = await Assert.ThrowsAsync<AirgapException>(() => client.LoadAsync(repo.Repository("kubernetes"), "arm64", Timeout()));
        Assert.Contains("has no arm64 packages", noArch.Message, StringComparison.Ordinal);
    }
}
