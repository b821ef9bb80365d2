using System.Text;
using Airgap.Packages;
using Airgap.Packages.Apt;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace Airgap.Tests.Packages.Apt;

/// <summary>
/// Structure and rejection cases with keys made here; the integration tests check the same code
/// against files signed by real gpg.
/// </summary>
public sealed class InReleaseVerifierTests : IDisposable
{
    private const string ReleaseText = "Origin: test\nSuite: stable\nSHA256:\n 0000000000000000000000000000000000000000000000000000000000000000 0 main/binary-amd64/Packages\n";
    private readonly string _dir = Directory.CreateTempSubdirectory("airgap-inrelease-").FullName;
    private static readonly Lazy<TestPgpKey> Trusted = new(() => TestPgpKey.Create("trusted"));
    private static readonly Lazy<TestPgpKey> Stranger = new(() => TestPgpKey.Create("stranger"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string KeyFile(TestPgpKey key, bool armored)
    {
        var path = Path.Combine(_dir, armored ? "key.asc" : "key.gpg");
        File.WriteAllBytes(path, key.PublicKey(armored));
        return path;
    }

    private static string Sign(PgpKeyPair pair, string text, int type, HashAlgorithmTag hash = HashAlgorithmTag.Sha256)
    {
        var canonical = string.Join("\r\n", text.TrimEnd('\n').Split('\n').Select(l => l.TrimEnd(' ', '\t')));
        var gen = new PgpSignatureGenerator(PublicKeyAlgorithmTag.RsaGeneral, hash);
        gen.InitSign(type, pair.PrivateKey);
        gen.Update(Encoding.UTF8.GetBytes(type == PgpSignature.CanonicalTextDocument ? canonical : text));
        using var output = new MemoryStream();
        using (var armored = new ArmoredOutputStream(output))
            gen.Generate().Encode(armored);
        return Encoding.ASCII.GetString(output.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    private static byte[] Clearsign(PgpKeyPair pair, string text, HashAlgorithmTag hash = HashAlgorithmTag.Sha256)
    {
        var escaped = string.Join('\n', text.TrimEnd('\n').Split('\n').Select(l => l.StartsWith('-') ? "- " + l : l));
        return Encoding.UTF8.GetBytes($"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n{escaped}\n{Sign(pair, text, PgpSignature.CanonicalTextDocument, hash)}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Accepts_InRelease_signed_by_the_key_and_returns_only_the_signed_text(bool armoredKey)
    {
        var verifier = InReleaseVerifier.FromKeyFile(KeyFile(Trusted.Value, armoredKey), "k8s");
        var text = verifier.VerifyClearsigned(Clearsign(Trusted.Value.Pair, ReleaseText + "Description: trailing  \n-dash line\n"));
        Assert.Equal(ReleaseText + "Description: trailing  \n-dash line\n", text);
    }

    [Fact]
    public void Accepts_Release_with_a_detached_signature()
    {
        var verifier = InReleaseVerifier.FromKeyFile(KeyFile(Trusted.Value, false), "k8s");
        var release = Encoding.UTF8.GetBytes(ReleaseText);
        Assert.Equal(ReleaseText, verifier.VerifyDetached(release, Encoding.ASCII.GetBytes(Sign(Trusted.Value.Pair, ReleaseText, PgpSignature.BinaryDocument))));
        var tampered = Encoding.UTF8.GetBytes(ReleaseText.Replace("stable", "stabla", StringComparison.Ordinal));
        var e = Assert.Throws<AirgapException>(() => verifier.VerifyDetached(tampered, Encoding.ASCII.GetBytes(Sign(Trusted.Value.Pair, ReleaseText, PgpSignature.BinaryDocument))));
        Assert.Contains("BAD signature", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_altered_text()
    {
        var verifier = InReleaseVerifier.FromKeyFile(KeyFile(Trusted.Value, true), "k8s");
        var signed = Encoding.UTF8.GetString(Clearsign(Trusted.Value.Pair, ReleaseText)).Replace("Suite: stable", "Suite: evil", StringComparison.Ordinal);
        var e = Assert.Throws<AirgapException>(() => verifier.VerifyClearsigned(Encoding.UTF8.GetBytes(signed)));
        Assert.StartsWith("repository 'k8s': InRelease has a BAD signature", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Refuses_a_signature_by_another_key_and_says_what_to_do()
    {
        var verifier = InReleaseVerifier.FromKeyFile(KeyFile(Trusted.Value, true), "k8s");
        var e = Assert.Throws<AirgapException>(() => verifier.VerifyClearsigned(Clearsign(Stranger.Value.Pair, ReleaseText)));
        Assert.Contains($"is signed only by key(s) {OpenPgpKeyRing.KeyIdText(Stranger.Value.KeyId)}", e.Message, StringComparison.Ordinal);
        Assert.Contains("--k8s-repo-key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_data_around_the_signed_message_and_weak_digests()
    {
        var verifier = InReleaseVerifier.FromKeyFile(KeyFile(Trusted.Value, true), "k8s");
        var good = Encoding.UTF8.GetString(Clearsign(Trusted.Value.Pair, ReleaseText));
        Assert.Throws<AirgapException>(() => verifier.VerifyClearsigned(Encoding.UTF8.GetBytes(good + "Suite: evil\n")));
        Assert.Throws<AirgapException>(() => verifier.VerifyClearsigned(Encoding.UTF8.GetBytes("Suite: evil\n" + good)));
        Assert.Throws<AirgapException>(() => verifier.VerifyClearsigned(Encoding.UTF8.GetBytes(ReleaseText)));
        var sha1 = Assert.Throws<AirgapException>(() => verifier.VerifyClearsigned(Clearsign(Trusted.Value.Pair, ReleaseText, HashAlgorithmTag.Sha1)));
        Assert.Contains("weak digest", sha1.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Explains_key_files_it_cannot_use()
    {
        var kbx = Path.Combine(_dir, "pubring.kbx");
        File.WriteAllBytes(kbx, [0, 0, 0, 32, 1, 1, 0, 0, (byte)'K', (byte)'B', (byte)'X', (byte)'f', 0, 0, 0, 0]);
        Assert.Contains("gpg --export", Assert.Throws<AirgapException>(() => InReleaseVerifier.FromKeyFile(kbx, "k8s")).Message, StringComparison.Ordinal);
        var junk = Path.Combine(_dir, "junk.asc");
        File.WriteAllText(junk, "not a key");
        Assert.Contains("is not an OpenPGP public key", Assert.Throws<AirgapException>(() => InReleaseVerifier.FromKeyFile(junk, "k8s")).Message, StringComparison.Ordinal);
        Assert.Contains("cannot read its key file", Assert.Throws<AirgapException>(() => InReleaseVerifier.FromKeyFile(Path.Combine(_dir, "absent.gpg"), "k8s")).Message, StringComparison.Ordinal);
    }
}
