using System.Text;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace Airgap.Packages.Apt;

/// <summary>
/// Checks an apt repository's Release against the OpenPGP key the operator trusts for it, as apt's
/// gpgv step does: a clearsigned InRelease, or Release with a detached Release.gpg. Only the signed
/// text is ever handed on, so nothing an attacker adds around the signature is read.
/// At least one signature must come from a key in the key file and every such signature must verify;
/// signatures by other keys are ignored (Debian signs each release with several keys).
/// </summary>
public sealed class InReleaseVerifier
{
    private const string SignedMessageBegin = "-----BEGIN PGP SIGNED MESSAGE-----";
    private const string SignatureBegin = "-----BEGIN PGP SIGNATURE-----";
    private const string SignatureEnd = "-----END PGP SIGNATURE-----";

    private readonly PgpPublicKeyRingBundle _keys;
    private readonly string _keyFile;
    private readonly string _repository;
    private readonly Func<DateTimeOffset> _now;

    private InReleaseVerifier(PgpPublicKeyRingBundle keys, string keyFile, string repository, Func<DateTimeOffset>? now)
    {
        _keys = keys;
        _keyFile = keyFile;
        _repository = repository;
        _now = now ?? (() => DateTimeOffset.UtcNow);
    }

    /// <summary>What to tell an operator whose repository fails verification.</summary>
    internal const string KeyAdvice = "give the key that signs this repository (--k8s-repo-key FILE, or keyFile in --repos)";

    /// <summary>Loads a binary keyring (.gpg, as in /usr/share/keyrings) or one or more ASCII-armored keys (.asc).</summary>
    public static InReleaseVerifier FromKeyFile(string keyFile, string repository, Func<DateTimeOffset>? now = null)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(keyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AirgapException($"repository '{repository}': cannot read its key file {keyFile}: {e.Message}", e);
        }
        return new InReleaseVerifier(LoadKeys(bytes, keyFile, repository), keyFile, repository, now);
    }

    /// <summary>Verifies a clearsigned InRelease and returns the Release text it carries.</summary>
    public string VerifyClearsigned(byte[] inRelease)
    {
        var message = ClearsignedMessage.Parse(inRelease, $"repository '{_repository}': InRelease");
        Verify(message.Signatures, message.SignedBytes, "InRelease");
        return message.Text;
    }

    /// <summary>Verifies Release against its detached signature (Release.gpg, armored or binary) and returns Release as text.</summary>
    public string VerifyDetached(byte[] release, byte[] signature)
    {
        var signatures = ReadSignatures(signature, $"repository '{_repository}': Release.gpg");
        Verify(signatures, release, "Release.gpg");
        return Encoding.UTF8.GetString(release);
    }

    /// <summary>The Release text inside an InRelease whose signature is not checked (repositories the caller explicitly allowed unsigned).</summary>
    public static string UnverifiedText(byte[] inRelease, string repository) =>
        ClearsignedMessage.Parse(inRelease, $"repository '{repository}': InRelease").Text;

    private void Verify(IReadOnlyList<PgpSignature> signatures, byte[] data, string what)
    {
        var fromTrustedKeys = 0;
        foreach (var sig in signatures)
        {
            var key = FindKey(sig, data);
            if (key is null) continue;
            fromTrustedKeys++;
            if (!Check(sig, key, data))
                throw new AirgapException(
                    $"repository '{_repository}': {what} has a BAD signature by key {KeyIdText(sig.KeyId)} from {_keyFile}: the mirror serves altered or corrupt metadata; use another mirror");
            if (sig.HashAlgorithm is HashAlgorithmTag.MD5 or HashAlgorithmTag.Sha1 or HashAlgorithmTag.RipeMD160 or HashAlgorithmTag.MD2)
                throw new AirgapException(
                    $"repository '{_repository}': {what} is signed with the weak digest {sig.HashAlgorithm}, which apt refuses too; the repository must be re-signed");
            if (key.HasRevocation())
                throw new AirgapException($"repository '{_repository}': {what} is signed by revoked key {KeyIdText(key.KeyId)}; {KeyAdvice}");
            var valid = key.GetValidSeconds();
            if (valid > 0)
            {
                var expires = new DateTimeOffset(key.CreationTime, TimeSpan.Zero).AddSeconds(valid);
                // gpgv, and so apt, refuses a signature by a key that has expired since; a build should too.
                if (expires < _now())
                    throw new AirgapException(
                        $"repository '{_repository}': {what} is signed by key {KeyIdText(key.KeyId)}, which expired on {expires:yyyy-MM-dd}; {KeyAdvice} (a current one)");
            }
        }
        if (fromTrustedKeys == 0)
        {
            var by = signatures.Count == 0 ? "carries no signature" : $"is signed only by key(s) {string.Join(", ", signatures.Select(s => KeyIdText(s.KeyId)).Distinct())}";
            throw new AirgapException($"repository '{_repository}': {what} {by}, none of them in {_keyFile}; {KeyAdvice}");
        }
    }

    private PgpPublicKey? FindKey(PgpSignature sig, byte[] data)
    {
        if (sig.KeyId != 0)
        {
            var key = _keys.GetPublicKey(sig.KeyId);
            if (key is not null) return key;
            return null;
        }
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
            // A text signature (0x01) over CRLF-canonical lines: BouncyCastle canonicalises line endings itself.
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

    internal static string KeyIdText(long keyId) => keyId.ToString("X16", System.Globalization.CultureInfo.InvariantCulture);

    private static PgpPublicKeyRingBundle LoadKeys(byte[] bytes, string keyFile, string repository)
    {
        // GnuPG 2.1+ keeps ~/.gnupg/pubring.kbx in its own keybox format, which apt does not read either.
        if (bytes.Length > 12 && bytes[8] == 'K' && bytes[9] == 'B' && bytes[10] == 'X' && bytes[11] == 'f')
            throw new AirgapException(
                $"repository '{repository}': {keyFile} is a GnuPG keybox, not an OpenPGP key; export the key with `gpg --export KEYID > key.gpg` and pass that file");
        try
        {
            var raw = IsArmored(bytes) ? Dearmor(bytes, "PUBLIC KEY BLOCK") : bytes;
            var bundle = new PgpPublicKeyRingBundle(raw);
            if (bundle.Count == 0) throw new PgpException("no public key in it");
            return bundle;
        }
        catch (Exception e) when (e is PgpException or IOException or ArgumentException or InvalidOperationException)
        {
            throw new AirgapException(
                $"repository '{repository}': {keyFile} is not an OpenPGP public key (binary .gpg or armored .asc): {e.Message}; pass the repository's public key file", e);
        }
    }

    private static IReadOnlyList<PgpSignature> ReadSignatures(byte[] bytes, string source)
    {
        try
        {
            var raw = IsArmored(bytes) ? Dearmor(bytes, "SIGNATURE") : bytes;
            var factory = new PgpObjectFactory(raw);
            var list = new List<PgpSignature>();
            PgpObject? obj;
            while ((obj = factory.NextPgpObject()) is not null)
            {
                if (obj is PgpSignatureList sigs)
                    for (var i = 0; i < sigs.Count; i++) list.Add(sigs[i]);
                else
                    throw new PgpException($"unexpected {obj.GetType().Name} where signatures belong");
            }
            return list;
        }
        catch (Exception e) when (e is PgpException or IOException or ArgumentException or InvalidOperationException)
        {
            throw new AirgapException($"{source}: the signature cannot be read ({e.Message}); the mirror serves a damaged file", e);
        }
    }

    private static bool IsArmored(byte[] bytes)
    {
        var start = 0;
        while (start < bytes.Length && bytes[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') start++;
        return bytes.AsSpan(start).StartsWith("-----BEGIN PGP "u8);
    }

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

    /// <summary>
    /// An OpenPGP cleartext-signed message (RFC 4880 §7), parsed strictly the way apt splits InRelease:
    /// nothing but blank lines may come before the header or after the signature.
    /// </summary>
    private sealed record ClearsignedMessage(string Text, byte[] SignedBytes, IReadOnlyList<PgpSignature> Signatures)
    {
        public static ClearsignedMessage Parse(byte[] bytes, string source)
        {
            var lines = Encoding.UTF8.GetString(bytes).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            var i = 0;
            while (i < lines.Count && lines[i].Trim().Length == 0) i++;
            if (i == lines.Count || lines[i] != SignedMessageBegin)
                throw new AirgapException($"{source} is not a clearsigned file (no \"{SignedMessageBegin}\" at its start); the mirror serves something else");
            i++;
            // Armor headers ("Hash: SHA256") up to the first blank line; the signature packets carry the real algorithm.
            while (i < lines.Count && lines[i].Length > 0)
            {
                if (!lines[i].Contains(':', StringComparison.Ordinal)) throw new AirgapException($"{source}: bad armor header \"{lines[i]}\"");
                i++;
            }
            i++;
            var text = new List<string>();
            for (; i < lines.Count && lines[i] != SignatureBegin; i++)
            {
                var line = lines[i];
                if (line.StartsWith("- ", StringComparison.Ordinal)) line = line[2..];
                else if (line.StartsWith('-'))
                    throw new AirgapException($"{source}: an unescaped dash line \"{line}\" inside the signed text; the file is damaged or forged");
                text.Add(line);
            }
            if (i == lines.Count) throw new AirgapException($"{source} has no \"{SignatureBegin}\" block");
            var sigStart = i;
            while (i < lines.Count && lines[i] != SignatureEnd) i++;
            if (i == lines.Count) throw new AirgapException($"{source}: the signature block has no \"{SignatureEnd}\"");
            var sigEnd = i;
            for (i++; i < lines.Count; i++)
                if (lines[i].Trim().Length > 0)
                    throw new AirgapException($"{source} has data after its signature; apt refuses such a file and so do we");

            var signed = string.Join("\r\n", text.Select(l => l.TrimEnd(' ', '\t')));
            var block = string.Join('\n', lines.Skip(sigStart).Take(sigEnd - sigStart + 1)) + "\n";
            var signatures = ReadSignatures(Encoding.ASCII.GetBytes(block), source);
            return new ClearsignedMessage(string.Join('\n', text) + "\n", Encoding.UTF8.GetBytes(signed), signatures);
        }
    }
}
