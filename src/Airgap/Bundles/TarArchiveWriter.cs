using System.Security.Cryptography;
using System.Text;

namespace Airgap.Bundles;

/// <summary>
/// A minimal ustar writer that streams each member from its source while hashing it. Written by
/// hand rather than with System.Formats.Tar so that the bytes are fully ours (fixed owner, mode and
/// mtime for reproducible bundles) and so that verification happens on the same pass that copies.
/// </summary>
public sealed class TarArchiveWriter(Stream output) : IAsyncDisposable
{
    /// <summary>Fixed mtime for every member: 2000-01-01T00:00:00Z. Reproducibility beats a meaningless date.</summary>
    public const long FixedMtime = 946684800;

    private readonly byte[] _buffer = new byte[256 * 1024];
    private bool _finished;

    /// <summary>
    /// Writes one member. When <paramref name="hash"/> is false (content verified earlier in this
    /// process) and both sides are files, the data is copied in the kernel; the result is then null.
    /// </summary>
    public async Task<byte[]?> WriteFileAsync(string name, Stream content, long size, int mode, CancellationToken ct, bool hash = true)
    {
        await output.WriteAsync(Header(name, size, mode), ct).ConfigureAwait(false);
        if (!hash && content is FileStream source && output is FileStream destination)
        {
            await destination.FlushAsync(ct).ConfigureAwait(false);
            if (KernelCopy.TryCopy(source, destination, size))
            {
                await PadAsync(size, ct).ConfigureAwait(false);
                return null;
            }
        }
        return await CopyHashingAsync(name, content, size, ct).ConfigureAwait(false);
    }

    private async Task<byte[]> CopyHashingAsync(string name, Stream content, long size, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long copied = 0;
        while (copied < size)
        {
            var n = await content.ReadAsync(_buffer.AsMemory(0, (int)Math.Min(_buffer.Length, size - copied)), ct).ConfigureAwait(false);
            if (n == 0) throw new SourceEndedException($"{name}: source ended after {copied} of {size} bytes");
            hash.AppendData(_buffer, 0, n);
            await output.WriteAsync(_buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            copied += n;
        }
        await PadAsync(size, ct).ConfigureAwait(false);
        return hash.GetHashAndReset();
    }

    private async Task PadAsync(long size, CancellationToken ct)
    {
        var pad = (int)((512 - size % 512) % 512);
        if (pad > 0) await output.WriteAsync(new byte[pad], ct).ConfigureAwait(false);
    }

    public async Task<byte[]> WriteFileAsync(string name, byte[] content, int mode, CancellationToken ct) =>
        (await WriteFileAsync(name, new MemoryStream(content, writable: false), content.Length, mode, ct).ConfigureAwait(false))!;

    public async Task FinishAsync(CancellationToken ct)
    {
        if (_finished) return;
        _finished = true;
        await output.WriteAsync(new byte[1024], ct).ConfigureAwait(false);
        await output.FlushAsync(ct).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    internal static byte[] Header(string name, long size, int mode)
    {
        var header = new byte[512];
        var (prefix, shortName) = SplitName(name);
        Ascii(header, 0, 100, shortName);
        Octal(header, 100, 8, mode);
        Octal(header, 108, 8, 0);
        Octal(header, 116, 8, 0);
        Octal(header, 124, 12, size);
        Octal(header, 136, 12, FixedMtime);
        header[156] = (byte)'0';
        Ascii(header, 257, 6, "ustar\0");
        Ascii(header, 263, 2, "00");
        Ascii(header, 265, 32, "root");
        Ascii(header, 297, 32, "root");
        Ascii(header, 345, 155, prefix);
        for (var i = 148; i < 156; i++) header[i] = (byte)' ';
        var sum = header.Sum(b => (long)b);
        Octal(header, 148, 7, sum);
        header[155] = (byte)' ';
        return header;
    }

    private static (string Prefix, string Name) SplitName(string name)
    {
        if (Encoding.UTF8.GetByteCount(name) != name.Length) throw new AirgapException($"tar member name \"{name}\" is not ASCII");
        if (name.Length <= 100) return ("", name);
        for (var i = name.Length - 1; i > 0; i--)
        {
            if (name[i] == '/' && i <= 155 && name.Length - i - 1 <= 100) return (name[..i], name[(i + 1)..]);
        }
        throw new AirgapException($"tar member name \"{name}\" is too long for ustar");
    }

    private static void Ascii(byte[] header, int offset, int length, string value) =>
        Encoding.ASCII.GetBytes(value, 0, Math.Min(value.Length, length), header, offset);

    private static void Octal(byte[] header, int offset, int length, long value)
    {
        var text = Convert.ToString(value, 8).PadLeft(length - 1, '0');
        if (text.Length > length - 1) throw new AirgapException($"value {value} does not fit a ustar header field");
        Ascii(header, offset, length - 1, text);
        header[offset + length - 1] = 0;
    }
}

/// <summary>A member's source gave fewer bytes than its header declared (a cut file or bundle).</summary>
public sealed class SourceEndedException(string message) : AirgapException(message);
