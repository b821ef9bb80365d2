using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Airgap.Bundles;

/// <summary>The two PEM files <c>airgap key generate</c> writes, and the fingerprint of the public half.</summary>
public sealed record GeneratedKey(string PrivateKeyPath, string PublicKeyPath, string Fingerprint);

/// <summary>
/// An ECDSA P-256 private key that signs bundle.yaml. The signature is DER ECDSA over SHA-256, exactly
/// what <c>openssl dgst -sha256 -verify PUB -signature bundle.yaml.sig bundle.yaml</c> checks, so a site
/// needs nothing from us to check a bundle. The nonce is derived from the key and the message
/// (RFC 6979) instead of drawn at random: the same key and inputs give the same signature, so a
/// signed bundle is as reproducible as an unsigned one.
/// </summary>
public sealed class BundleSigningKey
{
    private const string P256Oid = "1.2.840.10045.3.1.7";

    private readonly ECPrivateKeyParameters _key;

    private BundleSigningKey(ECPrivateKeyParameters key, byte[] subjectPublicKeyInfo, string source)
    {
        _key = key;
        PublicKey = subjectPublicKeyInfo;
        Source = source;
    }

    /// <summary>The DER SubjectPublicKeyInfo of the matching public key.</summary>
    public byte[] PublicKey { get; }

    public string Source { get; }

    public string Fingerprint => KeyFingerprint.Of(PublicKey);

    /// <summary>
    /// Reads an unencrypted PEM private key: PKCS#8 (<c>BEGIN PRIVATE KEY</c>, as <c>airgap key generate</c>
    /// and <c>openssl genpkey</c> write) or SEC1 (<c>BEGIN EC PRIVATE KEY</c>, as <c>openssl ecparam -genkey</c>).
    /// </summary>
    public static BundleSigningKey Load(string path)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AirgapException($"--sign-key {path} cannot be read ({e.Message}); give the private key airgap key generate wrote (KEYBASE.pem)", e);
        }
        if (pem.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
            throw new AirgapException($"--sign-key {path} is encrypted; airgap signs unattended, so decrypt a copy with `openssl pkey -in {path} -out KEY.pem` and keep that one safe");
        if (!pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            throw new AirgapException($"--sign-key {path} holds no PEM private key{(pem.Contains("PUBLIC KEY", StringComparison.Ordinal) ? " (it is a public key: that one goes to --trust-key)" : "")}; give KEYBASE.pem from airgap key generate");
        using var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw new AirgapException($"--sign-key {path} is not an ECDSA P-256 private key ({e.Message.Split('\n')[0]}); make one with airgap key generate", e);
        }
        var parameters = ecdsa.ExportParameters(includePrivateParameters: true);
        if (parameters.Curve.Oid?.Value != P256Oid || parameters.D is null)
            throw new AirgapException($"--sign-key {path} is an EC key on another curve ({parameters.Curve.Oid?.FriendlyName ?? "unnamed"}); bundles are signed with P-256 (prime256v1), make one with airgap key generate");
        var curve = ECNamedCurveTable.GetByName("P-256");
        var domain = new ECDomainParameters(curve.Curve, curve.G, curve.N, curve.H, curve.GetSeed());
        var d = new Org.BouncyCastle.Math.BigInteger(1, parameters.D);
        return new BundleSigningKey(new ECPrivateKeyParameters(d, domain), ecdsa.ExportSubjectPublicKeyInfo(), path);
    }

    /// <summary>DER-encoded ECDSA signature over SHA-256 of <paramref name="data"/>, deterministic (RFC 6979).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        var hash = SHA256.HashData(data);
        var signer = new ECDsaSigner(new HMacDsaKCalculator(new Sha256Digest()));
        signer.Init(true, _key);
        var rs = signer.GenerateSignature(hash);
        return new DerSequence(new DerInteger(rs[0]), new DerInteger(rs[1])).GetEncoded(Asn1Encodable.Der);
    }

    /// <summary>
    /// Writes a new key pair: <c>BASE.pem</c> (PKCS#8, mode 0600 from the moment it exists) and
    /// <c>BASE.pub.pem</c> (SubjectPublicKeyInfo). Existing files are never replaced, so a signing key in
    /// use cannot be lost to a typo; both appear or neither does.
    /// </summary>
    public static GeneratedKey Generate(string basePath)
    {
        var privatePath = Path.GetFullPath(basePath + ".pem");
        var publicPath = Path.GetFullPath(basePath + ".pub.pem");
        foreach (var existing in new[] { privatePath, publicPath }.Where(File.Exists))
            throw new AirgapException($"{existing} already exists; airgap key generate never replaces a key, choose another --out or remove it first");
        var directory = Path.GetDirectoryName(privatePath)!;
        if (!Directory.Exists(directory)) throw new AirgapException($"directory {directory} does not exist; create it or choose another --out");

        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var privatePem = ecdsa.ExportPkcs8PrivateKeyPem() + "\n";
        var publicPem = ecdsa.ExportSubjectPublicKeyInfoPem() + "\n";
        var tmpPrivate = $"{privatePath}.{Environment.ProcessId}.partial";
        var tmpPublic = $"{publicPath}.{Environment.ProcessId}.partial";
        try
        {
            using (var file = new FileStream(tmpPrivate, new FileStreamOptions
                   {
                       Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                   }))
            using (var writer = new StreamWriter(file))
                writer.Write(privatePem);
            File.WriteAllText(tmpPublic, publicPem);
            // The public key lands first: a private key without its public half would be the worse leftover.
            File.Move(tmpPublic, publicPath);
            File.Move(tmpPrivate, privatePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (File.Exists(publicPath) && !File.Exists(privatePath)) File.Delete(publicPath);
            throw new AirgapException($"cannot write the key pair {basePath}.pem / .pub.pem: {e.Message}", e);
        }
        finally
        {
            foreach (var t in new[] { tmpPrivate, tmpPublic }) if (File.Exists(t)) File.Delete(t);
        }
        return new GeneratedKey(privatePath, publicPath, KeyFingerprint.Of(ecdsa.ExportSubjectPublicKeyInfo()));
    }
}

/// <summary>How a public key is named to people: SHA256 of its DER SubjectPublicKeyInfo, unpadded base64, as ssh-keygen prints.</summary>
public static class KeyFingerprint
{
    /// <summary>The shell line that prints the same for a PEM public key, for the README and messages.</summary>
    public const string OpensslCommand = "openssl pkey -pubin -in PUB.pem -outform DER | openssl dgst -sha256 -binary | base64 | tr -d =";

    public static string Of(ReadOnlySpan<byte> subjectPublicKeyInfo) =>
        "SHA256:" + Convert.ToBase64String(SHA256.HashData(subjectPublicKeyInfo)).TrimEnd('=');
}
