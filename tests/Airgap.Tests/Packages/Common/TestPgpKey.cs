using System.Text;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;

namespace Airgap.Tests.Packages;

/// <summary>A throwaway RSA signing key for the signature tests (1024 bits: fast, and nothing real trusts it).</summary>
internal sealed record TestPgpKey(PgpKeyPair Pair, PgpPublicKeyRing Ring)
{
    public long KeyId => Pair.KeyId;

    /// <param name="validFor">The key's expiry after its creation; null for none.</param>
    /// <param name="created">When the key was made; a minute ago by default.</param>
    public static TestPgpKey Create(string name, TimeSpan? validFor = null, DateTime? created = null)
    {
        var generator = new RsaKeyPairGenerator();
        generator.Init(new RsaKeyGenerationParameters(BigInteger.ValueOf(0x10001), new SecureRandom(), 1024, 12));
        var pair = new PgpKeyPair(PublicKeyAlgorithmTag.RsaGeneral, generator.GenerateKeyPair(), created ?? DateTime.UtcNow.AddMinutes(-1));
        var hashed = new PgpSignatureSubpacketGenerator();
        if (validFor is { } valid) hashed.SetKeyExpirationTime(true, (long)valid.TotalSeconds);
        var ring = new PgpKeyRingGenerator(PgpSignature.PositiveCertification, pair, $"{name} <{name}@airgap.test>",
            SymmetricKeyAlgorithmTag.Aes128, Array.Empty<char>(), true, hashed.Generate(), null, new SecureRandom()).GeneratePublicKeyRing();
        return new TestPgpKey(pair, ring);
    }

    /// <summary>The same key with a revocation certificate added, as a keyring refreshed after a revocation holds it.</summary>
    public TestPgpKey Revoked()
    {
        var generator = new PgpSignatureGenerator(PublicKeyAlgorithmTag.RsaGeneral, HashAlgorithmTag.Sha256);
        generator.InitSign(PgpSignature.KeyRevocation, Pair.PrivateKey);
        var revoked = PgpPublicKey.AddCertification(Ring.GetPublicKey(), generator.GenerateCertification(Ring.GetPublicKey()));
        return this with { Ring = PgpPublicKeyRing.InsertPublicKey(Ring, revoked) };
    }

    public byte[] PublicKey(bool armored)
    {
        using var buffer = new MemoryStream();
        if (armored)
        {
            using var armor = new ArmoredOutputStream(buffer);
            Ring.Encode(armor);
        }
        else
        {
            Ring.Encode(buffer);
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// An armored detached signature of <paramref name="data"/>. A text-mode signature is made over CRLF line ends,
    /// whatever the data has; <paramref name="at"/> backdates or postdates it.
    /// </summary>
    public byte[] Sign(byte[] data, bool textMode = false, HashAlgorithmTag hash = HashAlgorithmTag.Sha256, DateTime? at = null)
    {
        var signer = new PgpSignatureGenerator(PublicKeyAlgorithmTag.RsaGeneral, hash);
        signer.InitSign(textMode ? PgpSignature.CanonicalTextDocument : PgpSignature.BinaryDocument, Pair.PrivateKey);
        if (at is { } time)
        {
            var hashed = new PgpSignatureSubpacketGenerator();
            hashed.SetSignatureCreationTime(false, time);
            signer.SetHashedSubpackets(hashed.Generate());
        }
        signer.Update(textMode
            ? Encoding.UTF8.GetBytes(string.Join("\r\n", Encoding.UTF8.GetString(data).Split('\n').Select(l => l.TrimEnd('\r'))))
            : data);
        using var buffer = new MemoryStream();
        using (var armor = new ArmoredOutputStream(buffer)) signer.Generate().Encode(armor);
        return buffer.ToArray();
    }
}
