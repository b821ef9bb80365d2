using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Airgap.TestKit.Infrastructure;

/// <summary>
/// The accept loop under the test kit's hand-written HTTP/1.1 servers and proxies. A raw TcpListener binds
/// 127.0.0.1:0 directly, so unlike HttpListener there is no race for a port number. Each connection runs on
/// its own task; a peer going away (I/O, socket, parse errors, cancellation) ends only that connection.
/// Disposing stops accepting, cancels every connection and waits for them.
/// </summary>
internal sealed class LoopbackHttpListener : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<TcpClient, CancellationToken, Task> _handle;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, Task> _connections = new();
    private readonly Task _acceptLoop;
    private int _nextConnection;

    private LoopbackHttpListener(Func<TcpClient, CancellationToken, Task> handle)
    {
        _handle = handle;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Hands every accepted connection to <paramref name="handleConnection"/>, which owns it until it returns.</summary>
    public static LoopbackHttpListener Start(Func<TcpClient, CancellationToken, Task> handleConnection) => new(handleConnection);

    /// <summary>
    /// Serves requests one after another on each connection: reads a head, drains any request body so the
    /// next request parses, and lets <paramref name="respond"/> write the answer (with "Connection: close"
    /// when its keepAlive argument is false, after which the connection ends).
    /// </summary>
    public static LoopbackHttpListener StartServer(Func<NetworkStream, HttpHead, bool, CancellationToken, Task> respond) =>
        new(async (client, ct) =>
        {
            var stream = client.GetStream();
            var reader = new HttpWireReader(stream);
            while (!ct.IsCancellationRequested)
            {
                var request = await reader.ReadHeadAsync(ct).ConfigureAwait(false);
                if (request is null)
                {
                    return;
                }
                await reader.CopyBodyAsync(request, isResponse: false, noBody: false, _ => Task.CompletedTask, null, ct).ConfigureAwait(false);
                var keepAlive = !request.WantsClose;
                await respond(stream, request, keepAlive, ct).ConfigureAwait(false);
                if (!keepAlive)
                {
                    return;
                }
            }
        });

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Host => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public Uri BaseUri => new($"http://{Host}/");

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
            await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            var id = Interlocked.Increment(ref _nextConnection);
            _connections[id] = Task.Run(() => HandleAsync(id, client));
        }
    }

    private async Task HandleAsync(int id, TcpClient client)
    {
        try
        {
            using (client)
            {
                await _handle(client, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException
                                      or InvalidDataException or FormatException)
        {
            // The peer (or, for a proxy, either side) went away: normal for cancelled downloads, and
            // dropping the connection is what a real server or proxy does too.
        }
        finally
        {
            _connections.TryRemove(id, out _);
        }
    }
}

/// <summary>The steps a loopback proxy takes to pass one request and its answer along unchanged.</summary>
internal static class HttpForwarding
{
    /// <summary>Splits "host:port" as the proxies' Start methods take it.</summary>
    public static (string Host, int Port) ParseTarget(string target, string paramName)
    {
        var colon = target.LastIndexOf(':');
        if (colon <= 0)
        {
            throw new ArgumentException("Expected host:port", paramName);
        }
        return (target[..colon], int.Parse(target[(colon + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>Writes the request head as it came and copies its body from the client to the upstream.</summary>
    public static async Task SendRequestAsync(HttpHead request, HttpWireReader fromClient, Stream upstream, CancellationToken ct)
    {
        await upstream.WriteAsync(request.Raw, ct).ConfigureAwait(false);
        await fromClient.CopyBodyAsync(request, isResponse: false, noBody: false, d => upstream.WriteAsync(d, ct).AsTask(), null, ct)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the upstream's answer, passing interim 1xx heads (100 Continue) straight to the client; returns
    /// the final head, not yet written, or null when the upstream closed first.
    /// </summary>
    public static async Task<(HttpHead? Response, int Status)> ReadFinalResponseAsync(HttpWireReader fromUpstream, Stream client,
        CancellationToken ct)
    {
        while (true)
        {
            var response = await fromUpstream.ReadHeadAsync(ct).ConfigureAwait(false);
            if (response is null)
            {
                return (null, 0);
            }
            var status = int.Parse(response.Parts.Second, CultureInfo.InvariantCulture);
            if (status >= 200)
            {
                return (response, status);
            }
            await client.WriteAsync(response.Raw, ct).ConfigureAwait(false);
        }
    }

    public static bool HasNoBody(string method, int status) => method == "HEAD" || status is 204 or 304;

    /// <summary>Whether the connection cannot carry another request after this exchange.</summary>
    public static bool EndsConnection(HttpHead request, HttpHead response, bool noBody) =>
        request.WantsClose || response.WantsClose || (!noBody && response.ContentLength is null && !response.IsChunked);
}
