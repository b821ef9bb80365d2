using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Build;

/// <summary>
/// Binaries from a dl.k8s.io-shaped tree and a GitHub-release-shaped mirror served over real HTTP,
/// with checksums in each form publishers use: bare hex, "hash  name", and one file for all assets.
/// </summary>
public sealed class BinariesTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private StaticHttpServer? _server;
    private readonly Dictionary<string, byte[]> _files = new();

    private StaticHttpServer Server => _server!;

    public Task InitializeAsync()
    {
        var root = _dir.Sub("www");
        foreach (var name in new[] { "kubeadm", "kubelet", "kubectl" })
            Publish(root, $"release/v1.20.2/bin/linux/amd64/{name}", sum => Convert.ToHexStringLower(sum));
        Publish(root, "github/kubernetes-sigs/cri-tools/releases/download/v1.20.0/crictl-v1.20.0-linux-amd64.tar.gz", Named("crictl-v1.20.0-linux-amd64.tar.gz"));
        Publish(root, "github/containernetworking/plugins/releases/download/v0.8.7/cni-plugins-linux-amd64-v0.8.7.tgz", Named("cni-plugins-linux-amd64-v0.8.7.tgz"));
        Publish(root, "github/containerd/containerd/releases/download/v1.4.3/containerd-1.4.3-linux-amd64.tar.gz", Named("containerd-1.4.3-linux-amd64.tar.gz"), ".sha256sum");
        var runc = Publish(root, "github/opencontainers/runc/releases/download/v1.0.0-rc92/runc.amd64", null);
        var other = RandomNumberGenerator.GetBytes(100);
        File.WriteAllText(Path.Combine(root, "github/opencontainers/runc/releases/download/v1.0.0-rc92/runc.sha256sum"),
            $"{Convert.ToHexStringLower(SHA256.HashData(other))}  runc.arm64\n{Convert.ToHexStringLower(SHA256.HashData(runc))}  runc.amd64\n");
        _server = StaticHttpServer.Start(root);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _dir.Dispose();
    }

    private static Func<byte[], string> Named(string name) => sum => $"{Convert.ToHexStringLower(sum)}  {name}\n";

    private byte[] Publish(string root, string relative, Func<byte[], string>? sumText, string suffix = ".sha256")
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var content = RandomNumberGenerator.GetBytes(4096 + _files.Count);
        File.WriteAllBytes(path, content);
        if (sumText is not null) File.WriteAllText(path + suffix, sumText(SHA256.HashData(content)));
        _files[Path.GetFileName(relative)] = content;
        return content;
    }

    private string[] Args(string output, params string[] extra) =>
    [
        "build", "--k8s", "v1.20.2", "--no-images",
        "--binaries-url", Server.BaseUri.ToString(), "--github-mirror", $"{Server.BaseUri}github", "--output", output, .. extra,
    ];

    [Fact]
    public async Task Every_binary_is_bundled_verified_with_its_published_checksum()
    {
        var cli = new AirgapCli { Cache = _dir.Sub("cache") };
        var output = _dir.Sub("out");
        var result = await cli.RunAsync(Args(output));
        Assert.True(result.Succeeded, result.ToString());
        var bundle = Path.Combine(output, "airgap-k8s-v1.20.2-linux-amd64.tar");
        Assert.True((await cli.RunAsync("verify", bundle)).Succeeded);

        var seen = new Dictionary<string, (byte[] Data, UnixFileMode Mode)>();
        await using (var f = File.OpenRead(bundle))
        {
            var reader = new TarReader(f);
            while (await reader.GetNextEntryAsync() is { } e)
            {
                if (!e.Name.StartsWith("binaries/", StringComparison.Ordinal)) continue;
                using var m = new MemoryStream();
                await e.DataStream!.CopyToAsync(m);
                seen[e.Name] = (m.ToArray(), e.Mode);
            }
        }
        Assert.Equal(7, seen.Count);
        foreach (var (name, content) in _files)
            Assert.Equal(content, seen[$"binaries/amd64/{name}"].Data);
        Assert.True(seen["binaries/amd64/kubeadm"].Mode.HasFlag(UnixFileMode.UserExecute));
        Assert.True(seen["binaries/amd64/runc.amd64"].Mode.HasFlag(UnixFileMode.UserExecute));

        var inspect = await cli.RunAsync("inspect", bundle, "-o", "json");
        using var doc = JsonDocument.Parse(inspect.Stdout);
        var binaries = doc.RootElement.GetProperty("binaries").EnumerateArray().ToDictionary(b => b.GetProperty("name").GetString()!, b => b.GetProperty("version").GetString());
        Assert.Equal("v1.20.2", binaries["kubelet"]);
        Assert.Equal("v1.20.0", binaries["crictl"]);
        Assert.Equal("v0.8.7", binaries["cni-plugins"]);
        Assert.Equal("v1.4.3", binaries["containerd"]);
        Assert.Equal("v1.0.0-rc92", binaries["runc"]);
    }

    [Fact]
    public async Task A_binary_that_does_not_match_its_checksum_is_refused()
    {
        File.WriteAllBytes(Path.Combine(Server.RootDirectory, "release/v1.20.2/bin/linux/amd64/kubelet"), RandomNumberGenerator.GetBytes(4096));
        var output = Path.Combine(_dir.Path, "out-bad");
        var result = await new AirgapCli { Cache = _dir.Sub("cache-bad") }.RunAsync(Args(output));
        Assert.NotEqual(0, result.ExitCode);
        var error = result.Stderr.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("error: ", error);
        Assert.Contains("kubelet", error);
        Assert.Contains("sha256", error);
        Assert.False(Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any());
    }

    [Fact]
    public async Task A_release_the_mirror_does_not_have_is_a_clear_error()
    {
        var output = Path.Combine(_dir.Path, "out-404");
        var result = await new AirgapCli { Cache = _dir.Sub("cache-404") }.RunAsync(Args(output, "--runc-version", "v9.9.9"));
        Assert.NotEqual(0, result.ExitCode);
        var error = result.Stderr.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("error: no published checksum for runc v9.9.9", error);
        Assert.False(Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any());
    }

    [Fact]
    public async Task A_binary_missing_beside_its_checksum_is_a_404_naming_the_url()
    {
        File.Delete(Path.Combine(Server.RootDirectory, "github/containernetworking/plugins/releases/download/v0.8.7/cni-plugins-linux-amd64-v0.8.7.tgz"));
        var result = await new AirgapCli { Cache = _dir.Sub("cache-missing") }.RunAsync(Args(Path.Combine(_dir.Path, "out-missing")));
        Assert.NotEqual(0, result.ExitCode);
        var error = result.Stderr.TrimEnd().Split('\n')[^1];
        Assert.Contains("cni-plugins-linux-amd64-v0.8.7.tgz", error);
        Assert.Contains("404", error);
    }
}
