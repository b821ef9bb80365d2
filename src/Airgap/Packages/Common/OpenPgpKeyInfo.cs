using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace Airgap.Packages;

/// <summary>
/// One primary OpenPGP key as <c>gpg --show-keys</c> describes it: fingerprint, first user ID, when it
/// was made and when it expires (null: never), and whether it is revoked. Expiry is read the way gpg
/// reads it: from the key expiration time subpacket of the newest self-signature (a renewed key
/// carries the old self-signature too, with the old date).
/// </summary>
public sealed record OpenPgpKeyInfo(string Fingerprint, string UserId, DateTimeOffset Created, DateTimeOffset? Expires, bool Revoked)
{
    /// <summary>Every primary key of a binary or armored key file.</summary>
    public static IReadOnlyList<OpenPgpKeyInfo> Read(byte[] keyFile, string source) =>
        OpenPgpKeyRing.LoadRings(keyFile, source, source)
            .Select(ring => ring.GetPublicKey())
            .Select(key => new OpenPgpKeyInfo(
                Convert.ToHexString(key.GetFingerprint()),
                key.GetUserIds().FirstOrDefault() ?? "",
                new DateTimeOffset(key.CreationTime, TimeSpan.Zero),
                ExpiryOf(key, key),
                key.HasRevocation()))
            .ToList();

    public bool IsExpiredAt(DateTimeOffset now) => Expires is { } e && e <= now;

    /// <summary>How a listing states the key's life at <paramref name="now"/>; the last 90 days are counted down, as renewals come late.</summary>
    public string Status(DateTimeOffset now) => (Revoked, Expires) switch
    {
        (true, _) => "REVOKED",
        (_, null) => "never expires",
        (_, { } e) when e <= now => $"EXPIRED on {e:yyyy-MM-dd}",
        (_, { } e) when e - now < TimeSpan.FromDays(90) => $"expires {e:yyyy-MM-dd} (in {(int)Math.Ceiling((e - now).TotalDays)} days)",
        (_, { } e) => $"expires {e:yyyy-MM-dd}",
    };

    /// <summary>
    /// When <paramref name="key"/> expires, from its newest self-signature: certifications of a user ID
    /// or a direct-key signature for a primary key, the binding signature (by <paramref name="primary"/>)
    /// for a subkey. Null when that signature sets no expiry.
    /// </summary>
    internal static DateTimeOffset? ExpiryOf(PgpPublicKey key, PgpPublicKey primary)
    {
        int[] certifications = [PgpSignature.DefaultCertification, PgpSignature.NoCertification, PgpSignature.CasualCertification, PgpSignature.PositiveCertification];
        var own = key.GetSignatures().Where(s => s.KeyId == primary.KeyId).ToList();
        PgpSignature? newest;
        if (key.IsMasterKey)
        {
            // Direct-key signatures count only when they set an expiry: keyrings such as Debian's carry
            // several without one (designated revokers), made after the user ID's self-signature.
            newest = own.Where(s => certifications.Contains(s.SignatureType)
                                    || (s.SignatureType == PgpSignature.DirectKey && SetsExpiry(s)))
                .MaxBy(s => s.CreationTime);
        }
        else
        {
            newest = own.Where(s => s.SignatureType == PgpSignature.SubkeyBinding).MaxBy(s => s.CreationTime);
        }
        if (newest is null || !SetsExpiry(newest)) return null;
        var seconds = newest.GetHashedSubPackets().GetKeyExpirationTime();
        return seconds > 0 ? new DateTimeOffset(key.CreationTime, TimeSpan.Zero).AddSeconds(seconds) : null;
    }

    private static bool SetsExpiry(PgpSignature signature) =>
        signature.GetHashedSubPackets() is { } hashed && hashed.HasSubpacket(SignatureSubpacketTag.KeyExpireTime);

    /// <summary>
    /// The one line an operator gets for a repository whose key expired: which key (fingerprint, file),
    /// when, and how to give a current one. For the Kubernetes repository that is --k8s-repo-key with
    /// pkgs.k8s.io's Release.key, which keeps its fingerprint and gets a new expiry when renewed.
    /// </summary>
    /// <param name="where">How the message names the repository ("repository 'kubernetes'"); it starts the line.</param>
    public static string ExpiredMessage(string where, string repositoryName, string fingerprint, DateTimeOffset expired, string keyFile, bool shipped)
    {
        var source = shipped ? $"{Path.GetFileName(keyFile)}, shipped with airgap" : keyFile;
        var advice = repositoryName == Profiles.OsProfile.KubernetesRepositoryName
            ? "download the current key (for pkgs.k8s.io: https://pkgs.k8s.io/core:/stable:/vMAJOR.MINOR/deb/Release.key) and give it with --k8s-repo-key FILE"
            : $"give a current key for it with --repos (name: {repositoryName}, key: FILE)";
        return $"{where}: its signing key {fingerprint} ({source}) expired on {expired:yyyy-MM-dd}; {advice}";
    }

    /// <summary>
    /// Refuses, before anything is downloaded, a repository whose key file holds no primary key that is
    /// still valid at <paramref name="now"/>: apt and dnf would refuse its metadata, and so would we, later.
    /// </summary>
    public static void CheckNotExpired(IEnumerable<PackageRepository> repositories, DateTimeOffset now)
    {
        foreach (var repository in repositories.Where(r => r.KeyFile is not null).DistinctBy(r => (r.Name, r.KeyFile)))
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(repository.KeyFile!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new AirgapException($"repository '{repository.Name}': cannot read its key file {repository.KeyFile}: {e.Message}", e);
            }
            var keys = Read(bytes, $"repository '{repository.Name}'");
            if (keys.Any(k => !k.Revoked && !k.IsExpiredAt(now))) continue;
            var last = keys.Where(k => k.Expires is not null).MaxBy(k => k.Expires);
            if (last is null) continue; // only revoked keys: the signature check names the revocation
            throw new AirgapException(ExpiredMessage($"repository '{repository.Name}'", repository.Name, last.Fingerprint, last.Expires!.Value, repository.KeyFile!,
                Profiles.OsProfileCatalog.IsShipped(repository.KeyFile!, bytes)));
        }
    }
}
