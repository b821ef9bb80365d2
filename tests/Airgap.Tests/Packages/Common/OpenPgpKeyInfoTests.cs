using Airgap.Packages;
using Airgap.Packages.Profiles;

namespace Airgap.Tests.Packages;

/// <summary>Key expiry as gpg reads it, the listing of shipped keys, and the one line a build gives for an expired key.</summary>
public sealed class OpenPgpKeyInfoTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("airgap-keyinfo-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_shipped_pkgs_k8s_io_key_expires_on_2026_12_29_by_its_newest_self_signature()
    {
        // Renewed on 2024-10-20: the key carries the older self-signature too, with an earlier expiry.
        var key = Assert.Single(OsProfileCatalog.ShippedKeys().Single(k => k.File == "kubernetes-pkgs.gpg").Keys);
        Assert.Equal("DE15B14486CD377B9E876E1A234654DA9A296436", key.Fingerprint);
        Assert.Equal(new DateTime(2026, 12, 29), key.Expires!.Value.UtcDateTime.Date);
        Assert.Contains("isv:kubernetes", key.UserId, StringComparison.Ordinal);
        Assert.False(key.IsExpiredAt(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.True(key.IsExpiredAt(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void The_listing_counts_down_the_last_90_days_and_says_expired_after()
    {
        var key = new OpenPgpKeyInfo("AB", "x", DateTimeOffset.UnixEpoch, new DateTimeOffset(2026, 12, 29, 12, 0, 0, TimeSpan.Zero), false);
        Assert.Equal("expires 2026-12-29", key.Status(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal("expires 2026-12-29 (in 30 days)", key.Status(new DateTimeOffset(2026, 11, 29, 17, 0, 0, TimeSpan.Zero)));
        Assert.Equal("EXPIRED on 2026-12-29", key.Status(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal("never expires", (key with { Expires = null }).Status(DateTimeOffset.UtcNow));
        Assert.Equal("REVOKED", (key with { Revoked = true }).Status(DateTimeOffset.UtcNow));
    }

    [Fact]
    public void Keys_without_an_expiry_say_never_and_every_shipped_file_is_listed()
    {
        var shipped = OsProfileCatalog.ShippedKeys();
        Assert.Equal(OsProfileCatalog.KnownKeys, shipped.Select(s => s.File));
        Assert.All(shipped.Single(s => s.File == "centos-7.gpg").Keys, k => Assert.Null(k.Expires));
        Assert.Equal(9, shipped.Single(s => s.File == "debian-archive-keyring.gpg").Keys.Count);
    }

    [Fact]
    public void A_build_for_a_repository_whose_only_key_expired_is_refused_in_one_line_naming_key_date_and_the_flag()
    {
        var created = DateTime.UtcNow.AddDays(-30);
        var key = TestPgpKey.Create("expired", validFor: TimeSpan.FromDays(10), created: created);
        var file = Path.Combine(_dir, "k8s.gpg");
        File.WriteAllBytes(file, key.PublicKey(armored: false));
        var repo = new PackageRepository(OsProfile.KubernetesRepositoryName, RepositoryKind.Apt, new Uri("http://127.0.0.1:1/"), "/", [], file);

        var e = Assert.Throws<AirgapException>(() => OpenPgpKeyInfo.CheckNotExpired([repo], DateTimeOffset.UtcNow));
        var fingerprint = Convert.ToHexString(key.Ring.GetPublicKey().GetFingerprint());
        Assert.Equal($"repository 'kubernetes': its signing key {fingerprint} ({file}) expired on {created.AddDays(10):yyyy-MM-dd}; " +
                     "download the current key (for pkgs.k8s.io: https://pkgs.k8s.io/core:/stable:/vMAJOR.MINOR/deb/Release.key) and give it with --k8s-repo-key FILE",
                     e.Message);

        // Still valid by an earlier clock; and another repository's advice is --repos.
        OpenPgpKeyInfo.CheckNotExpired([repo], new DateTimeOffset(created.AddDays(5), TimeSpan.Zero));
        var other = repo with { Name = "docker-ce" };
        Assert.Contains("give a current key for it with --repos (name: docker-ce, key: FILE)",
            Assert.Throws<AirgapException>(() => OpenPgpKeyInfo.CheckNotExpired([other], DateTimeOffset.UtcNow)).Message);
    }

    [Fact]
    public void The_shipped_key_is_named_as_shipped_and_one_valid_key_beside_an_expired_one_is_enough()
    {
        var path = OsProfileCatalog.KeyPath("kubernetes-pkgs.gpg", _dir);
        var repo = new PackageRepository(OsProfile.KubernetesRepositoryName, RepositoryKind.Apt, new Uri("https://pkgs.k8s.io/core:/stable:/v1.30/deb/"), "/", [], path);
        var e = Assert.Throws<AirgapException>(() => OpenPgpKeyInfo.CheckNotExpired([repo], new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.StartsWith("repository 'kubernetes': its signing key DE15B14486CD377B9E876E1A234654DA9A296436 (kubernetes-pkgs.gpg, shipped with airgap) expired on 2026-12-29;", e.Message);

        var debian = OsProfileCatalog.KeyPath("debian-archive-keyring.gpg", _dir);
        // Debian 11's keys expire in 2029, 12's and 13's later: on 2030-01-01 the keyring still has valid keys.
        OpenPgpKeyInfo.CheckNotExpired([repo with { Name = "debian", KeyFile = debian }], new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    }
}
