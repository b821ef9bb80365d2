using System.Text;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace Airgap.Packages.Apt;

/// <summary>
/// Checks an apt repository's Release against the OpenPGP key the operator trusts for it, as apt's
/// gpgv step does: a clearsigned InRelease, or Release with a detached Release.gpg. Only the signed
/// text is ever handed on, so nothing an attacker adds around the signature is read.
/// Which signatures count, and which are refused, is <see cref="OpenPgpKeyRing"/>'s rule.
/// </summary>
public sealed class InReleaseVerifier
{
    private const string SignedMessageBegin = "-----BEGIN PGP SIGNED MESSAGE-----";
    private const string SignatureBegin = "-----BEGIN PGP SIGNATURE-----";
    private const string SignatureEnd = "-----END PGP SIGNATURE-----";

    private readonly OpenPgpKeyRing _keys;

    private InReleaseVerifier(OpenPgpKeyRing keys) => _keys = keys;

    /// <summary>Loads a binary keyring (.gpg, as in /usr/share/keyrings) or one or more ASCII-armored keys (.asc).</summary>
    public static InReleaseVerifier FromKeyFile(string keyFile, string repository, Func<DateTimeOffset>? now = null) =>
        new(OpenPgpKeyRing.FromKeyFile(keyFile, $"repository '{repository}'", now, repository));

    /// <summary>Verifies a clearsigned InRelease and returns the Release text it carries.</summary>
    public string VerifyClearsigned(byte[] inRelease)
    {
        var message = ClearsignedMessage.Parse(inRelease, $"{_keys.Repository}: InRelease");
        _keys.Verify(message.Signatures, message.SignedBytes, "InRelease");
        return message.Text;
    }

    /// <summary>Verifies Release against its detached signature (Release.gpg, armored or binary) and returns Release as text.</summary>
    public string VerifyDetached(byte[] release, byte[] signature)
    {
        _keys.VerifyDetached(release, signature, "Release", "Release.gpg");
        return Encoding.UTF8.GetString(release);
    }

    /// <summary>The Release text inside an InRelease whose signature is not checked (repositories the caller explicitly allowed unsigned).</summary>
    public static string UnverifiedText(byte[] inRelease, string repository) =>
        ClearsignedMessage.Parse(inRelease, $"repository '{repository}': InRelease").Text;

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
            var signatures = OpenPgpKeyRing.ReadSignatures(Encoding.ASCII.GetBytes(block), source);
            return new ClearsignedMessage(string.Join('\n', text) + "\n", Encoding.UTF8.GetBytes(signed), signatures);
        }
    }
}
