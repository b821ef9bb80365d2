using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Airgap.TestKit.Infrastructure;

namespace Airgap.TestKit;

/// <summary>
/// A loopback HTTP/1.1 proxy (the client talks to it as if it were the server) that cuts the first
/// N matching downloads short: it forwards the response head and the first K body bytes, then closes
/// the connection. Everything else is forwarded byte for byte. Proves that clients resume with Range.
/// </summary>
/// <remarks>
/// Only GET responses with status 200/206 whose body is longer than K (or of unknown length) are
/// eligible, so HEADs, errors and tiny bodies never use up a cut. The close is a FIN after the K bytes
/// were flushed rather than an RST, because an RST may discard bytes still in flight and then the
/// client would not see the partial body it is supposed to resume from.
/// </remarks>
public sealed class CuttingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Func<string, bool> _pathMatches;
    private readonly long _bytesBeforeCut;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, Task> _connections = new();
    private readonly ConcurrentQueue<string> _log = new();
    private readonly Task _acceptLoop;
    private int _cutsLeft;
    private int _cutsDone;
    private int _nextConnection;

    private CuttingProxy(string targetHost, int targetPort, Func<string, bool> pathMatches, int cutCount, long bytesBeforeCut)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _pathMatches = pathMatches;
        _cutsLeft = cutCount;
        _bytesBeforeCut = bytesBeforeCut;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    /// <param name="target">"host:port" of the real server, e.g. <see cref="RegistryServer.Host"/>.</param>
    /// <param name="pathMatches">Which request targets (path and query) may be cut, e.g. p =&gt; p.Contains("/blobs/").</param>
    /// <param name="cutCount">How many responses to cut before passing everything intact.</param>
    /// <param name="bytesBeforeCut">Body bytes forwarded before the cut (the head is always forwarded whole).</param>
    public static CuttingProxy Start(string target, Func<string, bool> pathMatches, int cutCount = 1, long bytesBeforeCut = 1024)
    {
        var colon = target.LastIndexOf(':');
        if (colon <= 0)
        {
            throw new ArgumentException("Expected host:port", nameof(target));
        }
        return new CuttingProxy(target[..colon], int.Parse(target[(colon + 1)..], CultureInfo.InvariantCulture), pathMatches, cutCount,
            bytesBeforeCut);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Host => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public Uri BaseUri => new($"http://{Host}/");

    public int CutsDone => Volatile.Read(ref _cutsDone);

    public int CutsLeft => Math.Max(0, Volatile.Read(ref _cutsLeft));

    /// <summary>One line per proxied request: "GET /v2/... range=bytes=10- -> 206" plus " CUT@K" when cut.</summary>
    public IReadOnlyList<string> RequestLog => _log.ToArray();

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
            _connections[id] = Task.Run(async () =>
            {
                try
                {
                    await HandleAsync(client).ConfigureAwait(false);
                }
                finally
                {
                    _connections.TryRemove(id, out _);
                }
            });
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        var ct = _stop.Token;
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                client.NoDelay = true;
                await upstream.ConnectAsync(_targetHost, _targetPort, ct).ConfigureAwait(false);
                var clientStream = client.GetStream();
                var upstreamStream = upstream.GetStream();
                var fromClient = new HttpWireReader(clientStream);
                var fromUpstream = new HttpWireReader(upstreamStream);
                while (!ct.IsCancellationRequested)
                {
                    var request = await fromClient.ReadHeadAsync(ct).ConfigureAwait(false);
                    if (request is null)
                    {
                        return;
                    }
                    var (method, target) = request.Parts;
                    await upstreamStream.WriteAsync(request.Raw, ct).ConfigureAwait(false);
                    await fromClient.CopyBodyAsync(request, isResponse: false, noBody: false,
                        d => upstreamStream.WriteAsync(d, ct).AsTask(), null, ct).ConfigureAwait(false);

                    HttpHead? response;
                    int status;
                    // Interim 1xx answers (100 Continue) precede the real one.
                    do
                    {
                        response = await fromUpstream.ReadHeadAsync(ct).ConfigureAwait(false);
                        if (response is null)
                        {
                            return;
                        }
                        status = int.Parse(response.Parts.Second, CultureInfo.InvariantCulture);
                        if (status < 200)
                        {
                            await clientStream.WriteAsync(response.Raw, ct).ConfigureAwait(false);
                        }
                    }
                    while (status < 200);

                    var noBody = method == "HEAD" || status is 204 or 304;
                    var cut = !noBody && method == "GET" && (status is 200 or 206)
                              && (response.ContentLength is not { } len || len > _bytesBeforeCut)
                              && _pathMatches(target) && TakeCut();
                    _log.Enqueue($"{method} {target} range={request.Header("Range") ?? "-"} -> {status}{(cut ? $" CUT@{_bytesBeforeCut}" : "")}");

                    await clientStream.WriteAsync(response.Raw, ct).ConfigureAwait(false);
                    var complete = await fromUpstream.CopyBodyAsync(response, isResponse: true, noBody,
                        d => clientStream.WriteAsync(d, ct).AsTask(), cut ? _bytesBeforeCut : null, ct).ConfigureAwait(false);
                    if (cut || !complete)
                    {
                        await clientStream.FlushAsync(ct).ConfigureAwait(false);
                        client.Client.Shutdown(SocketShutdown.Both);
                        Interlocked.Increment(ref _cutsDone);
                        return;
                    }
                    if (request.WantsClose || response.WantsClose || (!noBody && response.ContentLength is null && !response.IsChunked))
                    {
                        return;
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException
                                          or InvalidDataException or FormatException)
            {
                // Either side went away; dropping both ends is what a real proxy does too.
            }
        }
    }

    private bool TakeCut()
    {
        while (true)
        {
            var left = Volatile.Read(ref _cutsLeft);
            if (left <= 0)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _cutsLeft, left - 1, left) == left)
            {
                return true;
            }
        }
    }
}
