using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Airgap.Oci;

/// <summary>The TLS certificate `airgap serve` presents: the site's own (PEM files), or one made on the spot for the names given.</summary>
public static class ServeCertificate
{
    public static X509Certificate2 Load(string certificateFile, string keyFile)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            // Through PKCS#12, so the key is one TLS can use on every platform rather than an ephemeral handle.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new AirgapException($"--tls-cert {certificateFile} with --tls-key {keyFile} cannot be used ({e.Message.Split('\n')[0]}); give a PEM certificate and its PEM private key");
        }
    }

    /// <summary>
    /// A self-signed certificate (ECDSA P-256, one year) for the given DNS names and IP addresses,
    /// marked as its own CA so that clients can trust exactly it (containerd's ca, docker's certs.d).
    /// Its PEM is written to <paramref name="publicPem"/> for the nodes.
    /// </summary>
    public static X509Certificate2 Generate(IReadOnlyList<string> names, string publicPem)
    {
        if (names.Count == 0) throw new AirgapException("--tls-san needs at least one name or address the nodes reach this host by");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={names[0]}, O=airgap serve", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var ip)) san.AddIpAddress(ip);
            else san.AddDnsName(name);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        using var made = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
        var directory = Path.GetDirectoryName(Path.GetFullPath(publicPem))!;
        Directory.CreateDirectory(directory);
        var temporary = publicPem + ".partial";
        File.WriteAllText(temporary, made.ExportCertificatePem() + "\n");
        File.Move(temporary, publicPem, overwrite: true);
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pkcs12), null);
    }
}
