using System.Collections.Concurrent;
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
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Func<string, bool> _pathMatches;
    private readonly long _bytesBeforeCut;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly LoopbackHttpListener _listener;
    private int _cutsLeft;
    private int _cutsDone;

    private CuttingProxy((string Host, int Port) target, Func<string, bool> pathMatches, int cutCount, long bytesBeforeCut)
    {
        (_targetHost, _targetPort) = target;
        _pathMatches = pathMatches;
        _cutsLeft = cutCount;
        _bytesBeforeCut = bytesBeforeCut;
        _listener = LoopbackHttpListener.Start(HandleAsync);
    }

    /// <param name="target">"host:port" of the real server, e.g. <see cref="RegistryServer.Host"/>.</param>
    /// <param name="pathMatches">Which request targets (path and query) may be cut, e.g. p =&gt; p.Contains("/blobs/").</param>
    /// <param name="cutCount">How many responses to cut before passing everything intact.</param>
    /// <param name="bytesBeforeCut">Body bytes forwarded before the cut (the head is always forwarded whole).</param>
    public static CuttingProxy Start(string target, Func<string, bool> pathMatches, int cutCount = 1, long bytesBeforeCut = 1024) =>
        new(HttpForwarding.ParseTarget(target, nameof(target)), pathMatches, cutCount, bytesBeforeCut);

    public int Port => _listener.Port;

    public string Host => _listener.Host;

    public Uri BaseUri => _listener.BaseUri;

    public int CutsDone => Volatile.Read(ref _cutsDone);

    /// <summary>Response body bytes passed on to clients so far: what a client downloaded through the proxy.</summary>
    public long BodyBytes => Interlocked.Read(ref _bodyBytes);

    private long _bodyBytes;

    public int CutsLeft => Math.Max(0, Volatile.Read(ref _cutsLeft));

    /// <summary>One line per proxied request: "GET /v2/... range=bytes=10- -> 206" plus " CUT@K" when cut.</summary>
    public IReadOnlyList<string> RequestLog => _log.ToArray();

    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    private async Task HandleAsync(TcpClient client, CancellationToken ct)
    {
        using var upstream = new TcpClient();
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
            await HttpForwarding.SendRequestAsync(request, fromClient, upstreamStream, ct).ConfigureAwait(false);
            var (response, status) = await HttpForwarding.ReadFinalResponseAsync(fromUpstream, clientStream, ct).ConfigureAwait(false);
            if (response is null)
            {
                return;
            }

            var noBody = HttpForwarding.HasNoBody(method, status);
            var cut = !noBody && method == "GET" && (status is 200 or 206)
                      && (response.ContentLength is not { } len || len > _bytesBeforeCut)
                      && _pathMatches(target) && TakeCut();
            _log.Enqueue($"{method} {target} range={request.Header("Range") ?? "-"} -> {status}{(cut ? $" CUT@{_bytesBeforeCut}" : "")}");

            await clientStream.WriteAsync(response.Raw, ct).ConfigureAwait(false);
            var complete = await fromUpstream.CopyBodyAsync(response, isResponse: true, noBody,
                d =>
                {
                    Interlocked.Add(ref _bodyBytes, d.Length);
                    return clientStream.WriteAsync(d, ct).AsTask();
                }, cut ? _bytesBeforeCut : null, ct).ConfigureAwait(false);
            if (cut || !complete)
            {
                await clientStream.FlushAsync(ct).ConfigureAwait(false);
                client.Client.Shutdown(SocketShutdown.Both);
                Interlocked.Increment(ref _cutsDone);
                return;
            }
            if (HttpForwarding.EndsConnection(request, response, noBody))
            {
                return;
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
