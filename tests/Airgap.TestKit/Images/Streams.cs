using System.Security.Cryptography;

namespace Airgap.TestKit;

/// <summary>
/// Deterministic incompressible bytes (xorshift64*), seekable so TarWriter can size the entry.
/// Hand-rolled rather than System.Random so the bytes never change with the runtime version.
/// </summary>
public sealed class PseudoRandomStream : Stream
{
    private readonly ulong _seed;
    private readonly long _length;
    private long _position;

    public PseudoRandomStream(string seed, long length)
    {
        // Seed from a hash of a name, so "etcd amd64" always yields the same layer.
        _seed = BitConverter.ToUInt64(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(seed)), 0) | 1;
        _length = length;
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => _position = Math.Clamp(value, 0, _length);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, _length - _position);
        Span<byte> word = stackalloc byte[8];
        var done = 0;
        while (done < n)
        {
            // Each 8-byte word is a pure function of its index, which keeps seeking trivial.
            var at = _position + done;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(word, Mix(_seed + (ulong)(at >> 3)));
            var offset = (int)(at & 7);
            var take = Math.Min(8 - offset, n - done);
            word.Slice(offset, take).CopyTo(buffer[done..]);
            done += take;
        }
        _position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private static ulong Mix(ulong x)
    {
        // splitmix64 finaliser: good avalanche, so gzip finds nothing to compress.
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

/// <summary>Passes writes through while hashing and counting them (diff_id of the tar under the gzip).</summary>
internal sealed class HashingWriteStream : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public HashingWriteStream(Stream inner) => _inner = inner;

    public long BytesWritten { get; private set; }

    public string Digest() => "sha256:" + Convert.ToHexStringLower(_hash.GetHashAndReset());

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesWritten;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _hash.AppendData(buffer);
        BytesWritten += buffer.Length;
        _inner.Write(buffer);
    }

    public override void Flush() => _inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
