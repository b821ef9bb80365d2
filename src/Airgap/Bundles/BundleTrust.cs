using System.Security.Cryptography;

namespace Airgap.Bundles;

/// <summary>One public key a bundle may be signed with, and where it was configured.</summary>
public sealed record TrustedKey(string Source, byte[] SubjectPublicKeyInfo)
{
    public string Fingerprint => KeyFingerprint.Of(SubjectPublicKeyInfo);

    /// <summary>The key as a PEM file for another host's trusted directory.</summary>
    public string Pem => PemEncoding.WriteString("PUBLIC KEY", SubjectPublicKeyInfo) + "\n";

    /// <summary>Named by the key itself, so sending it to a node twice (or from two jump hosts) is one file, and a node's own keys keep their names.</summary>
    public string FileName => $"airgap-{Convert.ToHexStringLower(SHA256.HashData(SubjectPublicKeyInfo))[..16]}.pem";

    public bool Verifies(byte[] data, byte[] signature)
    {
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(SubjectPublicKeyInfo, out _);
        try
        {
            return ecdsa.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            // Not DER at all: as wrong as a signature by another key.
            return false;
        }
    }
}

/// <summary>
/// The keys bundles must be signed with on this host: <c>--trust-key</c> files and every <c>*.pem</c> in
/// <see cref="DefaultDirectory"/>. None configured means signatures are not required (bundles from
/// before signing keep working); any configured means a bundle must carry a signature one of them made.
/// </summary>
public sealed record BundleTrust(IReadOnlyList<TrustedKey> Keys)
{
    public const string DefaultDirectory = "/etc/airgap/trusted";

    public static BundleTrust None { get; } = new([]);

    public bool Required => Keys.Count > 0;

    /// <summary>Both sets of keys (a flag's and a config file's): each counts, neither replaces the other.</summary>
    public BundleTrust With(BundleTrust other) => new([.. Keys, .. other.Keys.Where(k => Keys.All(m => m.Fingerprint != k.Fingerprint))]);

    /// <summary>
    /// Loads <paramref name="files"/> and the <c>*.pem</c> files of <paramref name="directory"/> (absent is fine).
    /// A file that is not an ECDSA P-256 public key is an error, not skipped: a trust key silently
    /// ignored would let unsigned bundles through.
    /// </summary>
    public static BundleTrust Load(IEnumerable<string> files, string? directory = DefaultDirectory)
    {
        var paths = files.ToList();
        if (directory is not null && Directory.Exists(directory))
            paths.AddRange(Directory.EnumerateFiles(directory, "*.pem").Order(StringComparer.Ordinal));
        var keys = new List<TrustedKey>();
        foreach (var path in paths)
        {
            var key = LoadKey(path);
            if (keys.TrueForAll(k => k.Fingerprint != key.Fingerprint)) keys.Add(key);
        }
        return new BundleTrust(keys);
    }

    public static TrustedKey LoadKey(string path)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AirgapException($"trust key {path} cannot be read ({e.Message}); give the KEYBASE.pub.pem that airgap key generate wrote");
        }
        if (pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            throw new AirgapException($"trust key {path} is a private key; give its public half (KEYBASE.pub.pem) and keep the private key on the build host");
        using var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw new AirgapException($"trust key {path} is not a PEM ECDSA public key ({e.Message.Split('\n')[0]}); give the KEYBASE.pub.pem that airgap key generate wrote");
        }
        if (ecdsa.ExportParameters(false).Curve.Oid?.Value != "1.2.840.10045.3.1.7")
            throw new AirgapException($"trust key {path} is not on the P-256 curve; bundles are signed with P-256 keys from airgap key generate");
        return new TrustedKey(path, ecdsa.ExportSubjectPublicKeyInfo());
    }
}

public enum SignatureState
{
    /// <summary>No bundle.yaml.sig, and no trust key asked for one.</summary>
    Unsigned,

    /// <summary>A bundle.yaml.sig, but no trust key to check it with.</summary>
    NotChecked,

    /// <summary>Verified with <see cref="SignatureStatus.Signer"/>.</summary>
    Verified,
}

/// <summary>What the signature check found; <see cref="Describe"/> is the one line operators read.</summary>
public sealed record SignatureStatus(SignatureState State, TrustedKey? Signer)
{
    public string Describe() => State switch
    {
        SignatureState.Verified => $"signed by {Signer!.Fingerprint} ({Signer.Source})",
        SignatureState.NotChecked => $"signed, but not checked: no trust key (give --trust-key PUB.pem or put it in {BundleTrust.DefaultDirectory}/)",
        _ => "unsigned",
    };
}

/// <summary>
/// The one check of bundle.yaml.sig, used by verify, install, join (their verify phase) and the
/// cluster's distribute phase. bundle.yaml lists every member's sha256, so a good signature over it
/// vouches for the whole bundle once the members are checked against it.
/// </summary>
public static class BundleSignature
{
    public const string FileName = "bundle.yaml.sig";

    public static SignatureStatus Check(string bundlePath, byte[] bundleYaml, byte[]? signature, BundleTrust trust)
    {
        if (!trust.Required) return new SignatureStatus(signature is null ? SignatureState.Unsigned : SignatureState.NotChecked, null);
        var keys = string.Join(", ", trust.Keys.Select(k => k.Fingerprint));
        if (signature is null)
            throw new AirgapException($"{bundlePath} is unsigned, but this host trusts only bundles signed by {keys}; " +
                                      "use the bundle built with airgap build --sign-key (it holds bundle.yaml.sig)");
        var signer = trust.Keys.FirstOrDefault(k => k.Verifies(bundleYaml, signature));
        return signer is not null
            ? new SignatureStatus(SignatureState.Verified, signer)
            : throw new AirgapException($"{bundlePath}: bundle.yaml.sig does not verify with any trusted key ({keys}): bundle.yaml was altered or another key signed it; " +
                                        "get the bundle from its builder again, or trust the builder's key with --trust-key");
    }

    /// <summary>The one line about a bundle's signature: a warning when nothing vouches for the bundle.</summary>
    public static void Report(IProgressSink progress, string bundlePath, SignatureStatus status)
    {
        var line = $"{Path.GetFileName(bundlePath)}: {status.Describe()}";
        if (status.State == SignatureState.Verified) progress.Info(line);
        else progress.Warn(line);
    }

    /// <summary>
    /// Reads bundle.yaml and bundle.yaml.sig (the first members, so this is quick) and checks them; the
    /// members themselves are checked against bundle.yaml by <see cref="BundleReader.VerifyAsync"/>.
    /// </summary>
    public static async Task<SignatureStatus> CheckAsync(string bundlePath, BundleTrust trust, CancellationToken ct)
    {
        var (yaml, signature) = await BundleReader.ReadSignedDocumentAsync(bundlePath, ct).ConfigureAwait(false);
        return Check(bundlePath, yaml, signature, trust);
    }
}
