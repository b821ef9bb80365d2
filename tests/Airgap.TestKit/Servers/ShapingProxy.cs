using System.Diagnostics;
using System.Net.Sockets;
using Airgap.TestKit.Infrastructure;

namespace Airgap.TestKit;

/// <summary>How a <see cref="ShapingProxy"/> makes loopback look like a far, throttled link.</summary>
public sealed record ShapingOptions
{
    /// <summary>Added before each HTTP request is passed on: one round trip per request, as a far mirror costs.</summary>
    public TimeSpan RequestDelay { get; init; }

    /// <summary>Added once per new client connection (the TCP handshake's round trip); in TCP mode the only delay.</summary>
    public TimeSpan ConnectDelay { get; init; }

    /// <summary>Bytes per second each connection may move in each direction; 0 for no cap.</summary>
    public long PerConnectionBytesPerSecond { get; init; }

    /// <summary>Bytes per second all connections together may move in each direction; 0 for no cap.</summary>
    public long TotalBytesPerSecond { get; init; }

    /// <summary>False: forward raw bytes (SSH and anything else), shaping bandwidth and connects only.</summary>
    public bool Http { get; init; } = true;
}

/// <summary>
/// A loopback proxy that shapes traffic like a long, throttled link: a fixed delay per HTTP request (the
/// round trip a far mirror costs every request), a delay per new connection, and bandwidth caps per
/// connection and in total, each direction on its own (a full-duplex link). In HTTP mode requests are
/// forwarded one by one as <see cref="FaultProxy"/> does; in TCP mode bytes pass through unparsed.
/// </summary>
/// <remarks>
/// The caps are kept on a virtual clock, not a token bucket that fills while idle: each slice of bytes
/// reserves its send time on the connection's and the total's clocks, so a transfer of B bytes takes
/// B ÷ cap however the timer rounds (a late wake-up is made up from a few milliseconds of slack, never
/// more), and an idle connection earns no burst.
/// </remarks>
public sealed class ShapingProxy : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly ShapingOptions _options;
    private readonly ShapedLink? _link;
    private readonly LoopbackHttpListener _listener;
    private long _bytesDown;
    private long _bytesUp;
    private int _connections;
    private int _requests;

    private ShapingProxy((string Host, int Port) target, ShapingOptions options, ShapedLink? link)
    {
        (_targetHost, _targetPort) = target;
        _options = options;
        _link = link ?? (options.TotalBytesPerSecond > 0 ? new ShapedLink(options.TotalBytesPerSecond) : null);
        _listener = LoopbackHttpListener.Start(options.Http ? HandleHttpAsync : HandleTcpAsync);
    }

    /// <param name="target">"host:port" of the real server, e.g. <see cref="RegistryServer.Host"/>.</param>
    /// <param name="link">
    /// The total cap to share with other proxies (one link in front of several servers, e.g. a jump host's
    /// uplink to many nodes); null for this proxy's own, from <see cref="ShapingOptions.TotalBytesPerSecond"/>.
    /// </param>
    public static ShapingProxy Start(string target, ShapingOptions options, ShapedLink? link = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.PerConnectionBytesPerSecond < 0 || options.TotalBytesPerSecond < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "a bandwidth cap is 0 (none) or positive");
        }
        if (options.RequestDelay < TimeSpan.Zero || options.ConnectDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "a delay is 0 or positive");
        }
        return new ShapingProxy(HttpForwarding.ParseTarget(target, nameof(target)), options, link);
    }

    public int Port => _listener.Port;

    public string Host => _listener.Host;

    public Uri BaseUri => _listener.BaseUri;

    public ShapingOptions Options => _options;

    /// <summary>Bytes passed from the server to clients (response heads and bodies, or raw bytes in TCP mode).</summary>
    public long BytesDown => Interlocked.Read(ref _bytesDown);

    /// <summary>Bytes passed from clients to the server.</summary>
    public long BytesUp => Interlocked.Read(ref _bytesUp);

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>HTTP requests forwarded (each paid <see cref="ShapingOptions.RequestDelay"/>); 0 in TCP mode.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    // One monotonic clock for every proxy, so proxies sharing a ShapedLink book on the same time line.
    private static double Now => (double)Stopwatch.GetTimestamp() / Stopwatch.Frequency;

    private (Pacer? Down, Pacer? Up) ConnectionPacers() =>
        _options.PerConnectionBytesPerSecond > 0
            ? (new Pacer(_options.PerConnectionBytesPerSecond), new Pacer(_options.PerConnectionBytesPerSecond))
            : (null, null);

    private async Task HandleHttpAsync(TcpClient client, CancellationToken ct)
    {
        // A client that tries TLS first (skopeo with --tls-verify=false, then falls back to plain HTTP) gets
        // the server's own answer to its handshake, passed through, rather than a proxy waiting for a head.
        var first = new byte[1];
        if (await client.Client.ReceiveAsync(first, SocketFlags.Peek, ct).ConfigureAwait(false) == 1 && first[0] == 0x16)
        {
            await HandleTcpAsync(client, ct).ConfigureAwait(false);
            return;
        }
        Interlocked.Increment(ref _connections);
        var (down, up) = ConnectionPacers();
        await DelayAsync(_options.ConnectDelay, ct).ConfigureAwait(false);
        TcpClient? upstream = null;
        try
        {
            client.NoDelay = true;
            var clientStream = client.GetStream();
            var fromClient = new HttpWireReader(clientStream);
            HttpWireReader? fromUpstream = null;
            Func<ReadOnlyMemory<byte>, Task> toClient = d => SendAsync(clientStream, d, down, _link?.Down, ref _bytesDown, ct);
            while (!ct.IsCancellationRequested)
            {
                var request = await fromClient.ReadHeadAsync(ct).ConfigureAwait(false);
                if (request is null)
                {
                    return;
                }
                Interlocked.Increment(ref _requests);
                await DelayAsync(_options.RequestDelay, ct).ConfigureAwait(false);
                // The round trip just waited is idle time on this connection, not credit for a burst.
                down?.Restart(Now);
                up?.Restart(Now);
                if (upstream is null)
                {
                    upstream = new TcpClient { NoDelay = true };
                    await upstream.ConnectAsync(_targetHost, _targetPort, ct).ConfigureAwait(false);
                    fromUpstream = new HttpWireReader(upstream.GetStream());
                }
                var upstreamStream = upstream.GetStream();
                Func<ReadOnlyMemory<byte>, Task> toUpstream = d => SendAsync(upstreamStream, d, up, _link?.Up, ref _bytesUp, ct);
                await toUpstream(request.Raw).ConfigureAwait(false);
                await fromClient.CopyBodyAsync(request, isResponse: false, noBody: false, toUpstream, null, ct).ConfigureAwait(false);

                // Interim answers (100 Continue) pass unshaped: they are a few bytes.
                var (response, status) = await HttpForwarding.ReadFinalResponseAsync(fromUpstream!, clientStream, ct).ConfigureAwait(false);
                if (response is null)
                {
                    return;
                }
                var noBody = HttpForwarding.HasNoBody(request.Parts.First, status);
                await toClient(response.Raw).ConfigureAwait(false);
                await fromUpstream!.CopyBodyAsync(response, isResponse: true, noBody, toClient, null, ct).ConfigureAwait(false);
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

    private async Task HandleTcpAsync(TcpClient client, CancellationToken ct)
    {
        Interlocked.Increment(ref _connections);
        var (down, up) = ConnectionPacers();
        await DelayAsync(_options.ConnectDelay, ct).ConfigureAwait(false);
        using var upstream = new TcpClient { NoDelay = true };
        client.NoDelay = true;
        await upstream.ConnectAsync(_targetHost, _targetPort, ct).ConfigureAwait(false);
        using var pumping = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var clientStream = client.GetStream();
        var upstreamStream = upstream.GetStream();
        var toServer = PumpAsync(clientStream, upstream.Client, upstreamStream, up, _link?.Up, isDown: false, pumping.Token);
        var toClient = PumpAsync(upstreamStream, client.Client, clientStream, down, _link?.Down, isDown: true, pumping.Token);
        // Either side closing ends the other direction once its last bytes are through (half-close passed on).
        var first = await Task.WhenAny(toServer, toClient).ConfigureAwait(false);
        if (first.IsFaulted)
        {
            await pumping.CancelAsync().ConfigureAwait(false);
        }
        try
        {
            await Task.WhenAll(toServer, toClient).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(Stream from, Socket toSocket, Stream to, Pacer? connection, Pacer? total, bool isDown, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var n = await from.ReadAsync(buffer, ct).ConfigureAwait(false);
            if (n == 0)
            {
                toSocket.Shutdown(SocketShutdown.Send);
                return;
            }
            if (isDown)
            {
                await SendAsync(to, buffer.AsMemory(0, n), connection, total, ref _bytesDown, ct).ConfigureAwait(false);
            }
            else
            {
                await SendAsync(to, buffer.AsMemory(0, n), connection, total, ref _bytesUp, ct).ConfigureAwait(false);
            }
        }
    }

    private Task SendAsync(Stream to, ReadOnlyMemory<byte> data, Pacer? connection, Pacer? total, ref long counter, CancellationToken ct)
    {
        Interlocked.Add(ref counter, data.Length);
        return connection is null && total is null ? to.WriteAsync(data, ct).AsTask() : PacedSendAsync(to, data, connection, total, ct);
    }

    /// <summary>
    /// Writes in slices of up to 50 ms of the connection's cap: each slice first waits for its connection's
    /// clock, then takes its place on the total's. Slices are that large because timers here wake 15–20 ms
    /// late on a busy machine (measured): with small slices the wake-ups, not the caps, would set the rate.
    /// </summary>
    private async Task PacedSendAsync(Stream to, ReadOnlyMemory<byte> data, Pacer? connection, Pacer? total, CancellationToken ct)
    {
        var slice = (int)Math.Clamp((connection ?? total)!.BytesPerSecond / 20, 16 * 1024, 256 * 1024);
        while (!data.IsEmpty)
        {
            var n = Math.Min(slice, data.Length);
            if (connection is not null)
            {
                await WaitUntilAsync(connection.ReadyAt(Now), ct).ConfigureAwait(false);
            }
            var start = total?.Reserve(Now, n) ?? Now;
            connection?.Reserve(start, n);
            await WaitUntilAsync(start, ct).ConfigureAwait(false);
            await to.WriteAsync(data[..n], ct).ConfigureAwait(false);
            data = data[n..];
        }
    }

    private static async Task WaitUntilAsync(double at, CancellationToken ct)
    {
        var wait = at - Now;
        if (wait > 0.001)
        {
            await Task.Delay(TimeSpan.FromSeconds(wait), ct).ConfigureAwait(false);
        }
    }

    private static Task DelayAsync(TimeSpan delay, CancellationToken ct) => delay > TimeSpan.Zero ? Task.Delay(delay, ct) : Task.CompletedTask;

}

/// <summary>A total bandwidth cap, each direction on its own, that several <see cref="ShapingProxy"/> instances can share.</summary>
public sealed class ShapedLink
{
    public ShapedLink(long bytesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        Down = new Pacer(bytesPerSecond);
        Up = new Pacer(bytesPerSecond);
    }

    internal Pacer Down { get; }

    internal Pacer Up { get; }
}

/// <summary>One direction of one link (a connection, or all of them) on a virtual clock in seconds.</summary>
internal sealed class Pacer(long bytesPerSecond)
{
    // A sender that wakes up to this late still gets the time its link was booked for, so lateness is made
    // up instead of lost; a link idle for longer starts afresh and earns no burst. Timers here woke 20-100 ms
    // late at load 20 on 2 cores, and the whole process once stalled 0.92 s (traced), hence a second. An HTTP
    // connection's clock restarts at every request (Restart), so a round trip is never made up as a burst.
    private const double CatchUp = 1.0;
    private readonly Lock _lock = new();
    private double _nextFree;

    public long BytesPerSecond => bytesPerSecond;

    /// <summary>When the link could start the next slice, given the time now.</summary>
    public double ReadyAt(double now)
    {
        lock (_lock)
        {
            return Start(now);
        }
    }

    /// <summary>Books <paramref name="bytes"/> on the link no earlier than <paramref name="earliest"/>; returns their start.</summary>
    public double Reserve(double earliest, int bytes)
    {
        lock (_lock)
        {
            var start = Start(earliest);
            _nextFree = start + (double)bytes / bytesPerSecond;
            return start;
        }
    }

    /// <summary>Forgets unused time: what follows (a new request after a round trip) cannot make up for it.</summary>
    public void Restart(double now)
    {
        lock (_lock)
        {
            _nextFree = Math.Max(_nextFree, now);
        }
    }

    private double Start(double earliest) => _nextFree >= earliest - CatchUp ? _nextFree : earliest;
}
