using System.Net;
using System.Net.Sockets;

namespace Airgap.Clusters;

/// <summary>
/// The built-in load balancer: a TCP forwarder on a worker (127.0.0.1:6443) to every control plane's
/// API server. TLS passes through untouched (the API servers' certificates name the endpoint). A
/// backend that refuses or does not answer within the connect timeout is passed over for a while,
/// and the connection tries the next one, so a control plane that is down costs one timeout, once.
/// This is kubespray's localhost load balancer with nothing to install: the node already has airgap.
/// </summary>
public sealed class ApiServerProxy(IPEndPoint listen, IReadOnlyList<DnsEndPoint> backends, IProgressSink log)
{
    private readonly DateTime[] downUntil = new DateTime[backends.Count];
    private int next;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan PassOver { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Bound address; with port 0 the one the system chose.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    public async Task RunAsync(CancellationToken ct)
    {
        if (backends.Count == 0) throw new AirgapException("apiserver-proxy needs at least one --backend HOST:PORT");
        var listener = new TcpListener(listen);
        try
        {
            listener.Start(512);
        }
        catch (SocketException e)
        {
            throw new AirgapException($"apiserver-proxy cannot listen on {listen}: {e.Message}", e);
        }
        LocalEndPoint = (IPEndPoint)listener.LocalEndpoint;
        log.Info($"apiserver-proxy: {LocalEndPoint} → {string.Join(", ", backends.Select(b => $"{b.Host}:{b.Port}"))}");
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(ct).ConfigureAwait(false);
                _ = ServeAsync(client, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            listener.Stop();
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        using (client)
        {
            using var upstream = await ConnectAsync(ct).ConfigureAwait(false);
            if (upstream is null) return;
            client.NoDelay = upstream.NoDelay = true;
            await using var a = client.GetStream();
            await using var b = upstream.GetStream();
            using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
            // When one side ends, the other is closed too: a half-open API watch must not linger.
            await Task.WhenAny(PumpAsync(a, b, done.Token), PumpAsync(b, a, done.Token)).ConfigureAwait(false);
            await done.CancelAsync().ConfigureAwait(false);
        }
    }

    private static async Task PumpAsync(Stream from, Stream to, CancellationToken ct)
    {
        try
        {
            await from.CopyToAsync(to, 64 * 1024, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Round robin over the backends that are not passed over; all of them when every one is.</summary>
    private async Task<TcpClient?> ConnectAsync(CancellationToken ct)
    {
        var start = Interlocked.Increment(ref next);
        for (var pass = 0; pass < 2; pass++)
        {
            for (var k = 0; k < backends.Count; k++)
            {
                var i = (int)((uint)(start + k) % (uint)backends.Count);
                if (pass == 0 && downUntil[i] > DateTime.UtcNow) continue;
                var backend = backends[i];
                var client = new TcpClient();
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(ConnectTimeout);
                try
                {
                    await client.ConnectAsync(backend.Host, backend.Port, timeout.Token).ConfigureAwait(false);
                    if (downUntil[i] != default)
                    {
                        downUntil[i] = default;
                        log.Info($"apiserver-proxy: {backend.Host}:{backend.Port} answers again");
                    }
                    return client;
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
                {
                    client.Dispose();
                    if (downUntil[i] <= DateTime.UtcNow) log.Warn($"apiserver-proxy: {backend.Host}:{backend.Port} does not answer ({e.Message}); passing it over for {PassOver.TotalSeconds:0} s");
                    downUntil[i] = DateTime.UtcNow + PassOver;
                }
            }
        }
        return null;
    }
}
