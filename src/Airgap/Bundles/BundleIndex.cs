using System.Security.Cryptography;
using Airgap.Bundles.Parts;

namespace Airgap.Bundles;

/// <summary>
/// Where each member of a bundle lies in the tar, found by reading the headers only (the reader
/// seeks past the data), so members can be read in place, in any order and concurrently, without
/// unpacking: push and serve read blobs straight out of the bundle. A split bundle reads the same way,
/// straight out of its parts.
/// </summary>
public sealed class BundleIndex : IDisposable
{
    public sealed record Member(string Name, long Offset, long Size);

    private readonly Dictionary<string, Member> members;
    private readonly RandomAccessBundle content;

    private BundleIndex(string path, Dictionary<string, Member> members, RandomAccessBundle content)
    {
        Path = path;
        this.members = members;
        this.content = content;
    }

    public string Path { get; }

    public IReadOnlyCollection<Member> Members => members.Values;

    public static async Task<BundleIndex> OpenAsync(string path, CancellationToken ct)
    {
        var stored = StoredBundle.Open(path);
        if (stored.Index is not null) path = stored.Path;
        var found = new Dictionary<string, Member>(StringComparer.Ordinal);
        var bytes = stored.OpenRandomAccess();
        try
        {
            await using var file = new FileWindowStream(bytes, 0, stored.Length, 0);
            var length = file.Length;
            var header = new byte[512];
            long position = 0;
            string? longName = null;
            long? paxSize = null;
            while (true)
            {
                if (position + 512 > length) throw new AirgapException($"{path} is truncated (it ends inside a tar header); copy the bundle again");
                file.Position = position;
                await file.ReadExactlyAsync(header, ct).ConfigureAwait(false);
                if (header.All(b => b == 0)) break;
                if (!ChecksumMatches(header)) throw new AirgapException($"{path} is not a readable bundle (a tar header at byte {position} is damaged); copy it again");
                var size = Number(header.AsSpan(124, 12), path);
                var type = (char)header[156];
                var data = position + 512;
                if (data + size > length) throw new AirgapException($"{path} is truncated inside {longName ?? Name(header)}; copy the bundle again");
                position = data + (size + 511) / 512 * 512;
                switch (type)
                {
                    case 'x':
                        (longName, paxSize) = await PaxAsync(file, path, data, size, longName, paxSize, ct).ConfigureAwait(false);
                        continue;
                    case 'L':
                        var text = new byte[size];
                        file.Position = data;
                        await file.ReadExactlyAsync(text, ct).ConfigureAwait(false);
                        longName = System.Text.Encoding.UTF8.GetString(text).TrimEnd('\0');
                        continue;
                    case 'g':
                        continue;
                    case '5':
                        longName = null;
                        paxSize = null;
                        continue;
                }
                var name = longName ?? Name(header);
                if (paxSize is { } real)
                {
                    size = real;
                    position = data + (size + 511) / 512 * 512;
                    if (data + size > length) throw new AirgapException($"{path} is truncated inside {name}; copy the bundle again");
                }
                longName = null;
                paxSize = null;
                if (type is not ('0' or '\0'))
                    throw new AirgapException($"{path}: member {name} is not a regular file (tar type '{type}'); the bundle was tampered with");
                if (!found.TryAdd(name, new Member(name, data, size)))
                    throw new AirgapException($"{path}: member {name} appears twice; the bundle was tampered with, build it again");
            }
        }
        catch
        {
            bytes.Dispose();
            throw;
        }
        return new BundleIndex(path, found, bytes);
    }

    public Member? Find(string name) => members.GetValueOrDefault(name);

    private static string Name(byte[] header)
    {
        static string Field(ReadOnlySpan<byte> b) => System.Text.Encoding.UTF8.GetString(b[..(b.IndexOf((byte)0) is var z and >= 0 ? z : b.Length)]);
        var name = Field(header.AsSpan(0, 100));
        // ustar splits long paths into prefix/name.
        var prefix = header.AsSpan(257, 6).SequenceEqual("ustar\0"u8) || header.AsSpan(257, 6).SequenceEqual("ustar "u8) ? Field(header.AsSpan(345, 155)) : "";
        return prefix.Length > 0 ? prefix + "/" + name : name;
    }

    /// <summary>Octal, or base-256 for sizes past 8 GiB (a leading 0x80 byte).</summary>
    private static long Number(ReadOnlySpan<byte> field, string path)
    {
        if ((field[0] & 0x80) != 0)
        {
            long big = field[0] & 0x7F;
            foreach (var b in field[1..]) big = (big << 8) | b;
            return big;
        }
        long value = 0;
        foreach (var b in field)
        {
            if (b is 0 or (byte)' ') { if (value > 0) break; continue; }
            if (b is < (byte)'0' or > (byte)'7') throw new AirgapException($"{path} is not a readable bundle (a tar header holds a bad number); copy it again");
            value = value * 8 + (b - '0');
        }
        return value;
    }

    private static bool ChecksumMatches(byte[] header)
    {
        long sum = 0;
        for (var i = 0; i < 512; i++) sum += i is >= 148 and < 156 ? ' ' : header[i];
        long stated = 0;
        foreach (var b in header.AsSpan(148, 8))
        {
            if (b is >= (byte)'0' and <= (byte)'7') stated = stated * 8 + (b - '0');
            else if (stated > 0) break;
        }
        return sum == stated;
    }

    /// <summary>A PAX extended header's path and size records, which override the next header's fields.</summary>
    private static async Task<(string? Name, long? Size)> PaxAsync(Stream file, string path, long data, long size, string? name, long? realSize, CancellationToken ct)
    {
        if (size > 1 << 20) throw new AirgapException($"{path}: a PAX header is implausibly large; the bundle is damaged");
        var bytes = new byte[size];
        file.Position = data;
        await file.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
        foreach (var record in System.Text.Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var space = record.IndexOf(' ');
            var eq = record.IndexOf('=');
            if (space < 0 || eq < space) continue;
            var key = record[(space + 1)..eq];
            var value = record[(eq + 1)..];
            if (key == "path") name = value;
            else if (key == "size" && long.TryParse(value, out var s)) realSize = s;
        }
        return (name, realSize);
    }

    /// <summary>A read-only stream over one member's bytes from <paramref name="start"/> up to <paramref name="end"/> (exclusive); many may be open at once.</summary>
    public Stream Open(Member member, long start = 0, long? end = null) => new FileWindowStream(content, member.Offset, end ?? member.Size, start);

    /// <summary>A small member read whole and checked against its sha256 (from SHA256SUMS or its blob name).</summary>
    public async Task<byte[]> ReadCheckedAsync(Member member, string sha256, long limit, CancellationToken ct)
    {
        if (member.Size > limit)
            throw new AirgapException($"{Path}: {member.Name} is implausibly large ({member.Size} bytes); the bundle is damaged");
        var bytes = new byte[member.Size];
        var read = 0;
        while (read < bytes.Length)
        {
            var n = await content.ReadAsync(bytes.AsMemory(read), member.Offset + read, ct).ConfigureAwait(false);
            if (n == 0) throw new AirgapException($"{Path} is truncated inside {member.Name}; copy the bundle again");
            read += n;
        }
        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (actual != sha256)
            throw new AirgapException($"{Path}: {member.Name} has sha256 {actual}, expected {sha256}; the bundle is corrupt, copy it again");
        return bytes;
    }

    /// <summary>Hashes a member in place; true when it has this sha256.</summary>
    public async Task<bool> HasSha256Async(Member member, string sha256, CancellationToken ct)
    {
        await using var stream = Open(member);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false)) == sha256;
    }

    public void Dispose() => content.Dispose();
}

/// <summary>A window of a bundle read with positional reads, so concurrent readers of one bundle never share a position.</summary>
internal sealed class FileWindowStream(RandomAccessBundle source, long offset, long length, long start, bool ownsSource = false) : Stream
{
    private long position = start;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => position;
        set => position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, Math.Max(0, length - position));
        if (n == 0) return 0;
        n = source.Read(buffer[..n], offset + position);
        position += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = (int)Math.Min(buffer.Length, Math.Max(0, length - position));
        if (n == 0) return 0;
        n = await source.ReadAsync(buffer[..n], offset + position, cancellationToken).ConfigureAwait(false);
        position += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => position + offset,
        _ => length + offset,
    };

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && ownsSource) source.Dispose();
        base.Dispose(disposing);
    }
}
