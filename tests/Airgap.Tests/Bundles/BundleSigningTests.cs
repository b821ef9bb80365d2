using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Airgap.Bundles;

namespace Airgap.Tests.Bundles;

/// <summary>Key pairs, deterministic signatures over bundle.yaml, and the one check every bundle reader uses.</summary>
public sealed class BundleSigningTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("airgap-signing-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private GeneratedKey NewKey(string name) => BundleSigningKey.Generate(Path.Combine(work, name));

    private static IReadOnlyList<BundleMember> Members() =>
    [
        BundleMember.FromBytes("manifests/kube-flannel.yml", "kind: DaemonSet\n"u8.ToArray()),
        BundleMember.FromBytes("binaries/amd64/kubeadm", Encoding.ASCII.GetBytes(new string('k', 5000)), 0x1ED),
    ];

    private async Task<string> WriteAsync(string name, BundleSigningKey? signer)
    {
        var path = Path.Combine(work, name);
        var document = new BundleDocument { Name = "t", Kubernetes = "v1.20.2", Arch = "amd64" };
        await BundleWriter.WriteAsync(path, document, Members(), NullProgress.Instance, default, signer);
        return path;
    }

    private static async Task<List<(string Name, byte[] Data)>> ReadAsync(string bundle)
    {
        var list = new List<(string, byte[])>();
        await using var file = File.OpenRead(bundle);
        var reader = new TarReader(file);
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            using var memory = new MemoryStream();
            entry.DataStream?.CopyTo(memory);
            list.Add((entry.Name, memory.ToArray()));
        }
        return list;
    }

    [Fact]
    public void Generate_writes_a_private_key_only_its_owner_reads_and_never_replaces_one()
    {
        var key = NewKey("site");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key.PrivateKeyPath));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(key.PrivateKeyPath));
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", File.ReadAllText(key.PublicKeyPath));
        Assert.Equal(key.Fingerprint, BundleSigningKey.Load(key.PrivateKeyPath).Fingerprint);
        Assert.Equal(key.Fingerprint, BundleTrust.LoadKey(key.PublicKeyPath).Fingerprint);
        Assert.Matches("^SHA256:[A-Za-z0-9+/]{43}$", key.Fingerprint);

        var before = File.ReadAllBytes(key.PrivateKeyPath);
        var e = Assert.Throws<AirgapException>(() => BundleSigningKey.Generate(Path.Combine(work, "site")));
        Assert.Contains("already exists", e.Message);
        Assert.Equal(before, File.ReadAllBytes(key.PrivateKeyPath));
    }

    [Fact]
    public void A_signature_is_DER_ECDSA_over_SHA256_and_the_same_for_the_same_key_and_data()
    {
        var key = NewKey("k");
        var signer = BundleSigningKey.Load(key.PrivateKeyPath);
        var data = "apiVersion: airgap/v1\n"u8.ToArray();

        var first = signer.Sign(data);
        Assert.Equal(first, signer.Sign(data));
        Assert.NotEqual(first, signer.Sign("apiVersion: airgap/v2\n"u8.ToArray()));
        Assert.Equal(0x30, first[0]); // an ASN.1 SEQUENCE of r and s, not the raw r||s form

        using var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(File.ReadAllText(key.PublicKeyPath));
        Assert.True(ecdsa.VerifyData(data, first, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public async Task Signing_adds_one_member_after_SHA256SUMS_and_changes_no_other_byte()
    {
        var signer = BundleSigningKey.Load(NewKey("k").PrivateKeyPath);
        var plain = await ReadAsync(await WriteAsync("plain.tar", null));
        var signedPath = await WriteAsync("signed.tar", signer);
        var signed = await ReadAsync(signedPath);

        Assert.Equal(["bundle.yaml", "SHA256SUMS", "bundle.yaml.sig", "binaries/amd64/kubeadm", "manifests/kube-flannel.yml"], signed.Select(m => m.Name));
        var withoutSignature = signed.Where(m => m.Name != BundleSignature.FileName).ToList();
        Assert.Equal(plain.Select(m => m.Name), withoutSignature.Select(m => m.Name));
        for (var i = 0; i < plain.Count; i++) Assert.Equal(plain[i].Data, withoutSignature[i].Data);
        Assert.DoesNotContain("bundle.yaml.sig", Encoding.UTF8.GetString(signed[1].Data));

        // Reproducible with the signature too: RFC 6979 nonces.
        Assert.Equal(File.ReadAllBytes(signedPath), File.ReadAllBytes(await WriteAsync("again.tar", signer)));
    }

    [Fact]
    public async Task Verify_names_the_signer_and_says_unsigned_or_unchecked_without_trust_keys()
    {
        var key = NewKey("k");
        var signed = await WriteAsync("signed.tar", BundleSigningKey.Load(key.PrivateKeyPath));
        var unsigned = await WriteAsync("unsigned.tar", null);
        var trust = BundleTrust.Load([key.PublicKeyPath], directory: null);

        var report = await BundleReader.VerifyAsync(signed, NullProgress.Instance, trust, default);
        Assert.Equal(SignatureState.Verified, report.Signature.State);
        Assert.Equal($"signed by {key.Fingerprint} ({key.PublicKeyPath})", report.Signature.Describe());

        Assert.Equal(SignatureState.NotChecked, (await BundleReader.VerifyAsync(signed, NullProgress.Instance, BundleTrust.None, default)).Signature.State);
        var plain = await BundleReader.VerifyAsync(unsigned, NullProgress.Instance, BundleTrust.None, default);
        Assert.Equal("unsigned", plain.Signature.Describe());
        Assert.Equal(SignatureState.Verified, (await BundleSignature.CheckAsync(signed, trust, default)).State);
    }

    [Fact]
    public async Task An_unsigned_bundle_or_another_key_s_signature_is_refused_in_one_line_when_a_key_is_trusted()
    {
        var trusted = NewKey("trusted");
        var trust = BundleTrust.Load([trusted.PublicKeyPath], directory: null);
        var unsigned = await WriteAsync("unsigned.tar", null);
        var other = await WriteAsync("other.tar", BundleSigningKey.Load(NewKey("other").PrivateKeyPath));

        var e = await Assert.ThrowsAsync<AirgapException>(() => BundleReader.VerifyAsync(unsigned, NullProgress.Instance, trust, default));
        Assert.Equal($"{unsigned} is unsigned, but this host trusts only bundles signed by {trusted.Fingerprint}; " +
                     "use the bundle built with airgap build --sign-key (it holds bundle.yaml.sig)", e.Message);
        e = await Assert.ThrowsAsync<AirgapException>(() => BundleSignature.CheckAsync(other, trust, default));
        Assert.StartsWith($"{other}: bundle.yaml.sig does not verify with any trusted key ({trusted.Fingerprint})", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task A_flipped_byte_in_a_signed_bundle_yaml_is_named_as_a_bad_signature()
    {
        var key = NewKey("k");
        var bundle = await WriteAsync("signed.tar", BundleSigningKey.Load(key.PrivateKeyPath));
        using (var index = await BundleIndex.OpenAsync(bundle, default))
        {
            var yaml = index.Find("bundle.yaml")!;
            await using var file = new FileStream(bundle, FileMode.Open, FileAccess.ReadWrite);
            // "name: t" → "name: u": still valid YAML, so only the signature can tell.
            var text = new byte[yaml.Size];
            file.Position = yaml.Offset;
            file.ReadExactly(text);
            var at = Encoding.ASCII.GetString(text).IndexOf("name: t", StringComparison.Ordinal) + "name: ".Length;
            file.Position = yaml.Offset + at;
            file.WriteByte((byte)'u');
        }

        var e = await Assert.ThrowsAsync<AirgapException>(() =>
            BundleReader.VerifyAsync(bundle, NullProgress.Instance, BundleTrust.Load([key.PublicKeyPath], directory: null), default));
        Assert.Contains("bundle.yaml.sig does not verify with any trusted key", e.Message);
    }

    [Fact]
    public void Trust_keys_come_from_flags_and_the_directory_and_a_bad_one_there_is_an_error_not_skipped()
    {
        var a = NewKey("a");
        var b = NewKey("b");
        var directory = Path.Combine(work, "trusted");
        Directory.CreateDirectory(directory);
        File.Copy(b.PublicKeyPath, Path.Combine(directory, "b.pem"));
        File.WriteAllText(Path.Combine(directory, "notes.txt"), "not a key, not *.pem");

        var trust = BundleTrust.Load([a.PublicKeyPath, a.PublicKeyPath], directory);
        Assert.Equal([a.Fingerprint, b.Fingerprint], trust.Keys.Select(k => k.Fingerprint));
        Assert.False(BundleTrust.Load([], Path.Combine(work, "absent")).Required);

        File.Copy(a.PrivateKeyPath, Path.Combine(directory, "oops.pem"));
        var e = Assert.Throws<AirgapException>(() => BundleTrust.Load([], directory));
        Assert.Contains("oops.pem is a private key", e.Message);
    }

    [Fact]
    public void A_public_key_given_as_the_signing_key_says_where_it_belongs()
    {
        var key = NewKey("k");
        var e = Assert.Throws<AirgapException>(() => BundleSigningKey.Load(key.PublicKeyPath));
        Assert.Contains("it is a public key: that one goes to --trust-key", e.Message);

        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var other = Path.Combine(work, "p384.pem");
        File.WriteAllText(other, p384.ExportPkcs8PrivateKeyPem());
        Assert.Contains("another curve", Assert.Throws<AirgapException>(() => BundleSigningKey.Load(other)).Message);
    }

    [Fact]
    public void A_trust_key_sent_to_a_node_as_pem_is_the_same_key_under_a_name_derived_from_it()
    {
        var key = NewKey("site");
        var trusted = BundleTrust.LoadKey(key.PublicKeyPath);
        var copy = Path.Combine(work, trusted.FileName);
        File.WriteAllText(copy, trusted.Pem);

        var shipped = BundleTrust.LoadKey(copy);
        Assert.Equal(key.Fingerprint, shipped.Fingerprint);
        Assert.Equal(trusted.FileName, shipped.FileName);
        Assert.Matches("^airgap-[0-9a-f]{16}\\.pem$", trusted.FileName);
        Assert.NotEqual(trusted.FileName, BundleTrust.LoadKey(NewKey("other").PublicKeyPath).FileName);
    }

    [Fact]
    public void Keys_from_the_flag_and_from_a_config_file_both_count_once_each()
    {
        var site = NewKey("site");
        var other = NewKey("other");
        var flag = BundleTrust.Load([site.PublicKeyPath], directory: null);
        var config = BundleTrust.Load([other.PublicKeyPath, site.PublicKeyPath], directory: null);

        var both = flag.With(config);
        Assert.Equal([site.Fingerprint, other.Fingerprint], both.Keys.Select(k => k.Fingerprint));
        Assert.False(BundleTrust.None.With(BundleTrust.None).Required);
        Assert.Equal(flag.Keys, flag.With(BundleTrust.None).Keys);
    }
}
