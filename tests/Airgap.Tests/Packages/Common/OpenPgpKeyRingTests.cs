using System.Text;
using Airgap.Packages;
using Org.BouncyCastle.Bcpg;

namespace Airgap.Tests.Packages;

/// <summary>The detached-signature check apt's Release.gpg and yum's repomd.xml.asc share, and every signature it refuses.</summary>
public sealed class OpenPgpKeyRingTests : IDisposable
{
    private const string Repository = "rpm repository kubernetes (http://repo.example/el7/)";
    private static readonly byte[] Repomd = "<?xml version=\"1.0\"?>\n<repomd>\n  <revision>1</revision>\n</repomd>\n"u8.ToArray();
    private static readonly Lazy<TestPgpKey> Trusted = new(() => TestPgpKey.Create("trusted"));
    private readonly string _dir = Directory.CreateTempSubdirectory("airgap-openpgp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Returns_the_signing_key_for_binary_and_text_signatures(bool armoredKey, bool textMode)
    {
        var keys = Keys(Trusted.Value.PublicKey(armoredKey));
        var signer = keys.VerifyDetached(Repomd, Trusted.Value.Sign(Repomd, textMode), "repomd.xml", "repomd.xml.asc");
        Assert.Equal(OpenPgpKeyRing.KeyIdText(Trusted.Value.KeyId), signer);
    }

    [Fact]
    public void Reads_key_files_of_several_blocks_with_a_preamble_and_repeated_keys()
    {
        var armored = Trusted.Value.PublicKey(armored: true);
        var keys = Keys([.. "pub rsa1024 trusted\n\n"u8, .. TestPgpKey.Create("decoy").PublicKey(armored: true), .. armored, .. armored]);
        Assert.Equal(OpenPgpKeyRing.KeyIdText(Trusted.Value.KeyId), keys.VerifyDetached(Repomd, Trusted.Value.Sign(Repomd), "repomd.xml", "repomd.xml.asc"));
    }

    [Fact]
    public void Refuses_a_signature_by_another_key_and_says_what_to_do()
    {
        var stranger = TestPgpKey.Create("stranger");
        var e = Refused(Keys(Trusted.Value.PublicKey(armored: true)), stranger.Sign(Repomd));
        Assert.Contains($"repomd.xml is signed only by key(s) {OpenPgpKeyRing.KeyIdText(stranger.KeyId)}, none of them in ", e.Message, StringComparison.Ordinal);
        Assert.Contains("--k8s-repo-key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_altered_data_and_weak_digests()
    {
        var keys = Keys(Trusted.Value.PublicKey(armored: true));
        var altered = Refused(keys, Trusted.Value.Sign(Repomd), [.. Repomd, .. "<!-- edited -->\n"u8]);
        Assert.Contains("repomd.xml has a BAD signature by key", altered.Message, StringComparison.Ordinal);
        var sha1 = Refused(keys, Trusted.Value.Sign(Repomd, hash: HashAlgorithmTag.Sha1));
        Assert.Contains("weak digest Sha1", sha1.Message, StringComparison.Ordinal);
        var junk = Refused(keys, "-----BEGIN PGP SIGNATURE-----\n\nbm90IGEgc2lnbmF0dXJl\n-----END PGP SIGNATURE-----\n"u8.ToArray());
        Assert.Contains("repomd.xml.asc: the signature cannot be read", junk.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_revoked_key()
    {
        var revoked = Trusted.Value.Revoked();
        var e = Refused(Keys(revoked.PublicKey(armored: true)), revoked.Sign(Repomd));
        Assert.Contains("marks as revoked", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_key_that_has_expired_and_a_signature_made_after_expiry()
    {
        var created = DateTime.UtcNow.AddDays(-10);
        var key = TestPgpKey.Create("expiring", validFor: TimeSpan.FromDays(1), created: created);
        var e = Refused(Keys(key.PublicKey(armored: true)), key.Sign(Repomd, at: created.AddHours(1)));
        Assert.Contains($"its signing key {Convert.ToHexString(key.Ring.GetPublicKey().GetFingerprint())} ", e.Message, StringComparison.Ordinal);
        Assert.Contains($"expired on {created.AddDays(1):yyyy-MM-dd}", e.Message, StringComparison.Ordinal);

        // By a clock still inside the key's validity, only a signature dated after the expiry is refused.
        var keys = Keys(key.PublicKey(armored: true), now: () => created.AddHours(12));
        Assert.Equal(OpenPgpKeyRing.KeyIdText(key.KeyId), keys.VerifyDetached(Repomd, key.Sign(Repomd, at: created.AddHours(1)), "repomd.xml", "repomd.xml.asc"));
        Assert.Contains("expired on", Refused(keys, key.Sign(Repomd, at: created.AddDays(2))).Message, StringComparison.Ordinal);
    }

    private OpenPgpKeyRing Keys(byte[] keyFile, Func<DateTimeOffset>? now = null)
    {
        var path = Path.Combine(_dir, $"key-{Guid.NewGuid():N}.asc");
        File.WriteAllBytes(path, keyFile);
        return OpenPgpKeyRing.FromKeyFile(path, Repository, now);
    }

    private static AirgapException Refused(OpenPgpKeyRing keys, byte[] signature, byte[]? data = null)
    {
        var e = Assert.Throws<AirgapException>(() => keys.VerifyDetached(data ?? Repomd, signature, "repomd.xml", "repomd.xml.asc"));
        Assert.StartsWith(Repository + ": ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }
}
