using System.Globalization;
using System.Text;

namespace Airgap.TestKit.Infrastructure;

/// <summary>The start line and headers of one HTTP/1.1 message, as read off the wire.</summary>
internal sealed class HttpHead
{
    public HttpHead(byte[] raw, string startLine, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        Raw = raw;
        StartLine = startLine;
        Headers = headers;
    }

    /// <summary>The exact bytes including the blank line, so a proxy forwards them unchanged.</summary>
    public byte[] Raw { get; }

    public string StartLine { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    public string? Header(string name)
        => Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public long? ContentLength
        => long.TryParse(Header("Content-Length"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

    public bool IsChunked
        => Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true;

    public bool WantsClose
        => Header("Connection")?.Contains("close", StringComparison.OrdinalIgnoreCase) == true
           || StartLine.EndsWith("HTTP/1.0", StringComparison.Ordinal);

    /// <summary>For a request: method and target; for a response the parts are version and status.</summary>
    public (string First, string Second) Parts
    {
        get
        {
            var p = StartLine.Split(' ', 3);
            return (p[0], p.Length > 1 ? p[1] : "");
        }
    }
}

/// <summary>
/// A small buffered reader over a socket stream that understands HTTP/1.1 framing well enough
/// to find where one message ends and the next begins (Content-Length, chunked, until-close).
/// Written by hand because the proxy must see and cut raw bytes, which HttpClient hides.
/// </summary>
internal sealed class HttpWireReader
{
    private const int MaxHead = 64 * 1024;
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public HttpWireReader(Stream stream) => _stream = stream;

    /// <summary>Reads a message head; null on a clean end of stream before any byte.</summary>
    public async Task<HttpHead?> ReadHeadAsync(CancellationToken cancellationToken)
    {
        var head = new MemoryStream();
        // Scan for CRLFCRLF across buffer refills.
        while (true)
        {
            for (var i = _start; i < _end; i++)
            {
                head.WriteByte(_buffer[i]);
                var len = head.Length;
                if (len >= 4 && EndsWithBlankLine(head))
                {
                    _start = i + 1;
                    return Parse(head.ToArray());
                }
            }
            _start = _end;
            if (head.Length > MaxHead)
            {
                throw new InvalidDataException("HTTP head too large");
            }
            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                if (head.Length == 0)
                {
                    return null;
                }
                throw new EndOfStreamException("Connection closed inside an HTTP head");
            }
        }
    }

    /// <summary>Reads up to <paramref name="max"/> buffered-or-fresh bytes; 0 at end of stream.</summary>
    public async Task<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_start == _end && !await FillAsync(cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }
        var n = Math.Min(destination.Length, _end - _start);
        _buffer.AsMemory(_start, n).CopyTo(destination);
        _start += n;
        return n;
    }

    public async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        while (true)
        {
            if (_start == _end && !await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new EndOfStreamException("Connection closed inside a chunk header");
            }
            var b = _buffer[_start++];
            line.Append((char)b);
            if (b == '\n')
            {
                return line.ToString();
            }
        }
    }

    /// <summary>
    /// Copies a message body framed as <paramref name="head"/> says to <paramref name="sink"/>,
    /// raw (chunk framing included), stopping after <paramref name="limit"/> bytes if given.
    /// Returns false if the limit stopped the copy.
    /// </summary>
    public async Task<bool> CopyBodyAsync(HttpHead head, bool isResponse, bool noBody, Func<ReadOnlyMemory<byte>, Task> sink,
        long? limit, CancellationToken cancellationToken)
    {
        if (noBody)
        {
            return true;
        }
        var remainingBudget = limit ?? long.MaxValue;
        async Task<bool> Emit(ReadOnlyMemory<byte> data)
        {
            var take = (int)Math.Min(data.Length, remainingBudget);
            if (take > 0)
            {
                await sink(data[..take]).ConfigureAwait(false);
            }
            remainingBudget -= take;
            return take == data.Length;
        }

        var buf = new byte[64 * 1024];
        if (head.IsChunked)
        {
            while (true)
            {
                var sizeLine = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
                if (!await Emit(Encoding.ASCII.GetBytes(sizeLine)).ConfigureAwait(false))
                {
                    return false;
                }
                var hex = sizeLine.Split(';')[0].Trim();
                var size = long.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    // Trailers end with an empty line.
                    while (true)
                    {
                        var trailer = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
                        if (!await Emit(Encoding.ASCII.GetBytes(trailer)).ConfigureAwait(false))
                        {
                            return false;
                        }
                        if (trailer is "\r\n" or "\n")
                        {
                            return true;
                        }
                    }
                }
                if (!await CopyExactAsync(size + 2, buf, Emit, cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }
            }
        }
        if (head.ContentLength is { } length)
        {
            return await CopyExactAsync(length, buf, Emit, cancellationToken).ConfigureAwait(false);
        }
        if (!isResponse)
        {
            // A request without length or chunking has no body.
            return true;
        }
        // Response delimited by connection close.
        while (true)
        {
            var n = await ReadAsync(buf, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return true;
            }
            if (!await Emit(buf.AsMemory(0, n)).ConfigureAwait(false))
            {
                return false;
            }
        }
    }

    private async Task<bool> CopyExactAsync(long count, byte[] buf, Func<ReadOnlyMemory<byte>, Task<bool>> emit, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            var n = await ReadAsync(buf.AsMemory(0, (int)Math.Min(buf.Length, count)), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new EndOfStreamException("Connection closed inside an HTTP body");
            }
            count -= n;
            if (!await emit(buf.AsMemory(0, n)).ConfigureAwait(false))
            {
                return false;
            }
        }
        return true;
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await _stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
        return _end > 0;
    }

    private static bool EndsWithBlankLine(MemoryStream head)
    {
        var b = head.GetBuffer();
        var n = (int)head.Length;
        return b[n - 1] == '\n' && b[n - 2] == '\r' && b[n - 3] == '\n' && b[n - 4] == '\r';
    }

    private static HttpHead Parse(byte[] raw)
    {
        var text = Encoding.Latin1.GetString(raw);
        var lines = text.Split("\r\n");
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }
        }
        return new HttpHead(raw, lines[0], headers);
    }
}
