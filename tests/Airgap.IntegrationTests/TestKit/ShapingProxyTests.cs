using System.Diagnostics;
using System.Net.Sockets;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.TestKit;

/// <summary>
/// The bench's figures are only as good as the proxy's shaping: a download through it must take bytes ÷ cap
/// (plus the delays asked for) within 5 %, one connection or many sharing the total. Alone, not beside other
/// test classes: server, proxy and clients share this process, and a starved thread pool (measured: 40 % slow
/// with the push tests beside it and an e2e on the machine) would time the process, not the proxy.
/// </summary>
[Collection(Name)]
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ShapingProxyTests : IAsyncLifetime
{
    public const string Name = "shaping proxy timing";
    private const long MB = 1_000_000;
    private readonly string _root = Directory.CreateTempSubdirectory("shaping-").FullName;
    private StaticHttpServer _server = null!;

    public async Task InitializeAsync()
    {
        var bytes = new byte[8 * MB];
        new Random(11).NextBytes(bytes);
        await File.WriteAllBytesAsync(Path.Combine(_root, "big"), bytes);
        await File.WriteAllBytesAsync(Path.Combine(_root, "part"), bytes[..(int)(2 * MB)]);
        await File.WriteAllTextAsync(Path.Combine(_root, "small"), "x");
        _server = StaticHttpServer.Start(_root);

        // Warm up the server's and the proxy's code and the HTTP stack: a cold process spends hundreds of
        // milliseconds compiling on its first request, which is not what these tests time.
        await using var warm = ShapingProxy.Start(_server.Host, new ShapingOptions { PerConnectionBytesPerSecond = 100 * MB, TotalBytesPerSecond = 100 * MB });
        using var client = new HttpClient { BaseAddress = warm.BaseUri };
        await client.GetByteArrayAsync("part");
        await RawGetAsync(warm.Port, "part");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public Task One_large_download_takes_bytes_over_the_connection_cap() => AssertShapedAsync(expected: 8.0 / 4, async () =>
    {
        await using var proxy = ShapingProxy.Start(_server.Host, new ShapingOptions
        {
            RequestDelay = TimeSpan.FromMilliseconds(80),
            PerConnectionBytesPerSecond = 4 * MB,
            TotalBytesPerSecond = 40 * MB,
        });

        var (first, last, length) = await RawGetAsync(proxy.Port, "big");

        Assert.InRange(length, 8 * MB, 8 * MB + 1024); // the body and the response head
        Assert.Equal(1, proxy.Requests);
        // From the first byte to the last: the round trip before it is the next test's.
        return last - first;
    });

    [Fact]
    public Task Parallel_downloads_share_the_total_cap() => AssertShapedAsync(expected: 8.0 / 4, async () =>
    {
        await using var proxy = ShapingProxy.Start(_server.Host, new ShapingOptions
        {
            PerConnectionBytesPerSecond = 4 * MB,
            TotalBytesPerSecond = 4 * MB,
        });

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => RawGetAsync(proxy.Port, "part")));

        Assert.All(results, r => Assert.InRange(r.Length, 2 * MB, 2 * MB + 1024));
        Assert.Equal(4, proxy.Connections);
        // 4 × 2 MB through one 4 MB/s link, though each connection alone could go at 4 MB/s: from the first
        // byte to arrive to the last (the server's own time to answer on a busy machine is not the link's).
        return results.Max(r => r.Last) - results.Min(r => r.First);
    });

    [Fact]
    public Task Every_request_pays_the_round_trip_and_a_new_connection_one_more() => AssertShapedAsync(expected: 6 * 0.08, async () =>
    {
        await using var proxy = ShapingProxy.Start(_server.Host, new ShapingOptions
        {
            RequestDelay = TimeSpan.FromMilliseconds(80),
            ConnectDelay = TimeSpan.FromMilliseconds(80),
        });
        using var client = new HttpClient { BaseAddress = proxy.BaseUri };

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("x", await client.GetStringAsync("small"));
        }

        // One connection (kept alive): its handshake and five requests, never less; timers wake a few ms late
        // each (more on a busy machine), hence the looser upper bound.
        Assert.Equal(1, proxy.Connections);
        Assert.Equal(5, proxy.Requests);
        return clock.Elapsed.TotalSeconds;
    }, slower: 0.15);

    [Fact]
    public Task Tcp_mode_passes_raw_bytes_at_the_cap() => AssertShapedAsync(expected: 2.0 / 4, async () =>
    {
        await using var proxy = ShapingProxy.Start(_server.Host, new ShapingOptions
        {
            PerConnectionBytesPerSecond = 4 * MB,
            Http = false,
        });
        var (first, last, received) = await RawGetAsync(proxy.Port, "part");

        Assert.Equal(0, proxy.Requests);
        Assert.InRange(received, 2 * MB, 2 * MB + 1024); // the body and the response head
        return last - first;
    });

    /// <summary>A GET on a raw connection; when its first and last bytes arrived (seconds on the monotonic clock) and how many.</summary>
    private static Task<(double First, double Last, long Length)> RawGetAsync(int port, string path) => Task.Run(async () =>
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port).ConfigureAwait(false);
        var stream = tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET /{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).ConfigureAwait(false);
        var received = 0L;
        var first = 0.0;
        var buffer = new byte[65536];
        int n;
        while ((n = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            if (received == 0)
            {
                first = Seconds();
            }
            received += n;
        }
        return (first, Seconds(), received);
    });

    private static double Seconds() => (double)Stopwatch.GetTimestamp() / Stopwatch.Frequency;

    /// <summary>
    /// A shaped transfer timed within 5 % of <paramref name="expected"/> (<paramref name="slower"/> above it for
    /// timer-bound cases). Faster than that is the proxy letting too much through and fails at once; slower can
    /// also be a starved test process on a loaded machine (CPU, not the proxy), so it is measured again, up to
    /// three times, and fails only if every try was slow.
    /// </summary>
    private static async Task AssertShapedAsync(double expected, Func<Task<double>> measure, double slower = 0.05)
    {
        var tries = new List<double>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var seconds = await measure();
            Assert.True(seconds >= expected * 0.95, $"took {seconds:0.000} s, faster than the shaping allows ({expected:0.000} s - 5 %)");
            if (seconds <= expected * (1 + slower)) return;
            tries.Add(seconds);
        }
        Assert.Fail($"took {string.Join(", ", tries.Select(t => t.ToString("0.000")))} s in {tries.Count} tries, expected {expected:0.000} s + {slower:P0}");
    }
}
