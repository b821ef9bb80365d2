using Airgap.Artifacts;
using Airgap.Oci;
using Airgap.Packages;
using Airgap.Packages.Profiles;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Packages;

/// <summary>Mirror fallback and --k8s-repo layout detection against a real HTTP server on loopback.</summary>
public sealed class RepositorySelectorTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private StaticHttpServer _server = null!;
    private FileDownloader _downloads = null!;

    public Task InitializeAsync()
    {
        var root = _dir.Sub("www");
        Directory.CreateDirectory(Path.Combine(root, "legacy/dists/kubernetes-xenial"));
        File.WriteAllText(Path.Combine(root, "legacy/dists/kubernetes-xenial/Release"), "Suite: kubernetes-xenial\n");
        Directory.CreateDirectory(Path.Combine(root, "flat"));
        File.WriteAllText(Path.Combine(root, "flat/InRelease"), "-----BEGIN PGP SIGNED MESSAGE-----\n");
        Directory.CreateDirectory(Path.Combine(root, "empty"));
        _server = StaticHttpServer.Start(root);
        _downloads = new FileDownloader(new BlobCache(_dir.Sub("cache")), NullProgress.Instance) { MaxAttempts = 1 };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _downloads.Dispose();
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Detects_the_legacy_and_the_per_minor_apt_layouts()
    {
        var selector = new RepositorySelector(_downloads, NullProgress.Instance);
        Assert.Equal(KubernetesRepositoryLayout.Legacy, await selector.DetectLayoutAsync(new Uri(_server.BaseUri, "legacy/"), RepositoryKind.Apt, default));
        Assert.Equal(KubernetesRepositoryLayout.PerMinor, await selector.DetectLayoutAsync(new Uri(_server.BaseUri, "flat/"), RepositoryKind.Apt, default));
        var e = await Assert.ThrowsAsync<AirgapException>(() => selector.DetectLayoutAsync(new Uri(_server.BaseUri, "empty/"), RepositoryKind.Apt, default));
        Assert.Contains("neither dists/kubernetes-xenial/", e.Message);
    }

    [Fact]
    public async Task Takes_the_first_mirror_that_answers_and_names_every_one_tried_when_none_does()
    {
        var down = new Uri($"http://127.0.0.1:{Airgap.TestKit.Infrastructure.Net.FreeLoopbackPort()}/");
        PackageRepository Repo(Uri url) => new("kubernetes", RepositoryKind.Apt, url, "kubernetes-xenial", ["main"], null);
        var selector = new RepositorySelector(_downloads, NullProgress.Instance);
        var chosen = await selector.ChooseAsync(
            [new RepositoryChoice("kubernetes", [Repo(down), Repo(new Uri(_server.BaseUri, "empty/")), Repo(new Uri(_server.BaseUri, "legacy/"))])], default);
        Assert.Equal(new Uri(_server.BaseUri, "legacy/"), chosen.Single().BaseUrl);

        var e = await Assert.ThrowsAsync<AirgapException>(() => selector.ChooseAsync(
            [new RepositoryChoice("kubernetes", [Repo(down), Repo(new Uri(_server.BaseUri, "empty/"))])], default));
        Assert.Contains("unreachable at every mirror", e.Message);
        Assert.Contains(down.ToString(), e.Message);
        Assert.Contains("empty/ (404)", e.Message);
    }
}
