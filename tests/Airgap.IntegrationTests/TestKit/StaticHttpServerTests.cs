using System.Net;
using System.Net.Http.Headers;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.TestKit;

public sealed class StaticHttpServerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("airgap-static-test-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Serves_files_heads_ranges_and_404s()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_root, "release", "v1.20.2", "bin", "linux", "amd64")).FullName;
        var data = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();
        await File.WriteAllBytesAsync(Path.Combine(dir, "kubeadm"), data);
        await File.WriteAllTextAsync(Path.Combine(dir, "kubeadm.sha256"), Digests.Hex(Digests.Sha256(data)));
        await File.WriteAllTextAsync(Path.Combine(_root, "..", "outside.txt"), "secret");

        await using var server = StaticHttpServer.Start(_root);
        using var client = new HttpClient { BaseAddress = server.BaseUri };
        const string path = "release/v1.20.2/bin/linux/amd64/kubeadm";

        Assert.Equal(data, await client.GetByteArrayAsync(path));
        Assert.Equal(Digests.Hex(Digests.Sha256(data)), await client.GetStringAsync(path + ".sha256"));

        using (var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path)))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(data.Length, head.Content.Headers.ContentLength);
        }

        using (var range = new HttpRequestMessage(HttpMethod.Get, path))
        {
            range.Headers.Range = new RangeHeaderValue(9_000, null);
            using var response = await client.SendAsync(range);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(data[9_000..], await response.Content.ReadAsByteArrayAsync());
            Assert.Equal("bytes 9000-9999/10000", response.Content.Headers.ContentRange?.ToString());
        }

        using (var beyond = new HttpRequestMessage(HttpMethod.Get, path))
        {
            beyond.Headers.Range = new RangeHeaderValue(20_000, null);
            Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await client.SendAsync(beyond)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("release/missing")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("release/v1.20.2")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("%2e%2e/outside.txt")).StatusCode);
        File.Delete(Path.Combine(_root, "..", "outside.txt"));
    }
}
