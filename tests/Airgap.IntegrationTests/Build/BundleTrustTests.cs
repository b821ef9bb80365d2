using System.Text.Json;
using Airgap.Bundles;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Build;

/// <summary>
/// A signed bundle built from a real registry, checked by our verify, install and join and by openssl
/// (the standard tool a site has), and refused in one line when bundle.yaml, a member or the key is wrong.
/// </summary>
public sealed class BundleTrustTests(BuildFixture fixture) : IClassFixture<BuildFixture>, IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private async Task<(string Bundle, GeneratedKey Key)> SignedBuildAsync()
    {
        var key = await GenerateAsync("site");
        var build = await fixture.Cli.RunAsync(fixture.BuildArgs(dir.Sub("signed"), "--sign-key", key.PrivateKeyPath));
        Assert.True(build.Succeeded, build.ToString());
        Assert.Contains($"signed by {key.Fingerprint}", build.Stdout);
        return (Path.Combine(dir.Path, "signed", "airgap-k8s-v1.20.2-linux-amd64.tar"), key);
    }

    private async Task<GeneratedKey> GenerateAsync(string name)
    {
        var result = await fixture.Cli.RunAsync("key", "generate", "--out", Path.Combine(dir.Path, name), "-o", "json");
        Assert.True(result.Succeeded, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        return new GeneratedKey(root.GetProperty("privateKey").GetString()!, root.GetProperty("publicKey").GetString()!, root.GetProperty("fingerprint").GetString()!);
    }

    private static void RefusedInOneLine(ProcessResult result, string contains)
    {
        Assert.Equal(1, result.ExitCode);
        var lines = result.Stderr.Trim().Split('\n');
        Assert.StartsWith("error: ", lines[^1]);
        Assert.Contains(contains, lines[^1]);
        Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));
    }

    private static Task<ProcessResult> Sh(string script, string workingDirectory) =>
        ProcessRunner.RunAsync("/bin/sh", ["-c", script], workingDirectory: workingDirectory);

    [Fact]
    public async Task A_signed_bundle_verifies_with_our_cli_and_with_openssl_and_names_its_signer()
    {
        var (bundle, key) = await SignedBuildAsync();

        var verify = await fixture.Cli.RunAsync("verify", bundle, "--trust-key", key.PublicKeyPath);
        Assert.True(verify.Succeeded, verify.ToString());
        Assert.EndsWith($", signed by {key.Fingerprint} ({key.PublicKeyPath})", verify.Stdout.Trim());

        var extracted = dir.Sub("x");
        await BuiltBundleTests.ExtractAsync(bundle, extracted);
        var openssl = await ProcessRunner.RunAsync("openssl", ["dgst", "-sha256", "-verify", key.PublicKeyPath, "-signature", "bundle.yaml.sig", "bundle.yaml"], workingDirectory: extracted);
        Assert.True(openssl.Succeeded, openssl.ToString());
        Assert.Equal("Verified OK", openssl.Stdout.Trim());
        Assert.True((await ProcessRunner.RunAsync("sha256sum", ["--strict", "-c", "SHA256SUMS"], workingDirectory: extracted)).Succeeded);
        // The README's check of every member against the sums the signed bundle.yaml lists.
        var members = await Sh("""awk '/^files:/{f=1; next} /^[^ -]/{f=0} f && /^- path:/{p=$3} f && /^  sha256:/{print $2"  "p}' bundle.yaml | sha256sum --strict -c""", extracted);
        Assert.True(members.Succeeded, members.ToString());
        Assert.Contains("manifests/kube-flannel.yml: OK", members.Stdout);
        Assert.Contains("sbom.cdx.json: OK", members.Stdout);

        // The fingerprint people compare by phone is the one openssl prints from the public key file.
        var fingerprint = await Sh(KeyFingerprint.OpensslCommand.Replace("PUB.pem", key.PublicKeyPath, StringComparison.Ordinal), extracted);
        Assert.Equal(key.Fingerprint, "SHA256:" + fingerprint.Stdout.Trim());

        // openssl refuses what we refuse: bundle.yaml changed by one byte.
        var yaml = Path.Combine(extracted, "bundle.yaml");
        var bytes = await File.ReadAllBytesAsync(yaml);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(yaml, bytes);
        var bad = await ProcessRunner.RunAsync("openssl", ["dgst", "-sha256", "-verify", key.PublicKeyPath, "-signature", "bundle.yaml.sig", "bundle.yaml"], workingDirectory: extracted);
        Assert.False(bad.Succeeded);
        Assert.Contains("Verification failure", bad.Stdout + bad.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Signing_adds_bundle_yaml_sig_and_leaves_every_other_member_byte_identical()
    {
        var (bundle, _) = await SignedBuildAsync();
        var signed = await MembersAsync(bundle);
        var plain = await MembersAsync(fixture.BundlePath);

        Assert.Equal(["bundle.yaml", "SHA256SUMS", "bundle.yaml.sig"], signed.Keys.Take(3));
        Assert.Equal(plain.Keys, signed.Keys.Where(k => k != BundleSignature.FileName));
        foreach (var (name, sha) in plain) Assert.Equal(sha, signed[name]);
        Assert.Contains(BundleSbom.FileName, plain.Keys);
    }

    [Fact]
    public async Task A_flipped_byte_in_bundle_yaml_or_in_a_member_or_another_key_is_refused_in_one_line()
    {
        var (bundle, key) = await SignedBuildAsync();

        var yamlFlipped = Path.Combine(dir.Path, "yaml-flipped.tar");
        File.Copy(bundle, yamlFlipped);
        await FlipAsync(yamlFlipped, "bundle.yaml", "kubernetes: v1.20.2", "kubernetes: v1.20.3");
        RefusedInOneLine(await fixture.Cli.RunAsync("verify", yamlFlipped, "--trust-key", key.PublicKeyPath),
            $"{yamlFlipped}: bundle.yaml.sig does not verify with any trusted key ({key.Fingerprint})");

        var memberFlipped = Path.Combine(dir.Path, "member-flipped.tar");
        File.Copy(bundle, memberFlipped);
        await FlipAsync(memberFlipped, "manifests/kube-flannel.yml", "kube-flannel", "kube-flannex");
        RefusedInOneLine(await fixture.Cli.RunAsync("verify", memberFlipped, "--trust-key", key.PublicKeyPath), "manifests/kube-flannel.yml has sha256");

        var other = await GenerateAsync("other");
        RefusedInOneLine(await fixture.Cli.RunAsync("verify", bundle, "--trust-key", other.PublicKeyPath),
            $"bundle.yaml.sig does not verify with any trusted key ({other.Fingerprint})");
        RefusedInOneLine(await fixture.Cli.RunAsync("install", "--bundle", bundle, "--single-node", "--dry-run", "--trust-key", other.PublicKeyPath),
            "does not verify with any trusted key");
    }

    [Fact]
    public async Task An_unsigned_bundle_is_refused_by_a_node_with_a_trust_key_and_only_warned_about_without_one()
    {
        var key = await GenerateAsync("node");
        var unsigned = fixture.BundlePath;
        var expected = $"{unsigned} is unsigned, but this host trusts only bundles signed by {key.Fingerprint}; use the bundle built with airgap build --sign-key";

        RefusedInOneLine(await fixture.Cli.RunAsync("install", "--bundle", unsigned, "--single-node", "--dry-run", "--trust-key", key.PublicKeyPath), expected);
        RefusedInOneLine(await fixture.Cli.RunAsync("join", "--bundle", unsigned, "--endpoint", "10.0.0.1:6443", "--token", "abcdef.0123456789abcdef",
            "--discovery-token-ca-cert-hash", "sha256:" + new string('a', 64), "--dry-run", "--trust-key", key.PublicKeyPath), expected);
        RefusedInOneLine(await fixture.Cli.RunAsync("verify", unsigned, "--trust-key", key.PublicKeyPath), expected);

        var verify = await fixture.Cli.RunAsync("verify", unsigned);
        Assert.True(verify.Succeeded, verify.ToString());
        Assert.EndsWith(", unsigned", verify.Stdout.Trim());
        var inspect = await fixture.Cli.RunAsync("inspect", unsigned);
        Assert.Contains("signature:   unsigned", inspect.Stdout);
        Assert.Contains("sbom:        sbom.cdx.json (CycloneDX 1.5 JSON: 8 images", inspect.Stdout);
        var dryRun = await fixture.Cli.RunAsync("install", "--bundle", unsigned, "--single-node", "--dry-run");
        Assert.Contains($"warning: {Path.GetFileName(unsigned)}: unsigned", dryRun.Stdout + dryRun.Stderr);
    }

    [Fact]
    public async Task The_sbom_inside_the_bundle_lists_every_image_by_its_manifest_digest()
    {
        var extracted = dir.Sub("sbom");
        await BuiltBundleTests.ExtractAsync(fixture.BundlePath, extracted);
        using var bom = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(extracted, BundleSbom.FileName)));
        var images = bom.RootElement.GetProperty("components").EnumerateArray().Where(c => c.GetProperty("type").GetString() == "container").ToList();
        Assert.Equal(BuildFixture.CanonicalNames.Length, images.Count);
        var apiserver = images.Single(i => i.GetProperty("bom-ref").GetString() == "image:k8s.gcr.io/kube-apiserver:v1.20.2");
        Assert.Equal(fixture.Set.Find("kube-apiserver").PlatformDigest("amd64")[7..], apiserver.GetProperty("hashes")[0].GetProperty("content").GetString());
        Assert.Contains("sbom.cdx.json", await File.ReadAllTextAsync(Path.Combine(extracted, "SHA256SUMS")));
    }

    private static async Task FlipAsync(string bundle, string member, string from, string to)
    {
        using var index = await BundleIndex.OpenAsync(bundle, default);
        var m = index.Find(member)!;
        await using var file = new FileStream(bundle, FileMode.Open, FileAccess.ReadWrite);
        var data = new byte[m.Size];
        file.Position = m.Offset;
        await file.ReadExactlyAsync(data);
        var at = System.Text.Encoding.UTF8.GetString(data).IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, $"{member} does not contain {from}");
        var diff = Enumerable.Range(0, from.Length).First(i => from[i] != to[i]);
        file.Position = m.Offset + at + diff;
        file.WriteByte((byte)to[diff]);
    }

    private static async Task<Dictionary<string, string>> MembersAsync(string bundle)
    {
        var result = new Dictionary<string, string>();
        await using var file = File.OpenRead(bundle);
        var reader = new System.Formats.Tar.TarReader(file);
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            if (entry.DataStream is { } data)
            {
                var buffer = new byte[1 << 16];
                int n;
                while ((n = await data.ReadAsync(buffer)) > 0) sha.AppendData(buffer, 0, n);
            }
            result.Add(entry.Name, Convert.ToHexStringLower(sha.GetHashAndReset()));
        }
        return result;
    }
}
