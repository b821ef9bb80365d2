using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Airgap.TestKit.Infrastructure;

namespace Airgap.TestKit;

/// <summary>One request as a <see cref="FaultProxy"/> saw it.</summary>
/// <param name="At">When the request head had arrived, on the proxy's monotonic clock (time since start).</param>
/// <param name="Injected">True when the proxy answered itself instead of forwarding.</param>
public sealed record ProxiedRequest(TimeSpan At, string Method, string Target, int Status, bool Injected, string? RetryAfter);

/// <summary>
/// A loopback HTTP/1.1 proxy (the client talks to it as if it were the server) that answers the first N
/// requests matching a predicate itself, with e.g. 429 + Retry-After: 1 (rate limiting, as Docker Hub does)
/// or 503 (an overloaded mirror), and forwards everything else byte for byte. Records every request with
/// a timestamp so tests can check that clients waited before retrying.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Func<string, string, bool> _matches;
    private readonly int _status;
    private readonly string? _retryAfter;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, Task> _connections = new();
    private readonly ConcurrentQueue<ProxiedRequest> _log = new();
    private readonly Task _acceptLoop;
    private int _faultsLeft;
    private int _faultsDone;
    private int _nextConnection;

    private FaultProxy(string targetHost, int targetPort, Func<string, string, bool> matches, int count, int status, string? retryAfter)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _matches = matches;
        _faultsLeft = count;
        _status = status;
        _retryAfter = retryAfter;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    /// <param name="target">"host:port" of the real server, e.g. <see cref="RegistryServer.Host"/>.</param>
    /// <param name="matches">Which requests (method, target = path and query) may get a fault, e.g. (m, p) =&gt; p.Contains("/manifests/").</param>
    /// <param name="count">How many matching requests get the fault before everything passes; <see cref="int.MaxValue"/> for forever.</param>
    /// <param name="status">The status of the injected answer: 429, 500, 502, 503 …</param>
    /// <param name="retryAfter">The Retry-After header value ("1", or an HTTP date), or null for none.</param>
    public static FaultProxy Start(string target, Func<string, string, bool> matches, int count = 1, int status = 429, string? retryAfter = "1")
    {
        var colon = target.LastIndexOf(':');
        if (colon <= 0)
        {
            throw new ArgumentException("Expected host:port", nameof(target));
        }
        if (status is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "a fault is a 4xx or 5xx status");
        }
        return new FaultProxy(target[..colon], int.Parse(target[(colon + 1)..], CultureInfo.InvariantCulture), matches, count, status,
            retryAfter);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Host => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public Uri BaseUri => new($"http://{Host}/");

    public int FaultsDone => Volatile.Read(ref _faultsDone);

    /// <summary>Every request so far, in arrival order.</summary>
    public IReadOnlyList<ProxiedRequest> Requests => _log.ToArray();

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
        TcpClient? upstream = null;
        HttpWireReader? fromUpstream = null;
        using (client)
        {
            try
            {
                client.NoDelay = true;
                var clientStream = client.GetStream();
                var fromClient = new HttpWireReader(clientStream);
                while (!ct.IsCancellationRequested)
                {
                    var request = await fromClient.ReadHeadAsync(ct).ConfigureAwait(false);
                    if (request is null)
                    {
                        return;
                    }
                    var at = _clock.Elapsed;
                    var (method, target) = request.Parts;

                    if (_matches(method, target) && TakeFault())
                    {
                        // Read the request body so the connection stays usable, then answer in the server's place.
                        await fromClient.CopyBodyAsync(request, isResponse: false, noBody: false, _ => Task.CompletedTask, null, ct)
                            .ConfigureAwait(false);
                        _log.Enqueue(new ProxiedRequest(at, method, target, _status, Injected: true, _retryAfter));
                        await clientStream.WriteAsync(FaultResponse(method, request.WantsClose), ct).ConfigureAwait(false);
                        if (request.WantsClose)
                        {
                            return;
                        }
                        continue;
                    }

                    if (upstream is null)
                    {
                        upstream = new TcpClient { NoDelay = true };
                        await upstream.ConnectAsync(_targetHost, _targetPort, ct).ConfigureAwait(false);
                        fromUpstream = new HttpWireReader(upstream.GetStream());
                    }
                    var upstreamStream = upstream.GetStream();
                    await upstreamStream.WriteAsync(request.Raw, ct).ConfigureAwait(false);
                    await fromClient.CopyBodyAsync(request, isResponse: false, noBody: false,
                        d => upstreamStream.WriteAsync(d, ct).AsTask(), null, ct).ConfigureAwait(false);

                    HttpHead? response;
                    int status;
                    do
                    {
                        response = await fromUpstream!.ReadHeadAsync(ct).ConfigureAwait(false);
                        if (response is null)
                        {
                            return;
                        }
                        status = int.Parse(response.Parts.Second, CultureInfo.InvariantCulture);
                        await clientStream.WriteAsync(response.Raw, ct).ConfigureAwait(false);
                    }
                    while (status < 200);

                    _log.Enqueue(new ProxiedRequest(at, method, target, status, Injected: false, null));
                    var noBody = method == "HEAD" || status is 204 or 304;
                    await fromUpstream.CopyBodyAsync(response, isResponse: true, noBody,
                        d => clientStream.WriteAsync(d, ct).AsTask(), null, ct).ConfigureAwait(false);
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
            finally
            {
                upstream?.Dispose();
            }
        }
    }

    private byte[] FaultResponse(string method, bool close)
    {
        var (reason, code, message) = _status switch
        {
            429 => ("Too Many Requests", "TOOMANYREQUESTS", "You have reached your pull rate limit (injected by the test kit)"),
            500 => ("Internal Server Error", "UNKNOWN", "internal error (injected by the test kit)"),
            502 => ("Bad Gateway", "UNAVAILABLE", "bad gateway (injected by the test kit)"),
            503 => ("Service Unavailable", "UNAVAILABLE", "service unavailable (injected by the test kit)"),
            504 => ("Gateway Timeout", "UNAVAILABLE", "gateway timeout (injected by the test kit)"),
            _ => ("Error", "UNKNOWN", "error injected by the test kit"),
        };
        var body = Encoding.UTF8.GetBytes($"{{\"errors\":[{{\"code\":\"{code}\",\"message\":\"{message}\"}}]}}\n");
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {_status} {reason}\r\n")
            .Append("Content-Type: application/json; charset=utf-8\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n")
            .Append(_retryAfter is null ? "" : $"Retry-After: {_retryAfter}\r\n")
            .Append(close ? "Connection: close\r\n" : "")
            .Append("\r\n");
        var bytes = Encoding.ASCII.GetBytes(head.ToString());
        return method == "HEAD" ? bytes : [.. bytes, .. body];
    }

    private bool TakeFault()
    {
        while (true)
        {
            var left = Volatile.Read(ref _faultsLeft);
            if (left <= 0)
            {
                return false;
            }
            // int.MaxValue means forever: never count it down.
            if (left == int.MaxValue || Interlocked.CompareExchange(ref _faultsLeft, left - 1, left) == left)
            {
                Interlocked.Increment(ref _faultsDone);
                return true;
            }
        }
    }
}
