using System.Text.Json;
using Airgap.Packages.Apt;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Packages;

/// <summary>
/// Repository keys that expire, with keys gpg made: the listing of shipped keys agrees with
/// `gpg --show-keys`, and a build against a repository signed by a key that has expired says which
/// key, when, and how to give a current one.
/// </summary>
public sealed class RepositoryKeyTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static string RepositoryRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "Airgap.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("no Airgap.sln above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task Key_list_shows_every_shipped_key_with_the_fingerprint_and_expiry_gpg_shows()
    {
        var cli = new AirgapCli { Cache = dir.Sub("cache") };
        var list = await cli.RunAsync("key", "list", "-o", "json");
        Assert.True(list.Succeeded, list.ToString());
        using var json = JsonDocument.Parse(list.Stdout);
        var ours = json.RootElement.GetProperty("repositoryKeys").EnumerateArray()
            .Select(k => (File: k.GetProperty("file").GetString()!, Fingerprint: k.GetProperty("fingerprint").GetString()!,
                Expires: k.TryGetProperty("expires", out var e) && e.ValueKind != JsonValueKind.Null ? e.GetDateTimeOffset() : (DateTimeOffset?)null))
            .ToList();

        var gpg = new List<(string, string, DateTimeOffset?)>();
        var home = dir.Sub("gnupg");
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot(), "manifests", "keys"), "*.gpg").Order(StringComparer.Ordinal))
        {
            var shown = await ProcessRunner.RunAsync("/usr/bin/env", [$"GNUPGHOME={home}", "gpg", "--batch", "--with-colons", "--show-keys", file]);
            Assert.True(shown.Succeeded, shown.ToString());
            var lines = shown.Stdout.Split('\n').Select(l => l.Split(':')).ToList();
            for (var i = 0; i < lines.Count; i++)
            {
                if (lines[i][0] != "pub") continue;
                var expires = lines[i][6].Length == 0 ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeSeconds(long.Parse(lines[i][6]));
                // Designated revokers ("rvk") may come between a key and its fingerprint.
                var fpr = lines.Skip(i + 1).First(l => l[0] == "fpr")[9];
                gpg.Add((Path.GetFileName(file), fpr, expires));
            }
        }
        Assert.Equal(gpg, ours);
        Assert.Contains(ours, k => k.File == "kubernetes-pkgs.gpg" && k.Expires!.Value.UtcDateTime.Date == new DateTime(2026, 12, 29));

        var text = await cli.RunAsync("key", "list");
        Assert.Matches(@"kubernetes-pkgs\.gpg\s+DE15B14486CD377B9E876E1A234654DA9A296436\s+(expires|EXPIRED on) 2026-12-29", text.Stdout);
    }

    [Fact]
    public async Task A_build_against_a_repository_signed_by_an_expired_key_names_the_key_the_date_and_k8s_repo_key()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        await using var gpg = new GpgKeyring(dir.Sub("gnupg-expired"));
        // Made and used in 2020 (gpg's own clock set back), valid for a year: long expired by now.
        await gpg.RunAsync(ct, "--faked-system-time", "20200101T000000!", "--quick-gen-key", "Expired repo <expired@airgap.test>", "rsa2048", "sign", "1y");
        var key = Path.Combine(dir.Path, "expired.gpg");
        await gpg.ExportBinaryAsync("expired@airgap.test", key, ct);
        var colons = (await gpg.RunAsync(ct, "--with-colons", "--show-keys", key)).Split('\n').Select(l => l.Split(':')).ToList();
        var pub = colons.First(l => l[0] == "pub");
        var fingerprint = colons.First(l => l[0] == "fpr")[9];
        var expired = DateTimeOffset.FromUnixTimeSeconds(long.Parse(pub[6]));
        Assert.True(expired < DateTimeOffset.UtcNow);

        // A pkgs.k8s.io-shaped (flat) repository signed with it while it was valid.
        var www = dir.Sub("www");
        var release = "Origin: test\nLabel: test\nSuite: stable\nArchitectures: amd64\nSHA256:\n";
        await File.WriteAllTextAsync(Path.Combine(www, "Release"), release, ct);
        await gpg.RunAsync(ct, "--faked-system-time", "20200601T000000!", "--local-user", "expired@airgap.test", "--armor", "--detach-sign",
            "--output", Path.Combine(www, "Release.gpg"), Path.Combine(www, "Release"));
        await using var server = StaticHttpServer.Start(www);

        var expected = $"repository 'kubernetes': its signing key {fingerprint} ({key}) expired on {expired:yyyy-MM-dd}; " +
                       "download the current key (for pkgs.k8s.io: https://pkgs.k8s.io/core:/stable:/vMAJOR.MINOR/deb/Release.key) and give it with --k8s-repo-key FILE";

        var cli = new AirgapCli { Cache = dir.Sub("cache") };
        var build = await cli.RunAsync("build", "--k8s", "v1.28.0", "--os", "debian-12", "--cni", "none", "--no-images", "--no-binaries",
            "--os-mirror", "http://127.0.0.1:9/debian", "--k8s-repo", server.BaseUri.ToString(), "--k8s-repo-key", key, "--output", dir.Sub("out"));
        Assert.Equal(1, build.ExitCode);
        Assert.Equal("error: " + expected, build.Stderr.Trim().Split('\n')[^1]);
        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "out")));

        // The signature check itself, on the repository's real Release and Release.gpg, gives the same line.
        var verifier = InReleaseVerifier.FromKeyFile(key, "kubernetes");
        var releaseBytes = await File.ReadAllBytesAsync(Path.Combine(www, "Release"), ct);
        var signatureBytes = await File.ReadAllBytesAsync(Path.Combine(www, "Release.gpg"), ct);
        var e = Assert.Throws<AirgapException>(() => verifier.VerifyDetached(releaseBytes, signatureBytes));
        Assert.Equal(expected, e.Message);
    }
}
