using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Airgap.IntegrationTests.Build;
using Airgap.TestKit;
using Airgap.TestKit.Infrastructure;

namespace Airgap.IntegrationTests.Serve;

/// <summary>`airgap serve` as a real process: skopeo, containerd and plain HTTP clients pull from it.</summary>
public sealed class ServeTests(BuildFixture fixture) : IClassFixture<BuildFixture>
{
    /// <summary>A running `airgap serve`, stopped and removed at dispose.</summary>
    private sealed class Served(ServerProcess process, int port, string log) : IAsyncDisposable
    {
        public string Host => $"127.0.0.1:{port}";
        public int Pid => process.Id;
        public string Log => File.Exists(log) ? File.ReadAllText(log) : "";
        public ValueTask DisposeAsync() => process.DisposeAsync();
    }

    private static async Task<Served> ServeAsync(string bundle, TempDir dir, params string[] extra)
    {
        var port = Net.FreeLoopbackPort();
        var log = Path.Combine(dir.Path, $"serve-{port}.log");
        var process = ServerProcess.Start(AirgapCli.Executable, ["serve", bundle, "--address", $"127.0.0.1:{port}", .. extra], log);
        var served = new Served(process, port, log);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        using var http = new HttpClient(handler);
        var scheme = extra.Contains("--tls-san") ? "https" : "http";
        while (true)
        {
            try
            {
                if ((await http.GetAsync($"{scheme}://127.0.0.1:{port}/v2/")).StatusCode == HttpStatusCode.OK) return served;
            }
            catch (HttpRequestException) { }
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                await served.DisposeAsync();
                throw new InvalidOperationException("airgap serve did not answer:\n" + process.Tail());
            }
            await Task.Delay(100);
        }
    }

    private static async Task<string> RawDigestAsync(string reference)
    {
        var r = await ProcessRunner.RunAsync("skopeo", ["inspect", "--raw", "--tls-verify=false", $"docker://{reference}"]);
        Assert.True(r.Succeeded, r.ToString());
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(r.Stdout)));
    }

    [Fact]
    public async Task Serves_a_split_bundle_from_its_parts()
    {
        using var dir = new TempDir();
        var copy = Path.Combine(dir.Sub("parts"), Path.GetFileName(fixture.BundlePath));
        File.Copy(fixture.BundlePath, copy);
        var split = await fixture.Cli.RunAsync("split", copy, "--size", (new FileInfo(copy).Length / 4 + 3).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(split.Succeeded, split.ToString());
        File.Delete(copy);
        await using var served = await ServeAsync(copy + ".part-001", dir);

        foreach (var image in fixture.Set.All)
            Assert.Equal(image.Digest, await RawDigestAsync($"{served.Host}/{BuildFixture.CanonicalOf(image)}"));
        // Every blob of an image, read out of the parts and checked by skopeo against its digest.
        var copied = await ProcessRunner.RunAsync("skopeo", ["copy", "--src-tls-verify=false", $"docker://{served.Host}/k8s.gcr.io/etcd:3.4.13-0", $"oci:{dir.Sub("oci")}:etcd"]);
        Assert.True(copied.Succeeded, copied.ToString());
    }

    [Fact]
    public async Task Serves_every_image_by_tag_and_digest_with_upstream_digests_to_skopeo_and_plain_http()
    {
        using var dir = new TempDir();
        await using var served = await ServeAsync(fixture.BundlePath, dir);

        foreach (var image in fixture.Set.All)
        {
            var canonical = BuildFixture.CanonicalOf(image);
            var name = canonical[..canonical.LastIndexOf(':')];
            Assert.Equal(image.Digest, await RawDigestAsync($"{served.Host}/{canonical}"));
            Assert.Equal(image.Digest, await RawDigestAsync($"{served.Host}/{name}@{image.Digest}"));
            Assert.Equal(image.PlatformDigest("amd64"), await RawDigestAsync($"{served.Host}/{name}@{image.PlatformDigest("amd64")}"));
        }
        // Without the registry part, as a containerd mirror without path rewriting asks.
        Assert.Equal(fixture.Set.Find("kube-apiserver").Digest, await RawDigestAsync($"{served.Host}/kube-apiserver:v1.20.2"));

        var copy = await ProcessRunner.RunAsync("skopeo", ["copy", "--src-tls-verify=false", $"docker://{served.Host}/k8s.gcr.io/etcd:3.4.13-0", $"oci:{dir.Sub("copied")}:etcd"]);
        Assert.True(copy.Succeeded, copy.ToString());

        using var http = new HttpClient { BaseAddress = new Uri($"http://{served.Host}/") };
        using (var catalog = JsonDocument.Parse(await http.GetStringAsync("v2/_catalog")))
            Assert.Equal(8, catalog.RootElement.GetProperty("repositories").GetArrayLength());
        using (var tags = JsonDocument.Parse(await http.GetStringAsync("v2/k8s.gcr.io/pause/tags/list")))
            Assert.Equal(["3.2"], tags.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        var (layer, size) = fixture.Set.BlobsFor("amd64").MaxBy(b => b.Value);
        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"v2/k8s.gcr.io/etcd/blobs/{layer}"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(size, head.Content.Headers.ContentLength);
        var whole = await http.GetByteArrayAsync($"v2/k8s.gcr.io/etcd/blobs/{layer}");
        Assert.Equal(layer, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(whole)));
        var ranged = new HttpRequestMessage(HttpMethod.Get, $"v2/k8s.gcr.io/etcd/blobs/{layer}");
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(100, 199);
        using var part = await http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(whole[100..200], await part.Content.ReadAsByteArrayAsync());

        using var put = await http.PutAsync("v2/k8s.gcr.io/pause/manifests/3.3", new ByteArrayContent([]));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, put.StatusCode);
        using var unknown = await http.GetAsync("v2/k8s.gcr.io/pause/manifests/9.9");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("MANIFEST_UNKNOWN", await unknown.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Containerd_pulls_over_tls_with_the_ca_given_by_tag_and_by_either_digest_and_runs_it()
    {
        using var dir = new TempDir();
        var ca = Path.Combine(dir.Path, "ca.crt");
        await using var served = await ServeAsync(fixture.BundlePath, dir, "--tls-san", "127.0.0.1", "--tls-ca-out", ca);
        await using var containerd = await ContainerdServer.StartAsync();
        var pause = fixture.Set.Find("pause");

        // containerd's hosts.toml, as a node's /etc/containerd/certs.d holds it: HTTPS (ctr would try plain HTTP
        // on a loopback address otherwise) and the CA airgap serve made.
        async Task<string> HostsDirAsync(string name, string extra)
        {
            var root = Path.Combine(dir.Path, name);
            Directory.CreateDirectory(Path.Combine(root, served.Host));
            await File.WriteAllTextAsync(Path.Combine(root, served.Host, "hosts.toml"), $"""
                server = "https://{served.Host}"
                [host."https://{served.Host}"]
                  capabilities = ["pull", "resolve"]
                {extra}
                """);
            return root;
        }
        var hosts = await HostsDirAsync("certs.d", $"  ca = \"{ca}\"");
        foreach (var reference in new[] { $"{served.Host}/k8s.gcr.io/pause:3.2", $"{served.Host}/k8s.gcr.io/pause@{pause.Digest}", $"{served.Host}/k8s.gcr.io/pause@{pause.PlatformDigest("amd64")}" })
        {
            var pull = await containerd.CtrAsync("-n", "k8s.io", "images", "pull", "--hosts-dir", hosts, reference);
            Assert.True(pull.exit == 0, reference + ": " + pull.stderr + served.Log);
        }
        // Without the CA the certificate is refused.
        var bare = await HostsDirAsync("bare.d", "");
        // Every image of the bundle, by tag, as a node's mirror would fetch them.
        foreach (var image in fixture.Set.All)
        {
            var pull = await containerd.CtrAsync("-n", "k8s.io", "images", "pull", "--hosts-dir", hosts, $"{served.Host}/{BuildFixture.CanonicalOf(image)}");
            Assert.True(pull.exit == 0, BuildFixture.CanonicalOf(image) + ": " + pull.stderr);
        }
        var untrusted = await containerd.CtrAsync("-n", "k8s.io", "images", "pull", "--hosts-dir", bare, $"{served.Host}/k8s.gcr.io/etcd:3.4.13-0");
        Assert.NotEqual(0, untrusted.exit);
        Assert.True(untrusted.stderr.Contains("x509", StringComparison.Ordinal), untrusted.stderr);

        var run = await containerd.RunAsync($"{served.Host}/k8s.gcr.io/pause@{pause.Digest}", "airgap-serve-" + Guid.NewGuid().ToString("N")[..8], ["/bin/busybox", "echo", "pulled from airgap serve"]);
        Assert.True(run.exit == 0, run.stderr + containerd.LogTail());
        Assert.Contains("pulled from airgap serve", run.stdout);
    }

    [Fact]
    public async Task Twenty_concurrent_pulls_of_every_blob_keep_its_memory_flat()
    {
        using var dir = new TempDir();
        await using var served = await ServeAsync(fixture.BundlePath, dir);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{served.Host}/") };
        var blobs = fixture.Set.BlobsFor("amd64").Keys.ToList();
        async Task PullAllAsync()
        {
            foreach (var blob in blobs)
            {
                var bytes = await http.GetByteArrayAsync($"v2/k8s.gcr.io/etcd/blobs/{blob}");
                Assert.Equal(blob, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)));
            }
        }
        await PullAllAsync();
        var before = Rss(served.Pid);
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => PullAllAsync()));
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => PullAllAsync()));
        var after = Rss(served.Pid);
        Assert.True(after - before < 48L * 1024 * 1024, $"RSS grew from {before >> 20} MiB to {after >> 20} MiB over 40 concurrent pulls");
    }

    private static long Rss(int pid) =>
        long.Parse(File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;

    [Fact]
    public async Task A_tampered_blob_is_refused_by_name_while_the_rest_is_served_and_a_busy_port_is_one_line()
    {
        using var dir = new TempDir();
        var (tampered, layer) = await fixture.TamperedCopyAsync(dir.Path);
        await using var served = await ServeAsync(tampered, dir);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{served.Host}/") };

        using var bad = await http.GetAsync($"v2/k8s.gcr.io/etcd/blobs/{layer}");
        Assert.Equal(HttpStatusCode.InternalServerError, bad.StatusCode);
        Assert.Contains($"blob {layer} is damaged", served.Log);
        var other = fixture.Set.BlobsFor("amd64").Keys.First(k => k != layer);
        using var good = await http.GetAsync($"v2/k8s.gcr.io/etcd/blobs/{other}");
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);

        var busy = await fixture.Cli.RunAsync("serve", fixture.BundlePath, "--address", served.Host);
        Assert.Equal(1, busy.ExitCode);
        Assert.Equal($"error: cannot listen on {served.Host}: the address is already in use; stop what listens there or pick another --address", busy.Stderr.Trim());
    }
}
