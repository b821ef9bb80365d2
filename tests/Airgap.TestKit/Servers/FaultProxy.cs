using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Airgap.TestKit.Infrastructure;

namespace Airgap.TestKit;

/// <summary>One request as a <see cref="FaultProxy"/> saw it.</summary>
/// <param name="At">When the request head had arrived, on the proxy's monotonic clock (time since start).</param>
/// <param name="Injected">True when the proxy answered itself instead of forwarding.</param>
public sealed record ProxiedRequest(TimeSpan At, string Method, string Target, int Status, bool Injected, string? RetryAfter, long RequestBytes = 0);

/// <summary>
/// A loopback HTTP/1.1 proxy (the client talks to it as if it were the server) that answers the first N
/// requests matching a predicate itself, with e.g. 429 + Retry-After: 1 (rate limiting, as Docker Hub does)
/// or 503 (an overloaded mirror), and forwards everything else byte for byte. Records every request with
/// a timestamp so tests can check that clients waited before retrying.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Func<string, string, bool> _matches;
    private readonly int _status;
    private readonly string? _retryAfter;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<ProxiedRequest> _log = new();
    private readonly LoopbackHttpListener _listener;
    private int _faultsLeft;
    private int _faultsDone;

    private FaultProxy((string Host, int Port) target, Func<string, string, bool> matches, int count, int status, string? retryAfter)
    {
        (_targetHost, _targetPort) = target;
        _matches = matches;
        _faultsLeft = count;
        _status = status;
        _retryAfter = retryAfter;
        _listener = LoopbackHttpListener.Start(HandleAsync);
    }

    /// <param name="target">"host:port" of the real server, e.g. <see cref="RegistryServer.Host"/>.</param>
    /// <param name="matches">Which requests (method, target = path and query) may get a fault, e.g. (m, p) =&gt; p.Contains("/manifests/").</param>
    /// <param name="count">How many matching requests get the fault before everything passes; <see cref="int.MaxValue"/> for forever.</param>
    /// <param name="status">The status of the injected answer: 429, 500, 502, 503 …</param>
    /// <param name="retryAfter">The Retry-After header value ("1", or an HTTP date), or null for none.</param>
    public static FaultProxy Start(string target, Func<string, string, bool> matches, int count = 1, int status = 429, string? retryAfter = "1")
    {
        var hostPort = HttpForwarding.ParseTarget(target, nameof(target));
        if (status is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "a fault is a 4xx or 5xx status");
        }
        return new FaultProxy(hostPort, matches, count, status, retryAfter);
    }

    public int Port => _listener.Port;

    public string Host => _listener.Host;

    public Uri BaseUri => _listener.BaseUri;

    public int FaultsDone => Volatile.Read(ref _faultsDone);

    /// <summary>Every request so far, in arrival order.</summary>
    public IReadOnlyList<ProxiedRequest> Requests => _log.ToArray();

    /// <summary>Request body bytes passed on to the server, by their Content-Length, counted as each request starts (a cut one counts whole).</summary>
    public long RequestBodyBytes => Interlocked.Read(ref _requestBodyBytes);

    private long _requestBodyBytes;

    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    private async Task HandleAsync(TcpClient client, CancellationToken ct)
    {
        TcpClient? upstream = null;
        HttpWireReader? fromUpstream = null;
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
                Interlocked.Add(ref _requestBodyBytes, request.ContentLength ?? 0);
                await HttpForwarding.SendRequestAsync(request, fromClient, upstream.GetStream(), ct).ConfigureAwait(false);
                var (response, status) = await HttpForwarding.ReadFinalResponseAsync(fromUpstream!, clientStream, ct).ConfigureAwait(false);
                if (response is null)
                {
                    return;
                }

                _log.Enqueue(new ProxiedRequest(at, method, target, status, Injected: false, null, request.ContentLength ?? 0));
                var noBody = HttpForwarding.HasNoBody(method, status);
                await clientStream.WriteAsync(response.Raw, ct).ConfigureAwait(false);
                await fromUpstream!.CopyBodyAsync(response, isResponse: true, noBody,
                    d => clientStream.WriteAsync(d, ct).AsTask(), null, ct).ConfigureAwait(false);
                if (HttpForwarding.EndsConnection(request, response, noBody))
                {
                    return;
                }
            }
        }
        finally
        {
            upstream?.Dispose();
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
