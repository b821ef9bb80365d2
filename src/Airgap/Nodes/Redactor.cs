using System.Text.RegularExpressions;

namespace Airgap.Nodes;

/// <summary>
/// Hides secrets in text bound for logs. kubeadm prints bootstrap tokens and certificate keys it
/// generated itself (join instructions, upload-certs), so besides the exact values a caller knows,
/// the shapes of those secrets are recognised wherever they appear.
/// </summary>
public static partial class Redactor
{
    public const string Mask = "<redacted>";

    public static string Redact(string text, IReadOnlyList<string>? secrets = null)
    {
        if (secrets is not null)
            foreach (var secret in secrets)
                // Very short values would blank out ordinary words; no real token is that short.
                if (secret.Length >= 4) text = text.Replace(secret, Mask, StringComparison.Ordinal);
        text = BootstrapToken().Replace(text, Mask);
        text = CertificateKeyFlag().Replace(text, "$1" + Mask);
        text = HexKeyLine().Replace(text, Mask);
        return text;
    }

    // kubeadm's bootstrap token format: [a-z0-9]{6}.[a-z0-9]{16}.
    [GeneratedRegex(@"(?<![A-Za-z0-9.])[a-z0-9]{6}\.[a-z0-9]{16}(?![A-Za-z0-9])")]
    private static partial Regex BootstrapToken();

    [GeneratedRegex(@"(--certificate-key[ =]+|certificateKey:\s*""?)[0-9a-fA-F]{16,}")]
    private static partial Regex CertificateKeyFlag();

    // "kubeadm init phase upload-certs" prints the 32-byte key alone on a line.
    [GeneratedRegex(@"(?m)^[ \t]*[0-9a-f]{64}[ \t]*$")]
    private static partial Regex HexKeyLine();
}
