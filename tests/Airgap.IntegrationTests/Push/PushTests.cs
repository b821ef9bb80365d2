using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Airgap.IntegrationTests.Build;
using Airgap.IntegrationTests.Clusters;
using Airgap.Oci;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Push;

/// <summary>
/// `airgap push` into Debian's docker-registry — open, behind htpasswd, behind the test kit's token
/// service (Harbor's scheme) — with digests compared by skopeo against the registry the bundle came from.
/// </summary>
public sealed class PushTests(BuildFixture fixture) : IClassFixture<BuildFixture>
{
    private static async Task<string> RawDigestAsync(string reference, params string[] auth)
    {
        var r = await ProcessRunner.RunAsync("skopeo", ["inspect", "--raw", "--tls-verify=false", .. auth, $"docker://{reference}"]);
        Assert.True(r.Succeeded, r.ToString());
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(r.Stdout)));
    }

    /// <summary>Every image of the set, under its canonical name in the bundle.</summary>
    private IEnumerable<(string Canonical, Airgap.TestKit.PushedImage Source)> Images() => fixture.Set.All.Select(i => (BuildFixture.CanonicalOf(i), i));

    [Fact]
    public async Task Pushes_every_image_with_upstream_digests_and_a_second_push_moves_no_blob()
    {
        await using var site = await RegistryServer.StartAsync();
        var first = await fixture.Cli.RunAsync("push", fixture.BundlePath, "--registry", $"{site.Host}/mirror", "-o", "json");
        Assert.True(first.Succeeded, first.ToString());
        using (var doc = JsonDocument.Parse(first.Stdout))
        {
            Assert.Equal(8, doc.RootElement.GetProperty("images").GetArrayLength());
            Assert.True(doc.RootElement.GetProperty("blobsSent").GetInt32() > 0);
        }

        // Debian's docker-registry (distribution 2.8, as Harbor) refuses an index whose other platforms it
        // lacks: the tag then names the amd64 manifest, byte for byte the source registry's (Docker or OCI).
        Assert.Contains("refuses the 2-platform index without the platforms this bundle does not carry", first.Stderr);
        foreach (var (canonical, source) in Images())
        {
            var name = canonical[..canonical.LastIndexOf(':')];
            var platform = source.PlatformDigest("amd64");
            var upstream = await ProcessRunner.RunAsync("skopeo", ["inspect", "--raw", "--tls-verify=false", "--override-arch", "amd64", $"docker://{fixture.Registry.Host}/{source.Reference.Split(':')[0]}@{platform}"]);
            Assert.True(upstream.Succeeded, upstream.ToString());
            Assert.Equal(platform, await RawDigestAsync($"{site.Host}/mirror/{canonical}"));
            Assert.Equal(platform, await RawDigestAsync($"{site.Host}/mirror/{name}@{platform}"));
        }

        // The second push, through a recording proxy: HEADs only, not one upload.
        await using var recorder = FaultProxy.Start(site.Host, (_, _) => false, count: 0);
        var second = await fixture.Cli.RunAsync("push", fixture.BundlePath, "--registry", $"{recorder.Host}/mirror", "-o", "json");
        Assert.True(second.Succeeded, second.ToString());
        using (var doc = JsonDocument.Parse(second.Stdout))
            Assert.Equal(0, doc.RootElement.GetProperty("blobsSent").GetInt32());
        Assert.DoesNotContain(recorder.Requests, r => r.Target.Contains("/blobs/uploads/", StringComparison.Ordinal));
        Assert.Contains(recorder.Requests, r => r.Method == "HEAD");
    }

    [Fact]
    public async Task Single_platform_images_docker_and_oci_keep_their_manifest_digest_through_bundle_push_and_serve()
    {
        // Tags that point at one manifest, not a list: one Docker-typed, one OCI-typed.
        var docker = SampleImages.BuildSample("solo-docker", "1.0", ManifestFormat.Docker, ["amd64"]).Images[0];
        var oci = SampleImages.BuildSample("solo-oci", "1.0", ManifestFormat.Oci, ["amd64"]).Images[0];
        using (var pusher = fixture.Registry.CreatePusher())
        {
            await pusher.PushImageAsync("solo/docker", "1.0", docker);
            await pusher.PushImageAsync("solo/oci", "1.0", oci);
        }
        using var dir = new TempDir();
        var build = await fixture.Cli.RunAsync(fixture.BuildArgs(dir.Sub("out"), "--image", $"{fixture.Registry.Host}/solo/docker:1.0", "--image", $"{fixture.Registry.Host}/solo/oci:1.0"));
        Assert.True(build.Succeeded, build.ToString());
        var bundle = Directory.GetFiles(Path.Combine(dir.Path, "out"), "*.tar").Single();

        var inspect = await fixture.Cli.RunAsync("inspect", bundle, "-o", "json");
        using (var doc = JsonDocument.Parse(inspect.Stdout))
        {
            var images = doc.RootElement.GetProperty("images").EnumerateArray().ToList();
            var solo = images.Single(i => i.GetProperty("name").GetString() == $"{fixture.Registry.Host}/solo/docker:1.0");
            Assert.Equal(docker.Digest, solo.GetProperty("digest").GetString());
            Assert.Equal("application/vnd.docker.distribution.manifest.v2+json", solo.GetProperty("mediaType").GetString());
            Assert.False(solo.TryGetProperty("indexDigest", out var none) && none.ValueKind != JsonValueKind.Null);
        }

        await using var site = await RegistryServer.StartAsync();
        var push = await fixture.Cli.RunAsync("push", bundle, "--registry", site.Host);
        Assert.True(push.Succeeded, push.ToString());
        // A registry with a port is spelled 127.0.0.1-PORT in a repository path (a colon is not allowed there).
        var spelled = fixture.Registry.Host.Replace(':', '-');
        Assert.Equal(docker.Digest, await RawDigestAsync($"{site.Host}/{spelled}/solo/docker:1.0"));
        Assert.Equal(oci.Digest, await RawDigestAsync($"{site.Host}/{spelled}/solo/oci:1.0"));
        Assert.Equal(docker.Digest, await RawDigestAsync($"{fixture.Registry.Host}/solo/docker:1.0"));
        Assert.Equal(oci.Digest, await RawDigestAsync($"{fixture.Registry.Host}/solo/oci:1.0"));

        // serve answers the same names, both spellings.
        using var served = new TempDir();
        var port = Airgap.TestKit.Infrastructure.Net.FreeLoopbackPort();
        await using var serve = Airgap.TestKit.Infrastructure.ServerProcess.Start(AirgapCli.Executable, ["serve", bundle, "--address", $"127.0.0.1:{port}"], Path.Combine(served.Path, "serve.log"));
        for (var i = 0; i < 100 && !(await ProcessRunner.RunAsync("skopeo", ["inspect", "--raw", "--tls-verify=false", $"docker://127.0.0.1:{port}/{spelled}/solo/oci:1.0"])).Succeeded; i++) await Task.Delay(100);
        Assert.Equal(oci.Digest, await RawDigestAsync($"127.0.0.1:{port}/{spelled}/solo/oci:1.0"));
        Assert.Equal(docker.Digest, await RawDigestAsync($"127.0.0.1:{port}/{spelled}/solo/docker:1.0"));
    }

    [Fact]
    public async Task Flat_names_suit_kubeadm_s_image_repository_and_a_clash_is_refused()
    {
        await using var site = await RegistryServer.StartAsync();
        var result = await fixture.Cli.RunAsync("push", fixture.BundlePath, "--registry", $"{site.Host}/k8s", "--flat");
        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains($"{site.Host}/k8s/kube-apiserver:v1.20.2  {fixture.Set.Find("kube-apiserver").PlatformDigest("amd64")}", result.Stdout);
        Assert.Equal(fixture.Set.Find("flannel").PlatformDigest("amd64"), await RawDigestAsync($"{site.Host}/k8s/flannel:v0.13.0"));

        var clash = new RegistryMapping("h", "p", Flat: true);
        var e = Assert.Throws<AirgapException>(() => clash.Plan([ImageReference.Parse("k8s.gcr.io/pause:3.2"), ImageReference.Parse("registry.k8s.io/pause:3.2")]));
        Assert.Equal("k8s.gcr.io/pause:3.2 and registry.k8s.io/pause:3.2 would both be pushed as h/p/pause:3.2; drop --flat so each keeps its full path", e.Message);
    }

    [Fact]
    public async Task Pushes_into_a_registry_behind_htpasswd_and_refuses_wrong_credentials_in_one_line()
    {
        await using var site = await RegistryServer.StartAsync(new RegistryOptions { Credentials = new("site", "s3cret") });
        var ok = await fixture.Cli.RunAsync("push", fixture.BundlePath, "--registry", site.Host, "--username", "site", "--password", "s3cret");
        Assert.True(ok.Succeeded, ok.ToString());
        Assert.Equal(fixture.Set.Find("etcd").PlatformDigest("amd64"), await RawDigestAsync($"{site.Host}/k8s.gcr.io/etcd:3.4.13-0", "--creds", "site:s3cret"));

        var wrong = await fixture.Cli.RunAsync("push", fixture.BundlePath, "--registry", site.Host, "--username", "site", "--password", "nope");
        Assert.Equal(1, wrong.ExitCode);
        var line = Assert.Single(wrong.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.StartsWith($"error: registry {site.Host} denied access to", line);
        Assert.DoesNotContain("nope", wrong.Stdout + wrong.Stderr);
    }

    [Fact]
    public async Task Pushes_through_a_token_service_as_harbor_has_and_mounts_shared_blobs()
    {
        var pusher = new TokenUser("ci", "ci-secret", CanPush: true);
        var reader = new TokenUser("viewer", "viewer-secret");
        await using var site = await RegistryServer.StartAsync(new RegistryOptions { TokenAuth = new TokenAuthOptions { Users = [pusher, reader], KeyHint = TokenKeyHint.X5cChain } });
        await using var recorder = FaultProxy.Start(site.Host, (_, _) => false, count: 0);

        var ok = await fixture.Cli.RunAsync("push", fixture.BundlePath, "--registry", $"{recorder.Host}/library", "--username", pusher.Username, "--password", pusher.Password, "-o", "json");
        Assert.True(ok.Succeeded, ok.ToString());
        Assert.Equal(fixture.Set.Find("kube-proxy").PlatformDigest("amd64"), await RawDigestAsync($"{recorder.Host}/library/k8s.gcr.io/kube-proxy:v1.20.2", "--creds", "ci:ci-secret"));
        // The base layer all images share went up once and was mounted into the other repositories.
        Assert.Contains(recorder.Requests, r => r.Method == "POST" && r.Target.Contains("mount=", StringComparison.Ordinal) && r.Status == 201);

        var denied = await fixture.Cli.RunAsync("push", fixture.BundlePath, "--registry", $"{site.Host}/other", "--username", reader.Username, "--password", reader.Password);
        Assert.Equal(1, denied.ExitCode);
        Assert.StartsWith($"error: registry {site.Host} denied access to other/", Assert.Single(denied.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error: ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Chunked_uploads_continue_where_the_registry_stopped_after_a_failed_chunk()
    {
        await using var site = await RegistryServer.StartAsync();
        // The second and third PATCH are answered 503 by the proxy: the client asks the registry how far it got and continues.
        var patches = 0;
        await using var proxy = FaultProxy.Start(site.Host, (method, _) => method == "PATCH" && Interlocked.Increment(ref patches) is 2 or 3, count: 2, status: 503, retryAfter: null);
        using var client = new RegistryClient(new RegistryClientOptions { UploadChunkSize = 64 * 1024, RetryBaseDelay = TimeSpan.FromMilliseconds(10) });
        var progress = new RecordingProgress();

        var report = await BundlePush.RunAsync(fixture.BundlePath, RegistryMapping.Parse(proxy.Host, flat: false), client, progress, default);

        Assert.Equal(2, proxy.FaultsDone);
        Assert.Contains(proxy.Requests, r => r.Method == "GET" && r.Target.Contains("/blobs/uploads/", StringComparison.Ordinal));
        Assert.True(report.Copy.BlobsSent > 0);
        foreach (var (canonical, source) in Images())
            Assert.Equal(source.PlatformDigest("amd64"), await RawDigestAsync($"{site.Host}/{canonical}"));
        var layer = fixture.Set.BlobsFor("amd64").MaxBy(b => b.Value);
        Assert.True(layer.Value > 4 * 64 * 1024, $"the biggest layer ({layer.Value} bytes) must span chunks");
    }

    [Fact]
    public async Task The_bundle_is_read_in_place_and_a_tampered_blob_is_refused_by_name_before_it_leaves()
    {
        using var dir = new TempDir();
        using (var index = await Airgap.Bundles.BundleIndex.OpenAsync(fixture.BundlePath, default))
        {
            var sums = Airgap.Bundles.BundleReader.ParseSums(fixture.BundlePath, await File.ReadAllTextAsync(await ExtractSumsAsync()));
            Assert.Equal(sums.Count + 1, index.Members.Count);
            foreach (var member in index.Members.Where(m => m.Name != "SHA256SUMS"))
                Assert.True(await index.HasSha256Async(member, sums[member.Name], default), member.Name);
        }

        var (tampered, layer) = await fixture.TamperedCopyAsync(dir.Path);
        await using var site = await RegistryServer.StartAsync();
        var result = await fixture.Cli.RunAsync("push", tampered, "--registry", site.Host);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {tampered}: blob {layer} is damaged (its bytes do not hash to its name); the bundle is corrupt, copy it again", result.Stderr.Trim().Split('\n')[^1]);

        async Task<string> ExtractSumsAsync()
        {
            var r = await ProcessRunner.RunAsync("tar", ["-xf", fixture.BundlePath, "-C", dir.Path, "SHA256SUMS"]);
            Assert.True(r.Succeeded, r.ToString());
            return Path.Combine(dir.Path, "SHA256SUMS");
        }
    }

    [Fact]
    public async Task An_unreachable_registry_and_a_bad_registry_flag_are_one_line_each()
    {
        var port = Airgap.TestKit.Infrastructure.Net.FreeLoopbackPort();
        var closed = await fixture.Cli.RunAsync("push", fixture.BundlePath, "--registry", $"127.0.0.1:{port}");
        Assert.Equal(1, closed.ExitCode);
        Assert.Equal($"error: cannot reach registry 127.0.0.1:{port}: connection refused", closed.Stderr.Trim().Split('\n')[^1]);

        var scheme = await fixture.Cli.RunAsync("push", fixture.BundlePath, "--registry", "https://harbor.example/library");
        Assert.Equal("error: --registry https://harbor.example/library: give HOST[:PORT][/PREFIX] without a scheme (--plain-http for a registry without TLS)", scheme.Stderr.Trim());
    }
}
