using System.Security.Cryptography;

namespace Airgap.Oci;

/// <summary>A content digest as the OCI spec writes it ("sha256:&lt;64 hex&gt;"). Only sha256 is accepted.</summary>
public sealed record Digest
{
    public string Hex { get; }

    private Digest(string hex) => Hex = hex;

    public string Algorithm => "sha256";

    public override string ToString() => "sha256:" + Hex;

    public static Digest Parse(string value)
    {
        if (TryParse(value, out var digest)) return digest;
        throw new AirgapException($"\"{value}\" is not a sha256 digest: expected sha256:<64 lowercase hex>");
    }

    public static bool TryParse(string? value, out Digest digest)
    {
        digest = null!;
        if (value is null || !value.StartsWith("sha256:", StringComparison.Ordinal)) return false;
        var hex = value["sha256:".Length..];
        if (!IsHex64(hex)) return false;
        digest = new Digest(hex);
        return true;
    }

    public static Digest FromHex(string hex) =>
        IsHex64(hex) ? new Digest(hex) : throw new AirgapException($"\"{hex}\" is not a sha256 hex string");

    public static Digest Of(ReadOnlySpan<byte> content) => new(Convert.ToHexStringLower(SHA256.HashData(content)));

    public static Digest FromHash(byte[] sha256) => new(Convert.ToHexStringLower(sha256));

    internal static bool IsHex64(string hex) =>
        hex.Length == 64 && hex.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
