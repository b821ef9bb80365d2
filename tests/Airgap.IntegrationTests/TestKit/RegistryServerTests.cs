using System.Net;
using System.Text.Json;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.TestKit;

public sealed class RegistryServerTests(FilledRegistryFixture fixture) : IClassFixture<FilledRegistryFixture>
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    [Fact]
    public async Task Registry_starts_and_holds_the_whole_set()
    {
        var set = fixture.Set;
        Assert.Equal(7, set.Kubernetes.Count);
        Assert.Equal("coreos/flannel", set.Flannel.Repository);
        // One shared base layer per arch, plus config and own layer per image and arch.
        Assert.Equal(2 + (8 * 2 * 2), set.UniqueBlobs.Count);
        Assert.Equal(set.UniqueBlobs.Values.Sum(), set.UniqueBlobBytes);
        Assert.Equal(MediaTypes.OciIndex, set.Find("etcd").MediaType);
        Assert.Equal(MediaTypes.DockerManifestList, set.Find("kube-apiserver").MediaType);

        using var client = fixture.Registry.CreateClient();
        var catalog = await client.GetStringAsync("v2/_catalog", Timeout);
        foreach (var image in set.All)
        {
            Assert.Contains($"\"{image.Repository}\"", catalog, StringComparison.Ordinal);
            using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{image.Repository}/manifests/{image.Tag}");
            request.Headers.Accept.ParseAdd(MediaTypes.DockerManifestList);
            request.Headers.Accept.ParseAdd(MediaTypes.OciIndex);
            using var response = await client.SendAsync(request, Timeout);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(image.Digest, response.Headers.GetValues("Docker-Content-Digest").Single());
        }
        foreach (var digest in set.UniqueBlobs.Keys)
        {
            Assert.True(File.Exists(fixture.Registry.BlobDataPath(digest)), digest);
        }
    }

    [Fact]
    public void Sample_images_are_reproducible()
    {
        var a = SampleImages.BuildSample("kube-proxy", "v1.20.2", ManifestFormat.Docker, ["amd64", "arm64"], extraLayerBytes: 4096);
        var b = SampleImages.BuildSample("kube-proxy", "v1.20.2", ManifestFormat.Docker, ["amd64", "arm64"], extraLayerBytes: 4096);
        Assert.Equal(a.Digest, b.Digest);
        Assert.Equal(a.Images[0].Layers.Select(l => l.Digest), b.Images[0].Layers.Select(l => l.Digest));
        Assert.Equal(fixture.Set.Find("kube-proxy").PlatformDigest("amd64"),
            SampleImages.BuildSample("kube-proxy", "v1.20.2", ManifestFormat.Docker, ["amd64", "arm64"]).Images[0].Digest);
    }

    [Fact]
    public void Extra_layer_is_incompressible_and_sized()
    {
        var layer = ImageFactory.RandomLayer("seed", 1 << 20);
        Assert.InRange(layer.Size, 1 << 20, (1 << 20) + 16 * 1024);
        Assert.InRange(layer.UncompressedSize, 1 << 20, (1 << 20) + 4096);
    }

    [Fact]
    public async Task Skopeo_reads_what_we_pushed()
    {
        var apiserver = fixture.Set.Find("kube-apiserver");
        var raw = await ProcessRunner.RunCheckedAsync("skopeo",
            ["inspect", "--tls-verify=false", $"docker://{fixture.Registry.Host}/google_containers/kube-apiserver:v1.20.2", "--raw"], Timeout);
        Assert.Equal(apiserver.Digest, Digests.Sha256(System.Text.Encoding.UTF8.GetBytes(raw.TrimEnd('\n'))));

        // skopeo resolves the OCI index for arm64 and parses its config: both formats are valid to an independent client.
        var inspect = await ProcessRunner.RunCheckedAsync("skopeo",
            ["inspect", "--tls-verify=false", "--override-os", "linux", "--override-arch", "arm64",
             $"docker://{fixture.Registry.Host}/google_containers/etcd:3.4.13-0"], Timeout);
        using var doc = JsonDocument.Parse(inspect);
        Assert.Equal("arm64", doc.RootElement.GetProperty("Architecture").GetString());
        // skopeo reports the digest the tag points at (the index), and the config of the arm64 image.
        Assert.Equal(fixture.Set.Find("etcd").Digest, doc.RootElement.GetProperty("Digest").GetString());
        Assert.Equal("etcd:3.4.13-0", doc.RootElement.GetProperty("Labels").GetProperty("io.airgap.testkit.image").GetString());
    }

    [Fact]
    public async Task Corrupting_a_stored_blob_is_visible_to_clients()
    {
        // Uses its own registry: the shared one must stay intact for the other tests.
        await using var registry = await RegistryServer.StartAsync(cancellationToken: Timeout);
        using var pusher = registry.CreatePusher();
        var blob = System.Text.Encoding.UTF8.GetBytes("hello blob");
        var digest = Digests.Sha256(blob);
        Assert.True(await pusher.PushBlobAsync("test/blob", blob, Timeout));
        Assert.False(await pusher.PushBlobAsync("test/blob", blob, Timeout));

        await File.WriteAllTextAsync(registry.BlobDataPath(digest), "jello blob", Timeout);
        using var client = registry.CreateClient();
        var served = await client.GetByteArrayAsync($"v2/test/blob/blobs/{digest}", Timeout);
        Assert.NotEqual(digest, Digests.Sha256(served));
    }

    [Fact]
    public async Task Basic_auth_rejects_a_wrong_password()
    {
        var credentials = new RegistryCredentials("alice", "s3cret");
        await using var registry = await RegistryServer.StartAsync(new RegistryOptions { Credentials = credentials }, Timeout);

        using var anonymous = new HttpClient { BaseAddress = registry.BaseUri };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("v2/", Timeout)).StatusCode);
        using var wrong = new RegistryPusher(registry.Host, credentials with { Password = "wrong" });
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => wrong.PushBlobAsync("x/y", [1, 2, 3], Timeout));
        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);

        using var client = registry.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("v2/", Timeout)).StatusCode);
        var set = await SampleImages.PushKubernetesSetAsync(registry, arches: ["amd64"], cancellationToken: Timeout);
        Assert.Equal(8, set.All.Count());
    }

    [Fact]
    public void Flannel_manifest_names_the_image()
    {
        var yaml = SampleImages.FlannelLikeManifest("quay.io/coreos/flannel:v0.13.0");
        Assert.Contains("name: kube-flannel-cfg", yaml, StringComparison.Ordinal);
        Assert.Contains("name: kube-flannel-ds", yaml, StringComparison.Ordinal);
        Assert.Contains("\"Network\": \"10.244.0.0/16\"", yaml, StringComparison.Ordinal);
        Assert.Equal(2, yaml.Split("image: quay.io/coreos/flannel:v0.13.0").Length - 1);
    }
}
