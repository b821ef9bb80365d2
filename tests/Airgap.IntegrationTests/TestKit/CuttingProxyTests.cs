using System.Net;
using System.Net.Http.Headers;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.TestKit;

public sealed class CuttingProxyTests
{
    [Fact]
    public async Task Proxy_cuts_the_first_blob_download_then_passes_everything()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var registry = await RegistryServer.StartAsync(cancellationToken: cts.Token);
        using var pusher = registry.CreatePusher();
        var blob = new byte[300_000];
        new Random(7).NextBytes(blob);
        var digest = Digests.Sha256(blob);
        await pusher.PushBlobAsync("cut/test", blob, cts.Token);

        await using var proxy = CuttingProxy.Start(registry.Host, p => p.Contains("/blobs/", StringComparison.Ordinal), cutCount: 1,
            bytesBeforeCut: 100_000);
        using var client = new HttpClient { BaseAddress = proxy.BaseUri };

        // HEAD and non-blob requests are never cut.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("v2/", cts.Token)).StatusCode);
        using (var head = new HttpRequestMessage(HttpMethod.Head, $"v2/cut/test/blobs/{digest}"))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(head, cts.Token)).StatusCode);
        }

        // First download: the head arrives whole, the body stops after 100 000 bytes.
        var partial = new MemoryStream();
        using (var response = await client.GetAsync($"v2/cut/test/blobs/{digest}", HttpCompletionOption.ResponseHeadersRead, cts.Token))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(blob.Length, response.Content.Headers.ContentLength);
            var body = await response.Content.ReadAsStreamAsync(cts.Token);
            await Assert.ThrowsAnyAsync<IOException>(() => body.CopyToAsync(partial, cts.Token));
        }
        Assert.Equal(100_000, partial.Length);
        Assert.Equal(1, proxy.CutsDone);

        // Resume with Range: the rest comes through intact and the bytes add up to the digest.
        using (var resume = new HttpRequestMessage(HttpMethod.Get, $"v2/cut/test/blobs/{digest}"))
        {
            resume.Headers.Range = new RangeHeaderValue(partial.Length, null);
            using var response = await client.SendAsync(resume, cts.Token);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            await (await response.Content.ReadAsStreamAsync(cts.Token)).CopyToAsync(partial, cts.Token);
        }
        Assert.Equal(digest, Digests.Sha256(partial.ToArray()));

        var whole = await client.GetByteArrayAsync($"v2/cut/test/blobs/{digest}", cts.Token);
        Assert.Equal(blob, whole);
        Assert.Equal(1, proxy.CutsDone);
        Assert.Contains(proxy.RequestLog, l => l.EndsWith("CUT@100000", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pushes_pass_through_the_proxy()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var registry = await RegistryServer.StartAsync(cancellationToken: cts.Token);
        await using var proxy = CuttingProxy.Start(registry.Host, _ => false, cutCount: 0);
        using var pusher = new RegistryPusher(proxy.Host);
        var set = await SampleImages.PushKubernetesSetAsync(pusher, arches: ["amd64"], cancellationToken: cts.Token);
        Assert.Equal(0, proxy.CutsDone);
        foreach (var digest in set.UniqueBlobs.Keys)
        {
            Assert.True(File.Exists(registry.BlobDataPath(digest)));
        }
    }
}
