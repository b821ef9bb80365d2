using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Airgap.TestKit.Infrastructure;

namespace Airgap.TestKit;

/// <summary>
/// A minimal HTTP/1.1 file server over a directory on a loopback port (GET, HEAD, single byte ranges,
/// 404), standing in for dl.k8s.io or a GitHub release mirror. A raw TcpListener binds port 0 directly,
/// so unlike HttpListener there is no race for a port number.
/// </summary>
public sealed class StaticHttpServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _log = new();
    private readonly string _root;
    private readonly LoopbackHttpListener _listener;

    private StaticHttpServer(string rootDirectory)
    {
        _root = Path.GetFullPath(rootDirectory).TrimEnd('/') + "/";
        _listener = LoopbackHttpListener.StartServer(RespondAsync);
    }

    public static StaticHttpServer Start(string rootDirectory)
    {
        if (!Directory.Exists(rootDirectory))
        {
            throw new DirectoryNotFoundException(rootDirectory);
        }
        return new StaticHttpServer(rootDirectory);
    }

    public string RootDirectory => _root.TrimEnd('/');

    public int Port => _listener.Port;

    public string Host => _listener.Host;

    public Uri BaseUri => _listener.BaseUri;

    /// <summary>One line per request, "GET /path range=... -> 206", for asserting what a client fetched.</summary>
    public IReadOnlyList<string> RequestLog => _log.ToArray();

    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    private async Task RespondAsync(NetworkStream stream, HttpHead request, bool keepAlive, CancellationToken ct)
    {
        var (method, target) = request.Parts;
        var range = request.Header("Range");
        if (method is not ("GET" or "HEAD"))
        {
            await SimpleAsync(405, "Method Not Allowed", "Allow: GET, HEAD\r\n").ConfigureAwait(false);
            return;
        }
        var file = Resolve(target);
        if (file is null)
        {
            await SimpleAsync(404, "Not Found", "").ConfigureAwait(false);
            return;
        }

        await using var content = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, useAsync: true);
        var length = content.Length;
        long start = 0;
        var end = length - 1;
        var status = 200;
        var extra = new StringBuilder();
        if (range is not null && TryParseRange(range, length, out var rs, out var re, out var satisfiable))
        {
            if (!satisfiable)
            {
                await SimpleAsync(416, "Range Not Satisfiable", $"Content-Range: bytes */{length}\r\n").ConfigureAwait(false);
                return;
            }
            (start, end, status) = (rs, re, 206);
            extra.Append(CultureInfo.InvariantCulture, $"Content-Range: bytes {start}-{end}/{length}\r\n");
        }
        var count = Math.Max(0, end - start + 1);
        _log.Enqueue($"{method} {target} range={range ?? "-"} -> {status}");
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {(status == 206 ? "Partial Content" : "OK")}\r\n")
            .Append("Content-Type: application/octet-stream\r\n")
            .Append("Accept-Ranges: bytes\r\n")
            .Append(CultureInfo.InvariantCulture, $"Last-Modified: {File.GetLastWriteTimeUtc(file).ToString("R", CultureInfo.InvariantCulture)}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {count}\r\n")
            .Append(extra)
            .Append(keepAlive ? "" : "Connection: close\r\n")
            .Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), ct).ConfigureAwait(false);
        if (method == "GET" && count > 0)
        {
            content.Seek(start, SeekOrigin.Begin);
            var buffer = new byte[81920];
            var left = count;
            while (left > 0)
            {
                var n = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException($"{file} shrank while being served");
                }
                await stream.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                left -= n;
            }
        }

        async Task SimpleAsync(int code, string reason, string headers)
        {
            _log.Enqueue($"{method} {target} range={range ?? "-"} -> {code}");
            var body = method == "HEAD" ? [] : Encoding.UTF8.GetBytes($"{code} {reason}\n");
            var text = $"HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
                       + $"{(method == "HEAD" ? Encoding.UTF8.GetByteCount($"{code} {reason}\n") : body.Length)}\r\n{headers}"
                       + (keepAlive ? "" : "Connection: close\r\n") + "\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(text), ct).ConfigureAwait(false);
            await stream.WriteAsync(body, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Maps a request target to a file under the root; null for anything else (including ../ escapes).</summary>
    private string? Resolve(string target)
    {
        var path = target.Split('?', 2)[0];
        if (path.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            path = new Uri(path).AbsolutePath;
        }
        string relative;
        try
        {
            relative = Uri.UnescapeDataString(path).TrimStart('/');
        }
        catch (UriFormatException)
        {
            return null;
        }
        var full = Path.GetFullPath(Path.Combine(_root, relative));
        return full.StartsWith(_root, StringComparison.Ordinal) && File.Exists(full) ? full : null;
    }

    /// <summary>Single "bytes=a-b", "bytes=a-" or "bytes=-n"; multi-range requests get the whole file (allowed by RFC 9110).</summary>
    private static bool TryParseRange(string header, long length, out long start, out long end, out bool satisfiable)
    {
        start = 0;
        end = length - 1;
        satisfiable = true;
        if (!header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase) || header.Contains(',', StringComparison.Ordinal))
        {
            return false;
        }
        var spec = header[6..].Trim();
        var dash = spec.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            return false;
        }
        var a = spec[..dash].Trim();
        var b = spec[(dash + 1)..].Trim();
        if (a.Length == 0)
        {
            if (!long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix))
            {
                return false;
            }
            if (suffix == 0 || length == 0)
            {
                satisfiable = false;
                return true;
            }
            start = Math.Max(0, length - suffix);
            return true;
        }
        if (!long.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out start))
        {
            return false;
        }
        if (b.Length > 0)
        {
            if (!long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out end) || end < start)
            {
                return false;
            }
            end = Math.Min(end, length - 1);
        }
        satisfiable = start < length;
        return true;
    }
}
