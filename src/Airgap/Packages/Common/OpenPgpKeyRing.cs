using System.Globalization;
using System.Text;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace Airgap.Packages;

/// <summary>
/// The OpenPGP keys an operator trusts for one repository (one key file), and the check apt's gpgv and
/// dnf make of repository metadata with them: apt's Release/InRelease and yum's repomd.xml.
/// At least one signature must come from a key in the key file and every such signature must verify;
/// signatures by other keys are ignored (Debian signs each release with several keys). Signatures by
/// revoked or expired keys and signatures over weak digests are refused.
/// </summary>
internal sealed class OpenPgpKeyRing
{
    /// <summary>What to tell an operator whose repository fails verification.</summary>
    internal const string KeyAdvice = "give the key that signs this repository (--k8s-repo-key FILE, or key: in the --repos file)";

    private readonly PgpPublicKeyRingBundle _keys;
    private readonly Func<DateTimeOffset> _now;

    private OpenPgpKeyRing(PgpPublicKeyRingBundle keys, string keyFile, string repository, Func<DateTimeOffset>? now, string repositoryName)
    {
        _keys = keys;
        RepositoryName = repositoryName;
        KeyFile = keyFile;
        Repository = repository;
        _now = now ?? (() => DateTimeOffset.UtcNow);
    }

    public string KeyFile { get; }

    /// <summary>How messages name the repository, e.g. "repository 'kubernetes'"; every message starts with it.</summary>
    public string Repository { get; }

    /// <summary>
    /// Loads a binary keyring (.gpg, as in /usr/share/keyrings) or one or more ASCII-armored keys (.asc;
    /// the Kubernetes yum key file is several blocks one after the other).
    /// </summary>
    /// <param name="repository">How messages name the repository, e.g. "repository 'kubernetes'".</param>
    /// <param name="now">The clock key expiry is judged by.</param>
    /// <param name="repositoryName">The repository's own name ("kubernetes"), which decides the advice for an expired key.</param>
    public static OpenPgpKeyRing FromKeyFile(string keyFile, string repository, Func<DateTimeOffset>? now = null, string? repositoryName = null)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(keyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AirgapException($"{repository}: cannot read its key file {keyFile}: {e.Message}", e);
        }
        return new OpenPgpKeyRing(new PgpPublicKeyRingBundle(LoadRings(bytes, keyFile, repository)), keyFile, repository, now, repositoryName ?? repository);
    }

    /// <summary>
    /// Verifies <paramref name="data"/> against a detached signature (armored or binary) and returns the key ID
    /// (16 hex digits) of the trusted key that made it; <paramref name="dataName"/> and
    /// <paramref name="signatureName"/> name the two files in messages ("repomd.xml", "repomd.xml.asc").
    /// </summary>
    public string VerifyDetached(byte[] data, byte[] signature, string dataName, string signatureName) =>
        Verify(ReadSignatures(signature, $"{Repository}: {signatureName}"), data, dataName);

    /// <summary>Checks <paramref name="signatures"/> over <paramref name="data"/>; returns the key ID of the first trusted signer.</summary>
    internal string Verify(IReadOnlyList<PgpSignature> signatures, byte[] data, string what)
    {
        if (signatures.Count == 0)
            throw new AirgapException($"{Repository}: {what} carries no signature; the mirror serves a damaged or unsigned file, use another mirror");
        string? signer = null;
        foreach (var sig in signatures)
        {
            var key = FindKey(sig, data);
            if (key is null) continue;
            signer ??= KeyIdText(key.KeyId);
            if (!Check(sig, key, data))
                throw new AirgapException(
                    $"{Repository}: {what} has a BAD signature by key {KeyIdText(key.KeyId)} from {KeyFile}: the mirror serves altered or corrupt metadata; use another mirror");
            if (sig.HashAlgorithm is HashAlgorithmTag.MD5 or HashAlgorithmTag.Sha1 or HashAlgorithmTag.RipeMD160 or HashAlgorithmTag.MD2)
                throw new AirgapException(
                    $"{Repository}: {what} is signed with the weak digest {sig.HashAlgorithm}, which apt and dnf refuse too; the repository must be re-signed");
            if (key.HasRevocation())
                throw new AirgapException($"{Repository}: {what} is signed by key {KeyIdText(key.KeyId)}, which {KeyFile} marks as revoked; {KeyAdvice}");
            // gpgv (so apt) and dnf refuse a signature by a key that has expired since, and one made after the key
            // expired; a signing subkey is dead with its primary key too.
            var primary = key.IsMasterKey ? key : PrimaryOf(key);
            foreach (var k in new[] { key, primary }.OfType<PgpPublicKey>().Distinct())
            {
                if (OpenPgpKeyInfo.ExpiryOf(k, primary ?? k) is not { } expires) continue;
                if (expires < _now() || new DateTimeOffset(sig.CreationTime, TimeSpan.Zero) > expires)
                    throw new AirgapException(OpenPgpKeyInfo.ExpiredMessage(Repository, RepositoryName, Convert.ToHexString(k.GetFingerprint()), expires, KeyFile,
                        Profiles.OsProfileCatalog.IsShipped(KeyFile, null)));
            }
        }
        return signer ?? throw new AirgapException(
            $"{Repository}: {what} is signed only by key(s) {string.Join(", ", signatures.Select(s => KeyIdText(s.KeyId)).Distinct())}, none of them in {KeyFile}; {KeyAdvice}");
    }

    /// <summary>The repository's own name ("kubernetes"), for the advice only the Kubernetes repository gets.</summary>
    private string RepositoryName { get; }

    private PgpPublicKey? PrimaryOf(PgpPublicKey subkey)
    {
        foreach (PgpPublicKeyRing ring in _keys.GetKeyRings())
            if (ring.GetPublicKey(subkey.KeyId) is not null) return ring.GetPublicKey();
        return null;
    }

    internal static string KeyIdText(long keyId) => keyId.ToString("X16", CultureInfo.InvariantCulture);

    /// <summary>Reads every signature packet of an armored or binary signature; <paramref name="source"/> starts the message if it cannot.</summary>
    internal static IReadOnlyList<PgpSignature> ReadSignatures(byte[] bytes, string source)
    {
        try
        {
            var list = new List<PgpSignature>();
            CollectSignatures(new PgpObjectFactory(IsArmored(bytes) ? Dearmor(bytes, "SIGNATURE") : bytes), list);
            return list;
        }
        catch (Exception e) when (e is PgpException or IOException or ArgumentException or InvalidOperationException)
        {
            throw new AirgapException($"{source}: the signature cannot be read ({e.Message}); the mirror serves a damaged file", e);
        }
    }

    private static void CollectSignatures(PgpObjectFactory factory, List<PgpSignature> list)
    {
        for (var obj = factory.NextPgpObject(); obj is not null; obj = factory.NextPgpObject())
        {
            switch (obj)
            {
                case PgpSignatureList sigs:
                    for (var i = 0; i < sigs.Count; i++) list.Add(sigs[i]);
                    break;
                // gpg may wrap a detached signature in a compressed packet.
                case PgpCompressedData compressed:
                    CollectSignatures(new PgpObjectFactory(compressed.GetDataStream()), list);
                    break;
                default:
                    throw new PgpException($"unexpected {obj.GetType().Name} where signatures belong");
            }
        }
    }

    private PgpPublicKey? FindKey(PgpSignature sig, byte[] data)
    {
        if (sig.KeyId != 0) return _keys.GetPublicKey(sig.KeyId);
        // A signature that names no issuer key ID: whichever trusted key verifies it made it.
        foreach (PgpPublicKeyRing ring in _keys.GetKeyRings())
            foreach (PgpPublicKey key in ring.GetPublicKeys())
                if (Check(sig, key, data)) return key;
        return null;
    }

    private static bool Check(PgpSignature sig, PgpPublicKey key, byte[] data)
    {
        try
        {
            // A text signature (0x01) covers the document with CRLF line ends (RFC 4880 5.2.1): BouncyCastle canonicalises them itself.
            if (sig.SignatureType is not (PgpSignature.BinaryDocument or PgpSignature.CanonicalTextDocument)) return false;
            sig.InitVerify(key);
            sig.Update(data);
            return sig.Verify();
        }
        catch (PgpException)
        {
            return false;
        }
    }

    /// <summary>The key rings of a binary or armored key file; <paramref name="repository"/> starts any error.</summary>
    internal static IReadOnlyList<PgpPublicKeyRing> LoadRings(byte[] bytes, string keyFile, string repository)
    {
        // GnuPG 2.1+ keeps ~/.gnupg/pubring.kbx in its own keybox format, which apt and dnf do not read either.
        if (bytes.Length > 12 && bytes[8] == 'K' && bytes[9] == 'B' && bytes[10] == 'X' && bytes[11] == 'f')
            throw new AirgapException(
                $"{repository}: {keyFile} is a GnuPG keybox, not an OpenPGP key; export the key with `gpg --export KEYID > key.gpg` and pass that file");
        try
        {
            var raw = IsArmored(bytes) ? Dearmor(bytes, "PUBLIC KEY BLOCK") : bytes;
            // The same key twice (a file that concatenates overlapping keyrings) is harmless; a bundle would refuse it.
            var rings = new List<PgpPublicKeyRing>();
            foreach (var obj in new PgpObjectFactory(raw).AllPgpObjects())
            {
                var ring = obj as PgpPublicKeyRing ?? throw new PgpException($"unexpected {obj.GetType().Name} where public keys belong");
                if (rings.TrueForAll(r => r.GetPublicKey().KeyId != ring.GetPublicKey().KeyId)) rings.Add(ring);
            }
            if (rings.Count == 0) throw new PgpException("no public key in it");
            return rings;
        }
        catch (Exception e) when (e is PgpException or IOException or ArgumentException or InvalidOperationException)
        {
            throw new AirgapException(
                $"{repository}: {keyFile} is not an OpenPGP public key (binary .gpg or armored .asc): {e.Message}; pass the repository's public key file", e);
        }
    }

    /// <summary>Armored when an armor header line comes anywhere: key files handed out by vendors often have a text preamble.</summary>
    private static bool IsArmored(byte[] bytes) => bytes.AsSpan().IndexOf("-----BEGIN PGP "u8) >= 0;

    /// <summary>Decodes every armored block of the given type (a .asc file may hold several keys) into one packet stream.</summary>
    private static byte[] Dearmor(byte[] bytes, string blockType)
    {
        var text = Encoding.UTF8.GetString(bytes).Replace("\r\n", "\n", StringComparison.Ordinal);
        var begin = $"-----BEGIN PGP {blockType}-----";
        var end = $"-----END PGP {blockType}-----";
        using var output = new MemoryStream();
        var at = 0;
        var found = false;
        while ((at = text.IndexOf(begin, at, StringComparison.Ordinal)) >= 0)
        {
            var stop = text.IndexOf(end, at, StringComparison.Ordinal);
            if (stop < 0) throw new PgpException($"an armored block without \"{end}\"");
            var block = text[at..(stop + end.Length)] + "\n";
            using (var armored = new ArmoredInputStream(new MemoryStream(Encoding.ASCII.GetBytes(block))))
                armored.CopyTo(output);
            at = stop + end.Length;
            found = true;
        }
        if (!found) throw new PgpException($"no \"{begin}\" block");
        return output.ToArray();
    }
}
