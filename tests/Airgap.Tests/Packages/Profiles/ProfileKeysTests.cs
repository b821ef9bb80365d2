using Airgap.Packages.Profiles;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace Airgap.Tests.Packages.Profiles;

public sealed class ProfileKeysTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("airgap-keys-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Every_built_in_key_parses_as_an_OpenPGP_keyring_with_no_secret_material()
    {
        Assert.NotEmpty(OsProfileCatalog.KnownKeys);
        foreach (var name in OsProfileCatalog.KnownKeys)
        {
            var bytes = OsProfileCatalog.KeyBytes(name);
            var bundle = new PgpPublicKeyRingBundle(bytes);
            Assert.True(bundle.Count > 0, name);
            Assert.All(bundle.GetKeyRings(), ring => Assert.True(ring.GetPublicKey().IsMasterKey, name));
            // A binary keyring, as in /usr/share/keyrings: a public-key packet first (old or new format, tag 6).
            Assert.True(bytes[0] is 0x99 or 0xC6, $"{name} does not start with a public key packet");
        }
    }

    [Fact]
    public void Every_key_holds_exactly_the_fingerprints_its_profiles_record()
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var profile in OsProfileCatalog.Known.Select(OsProfileCatalog.Get))
        {
            foreach (var (file, fingerprints) in profile.KeyFingerprints)
            {
                used.Add(file);
                Assert.Equal(fingerprints.Order(), OsProfileCatalog.KeyFingerprints(file).Order());
            }
            var named = profile.OsRepositories.Select(r => r.Key)
                .Append(profile.KubernetesLegacy?.Key).Append(profile.KubernetesPerMinor?.Key).Append(profile.RuntimeRepository?.Key)
                .OfType<string>();
            Assert.All(named, key => Assert.True(profile.KeyFingerprints.ContainsKey(key), $"{profile.Name}: {key} has no recorded fingerprints"));
        }
        // No key ships that no profile uses (it would be trusted by nobody and reviewed by nobody).
        Assert.Equal(OsProfileCatalog.KnownKeys.Order(), used.Order());
    }

    [Fact]
    public void Key_path_writes_the_embedded_bytes_and_repairs_a_changed_copy()
    {
        var path = OsProfileCatalog.KeyPath("kubernetes-pkgs.gpg", _dir);
        Assert.Equal(Path.Combine(_dir, "kubernetes-pkgs.gpg"), path);
        Assert.Equal(OsProfileCatalog.KeyBytes("kubernetes-pkgs.gpg"), File.ReadAllBytes(path));

        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Equal(path, OsProfileCatalog.KeyPath("kubernetes-pkgs.gpg", _dir));
        Assert.Equal(OsProfileCatalog.KeyBytes("kubernetes-pkgs.gpg"), File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir));

        var e = Assert.Throws<AirgapException>(() => OsProfileCatalog.KeyPath("../../etc/passwd", _dir));
        Assert.Contains("no built-in key", e.Message);
    }
}
