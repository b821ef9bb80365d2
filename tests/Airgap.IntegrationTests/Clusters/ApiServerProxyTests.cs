using System.Net;
using System.Net.Sockets;
using System.Text;
using Airgap.Clusters;

namespace Airgap.IntegrationTests.Clusters;

/// <summary>The built-in load balancer with real sockets on 127.0.0.1: backends that answer, one that is down.</summary>
public sealed class ApiServerProxyTests
{
    /// <summary>A backend that greets each connection with its name, then echoes.</summary>
    private sealed class Backend : IAsyncDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource stop = new();
        private readonly Task loop;

        public Backend(string name)
        {
            listener.Start();
            loop = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    TcpClient client;
                    try { client = await listener.AcceptTcpClientAsync(stop.Token); } catch (OperationCanceledException) { return; }
                    _ = Task.Run(async () =>
                    {
                        using (client)
                        {
                            var stream = client.GetStream();
                            await stream.WriteAsync(Encoding.ASCII.GetBytes(name + "\n"));
                            var buffer = new byte[1024];
                            int n;
                            try
                            {
                                while ((n = await stream.ReadAsync(buffer)) > 0) await stream.WriteAsync(buffer.AsMemory(0, n));
                            }
                            catch (IOException) { }
                        }
                    });
                }
            });
        }

        public DnsEndPoint EndPoint => new("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port);

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            await loop;
        }
    }

    private static async Task<string> AskAsync(IPEndPoint proxy, string message)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(proxy);
        var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var greeting = await reader.ReadLineAsync();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(message + "\n"));
        return $"{greeting}:{await reader.ReadLineAsync()}";
    }

    private static int DeadPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public async Task Connections_are_spread_over_the_backends_both_ways_and_a_dead_one_is_passed_over()
    {
        await using var a = new Backend("a");
        await using var b = new Backend("b");
        var progress = new RecordingProgress();
        var proxy = new ApiServerProxy(new IPEndPoint(IPAddress.Loopback, 0), [a.EndPoint, new DnsEndPoint("127.0.0.1", DeadPort()), b.EndPoint], progress)
        {
            ConnectTimeout = TimeSpan.FromSeconds(1),
        };
        using var stop = new CancellationTokenSource();
        var running = proxy.RunAsync(stop.Token);
        while (proxy.LocalEndPoint is null) await Task.Delay(10);

        var answers = new List<string>();
        for (var i = 0; i < 6; i++) answers.Add(await AskAsync(proxy.LocalEndPoint, $"hello {i}"));

        Assert.All(answers.Select((answer, i) => (answer, i)), x => Assert.EndsWith($":hello {x.i}", x.answer));
        Assert.Contains(answers, x => x.StartsWith("a:", StringComparison.Ordinal));
        Assert.Contains(answers, x => x.StartsWith("b:", StringComparison.Ordinal));
        Assert.Single(progress.Warnings, w => w.Contains("does not answer", StringComparison.Ordinal) && w.Contains("passing it over for 10 s", StringComparison.Ordinal));

        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task With_every_backend_down_the_client_is_closed_not_left_hanging()
    {
        var proxy = new ApiServerProxy(new IPEndPoint(IPAddress.Loopback, 0), [new DnsEndPoint("127.0.0.1", DeadPort())], new RecordingProgress());
        using var stop = new CancellationTokenSource();
        var running = proxy.RunAsync(stop.Token);
        while (proxy.LocalEndPoint is null) await Task.Delay(10);

        using var client = new TcpClient();
        await client.ConnectAsync(proxy.LocalEndPoint);
        var read = await client.GetStream().ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(0, read);
        await stop.CancelAsync();
        await running;
    }
}
