using System.Security.Cryptography;

namespace Airgap.TestKit;

public static class Digests
{
    public static string Sha256(ReadOnlySpan<byte> data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    public static string Sha256(Stream data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    public static string Hex(string digest) => digest[(digest.IndexOf(':', StringComparison.Ordinal) + 1)..];
}

/// <summary>Bytes together with their content address, the unit a registry stores.</summary>
public sealed class ContentBlob
{
    public ContentBlob(byte[] data)
    {
        Data = data;
        Digest = Digests.Sha256(data);
    }

    public byte[] Data { get; }

    public string Digest { get; }

    public long Size => Data.LongLength;

    public override string ToString() => $"{Digest} ({Size} bytes)";
}
