using System.Text;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace Airgap.Packages.Rpm;

/// <summary>
/// Checks repomd.xml against its detached OpenPGP signature (repomd.xml.asc, as `gpg --detach-sign
/// --armor` writes it) with the keys of one key file. repomd.xml holds the checksum of every other
/// index, so this one check is what makes everything fetched after it trustworthy.
/// </summary>
internal static class RepomdSignature
{
    /// <summary>Returns the signing key id (hex) or throws an <see cref="AirgapException"/> saying why not.</summary>
    public static string Verify(byte[] repomd, string signature, string keyFile, string source)
    {
        var keys = LoadKeys(keyFile, source);
        var signatures = ReadSignatures(signature, source);
        var unknown = new List<string>();
        foreach (var sig in signatures)
        {
            var key = keys.Select(r => r.GetPublicKey(sig.KeyId)).FirstOrDefault(k => k is not null);
            if (key is null)
            {
                unknown.Add(sig.KeyId.ToString("X16"));
                continue;
            }
            if (key.HasRevocation())
                throw new AirgapException($"{source}: repomd.xml is signed by key {sig.KeyId:X16}, which {keyFile} marks as revoked; refusing it");
            if (key.GetValidSeconds() > 0 && sig.CreationTime > key.CreationTime.AddSeconds(key.GetValidSeconds()))
                throw new AirgapException($"{source}: repomd.xml was signed by key {sig.KeyId:X16} after that key expired; refusing it");
            sig.InitVerify(key);
            // A text-mode signature covers the document with CRLF line ends (RFC 4880 5.2.1).
            var data = sig.SignatureType == PgpSignature.CanonicalTextDocument ? CanonicalText(repomd) : repomd;
            sig.Update(data);
            if (sig.Verify()) return sig.KeyId.ToString("X16");
            throw new AirgapException($"{source}: repomd.xml does not match its signature by key {sig.KeyId:X16}; the mirror serves altered or stale metadata, refusing it");
        }
        throw new AirgapException($"{source}: repomd.xml is signed by key {string.Join(", ", unknown)}, which is not in {keyFile}; give the repository's own key");
    }

    private static List<PgpPublicKeyRing> LoadKeys(string keyFile, string source)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(keyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AirgapException($"{source}: cannot read key file {keyFile}: {e.Message}", e);
        }
        var rings = new List<PgpPublicKeyRing>();
        try
        {
            // Key files handed out by repositories are often several armored blocks one after the
            // other (the Kubernetes yum key is); a decoder stream would stop after the first block.
            foreach (var block in SplitArmor(bytes))
            {
                using var input = PgpUtilities.GetDecoderStream(new MemoryStream(block));
                rings.AddRange(new PgpPublicKeyRingBundle(input).GetKeyRings());
            }
        }
        catch (Exception e) when (e is IOException or PgpException)
        {
            throw new AirgapException($"{source}: {keyFile} is not an OpenPGP public key (armored or binary): {e.Message}", e);
        }
        if (rings.Count == 0) throw new AirgapException($"{source}: {keyFile} holds no OpenPGP public key");
        return rings;
    }

    private static IEnumerable<byte[]> SplitArmor(byte[] bytes)
    {
        const string begin = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
        const string end = "-----END PGP PUBLIC KEY BLOCK-----";
        var text = Encoding.ASCII.GetString(bytes);
        var start = text.IndexOf(begin, StringComparison.Ordinal);
        if (start < 0)
        {
            yield return bytes;
            yield break;
        }
        while (start >= 0)
        {
            var stop = text.IndexOf(end, start, StringComparison.Ordinal);
            if (stop < 0) throw new IOException("an armored key block has no END line");
            yield return Encoding.ASCII.GetBytes(text[start..(stop + end.Length)] + "\n");
            start = text.IndexOf(begin, stop, StringComparison.Ordinal);
        }
    }

    private static List<PgpSignature> ReadSignatures(string armored, string source)
    {
        var list = new List<PgpSignature>();
        try
        {
            using var input = PgpUtilities.GetDecoderStream(new MemoryStream(Encoding.ASCII.GetBytes(armored)));
            var factory = new PgpObjectFactory(input);
            for (var o = factory.NextPgpObject(); o is not null; o = factory.NextPgpObject())
            {
                if (o is PgpSignatureList sigs)
                    for (var i = 0; i < sigs.Count; i++) list.Add(sigs[i]);
                else if (o is PgpCompressedData compressed)
                    list.AddRange(ReadCompressed(compressed));
            }
        }
        catch (Exception e) when (e is IOException or PgpException)
        {
            throw new AirgapException($"{source}: repomd.xml.asc is not an OpenPGP signature: {e.Message}", e);
        }
        if (list.Count == 0) throw new AirgapException($"{source}: repomd.xml.asc holds no OpenPGP signature");
        return list;
    }

    private static IEnumerable<PgpSignature> ReadCompressed(PgpCompressedData compressed)
    {
        var factory = new PgpObjectFactory(compressed.GetDataStream());
        for (var o = factory.NextPgpObject(); o is not null; o = factory.NextPgpObject())
            if (o is PgpSignatureList sigs)
                for (var i = 0; i < sigs.Count; i++) yield return sigs[i];
    }

    private static byte[] CanonicalText(byte[] data)
    {
        var output = new MemoryStream(data.Length + 256);
        for (var i = 0; i < data.Length; i++)
        {
            if (data[i] == (byte)'\n' && (i == 0 || data[i - 1] != (byte)'\r')) output.WriteByte((byte)'\r');
            output.WriteByte(data[i]);
        }
        return output.ToArray();
    }
}
