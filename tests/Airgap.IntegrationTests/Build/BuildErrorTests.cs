using System.Formats.Tar;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Build;

/// <summary>
/// Bad input: each gets one error line naming the thing, a non-zero exit, and nothing left in the
/// output directory — against real servers, not simulations of them.
/// </summary>
public sealed class BuildErrorTests(BuildFixture fixture) : IClassFixture<BuildFixture>
{
    private static void AssertOneLineError(ProcessResult result, params string[] mentions)
    {
        Assert.NotEqual(0, result.ExitCode);
        var errors = result.Stderr.Split('\n').Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 1, "expected exactly one error line: " + result);
        Assert.Equal(errors[0], result.Stderr.TrimEnd('\n').Split('\n')[^1]);
        foreach (var m in mentions) Assert.Contains(m, errors[0]);
    }

    private static void AssertNothingWritten(string output) =>
        Assert.Empty(Directory.Exists(output) ? Directory.GetFileSystemEntries(output) : []);

    [Fact]
    public async Task Unknown_version_names_the_known_ones_and_kubeadm()
    {
        using var dir = new TempDir();
        var output = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(fixture.BuildArgs(output).Select(a => a == "v1.20.2" ? "v1.99.0" : a).ToArray());
        AssertOneLineError(result, "v1.99.0", "v1.20.0", "--kubeadm");
        AssertNothingWritten(output);
    }

    [Fact]
    public async Task Malformed_reference_is_named()
    {
        using var dir = new TempDir();
        var output = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(fixture.BuildArgs(output, "--image", "Not/A:valid ref"));
        AssertOneLineError(result, "Not/A:valid ref", "not a valid image reference");
        AssertNothingWritten(output);
    }

    [Fact]
    public async Task Registry_down_says_connection_refused()
    {
        using var dir = new TempDir();
        var output = Path.Combine(dir.Path, "out");
        var port = Airgap.TestKit.Infrastructure.Net.FreeLoopbackPort();
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(
            "build", "--k8s", "v1.20.2", "--image-repository", $"127.0.0.1:{port}/google_containers", "--cni", "none", "--no-binaries", "--output", output);
        AssertOneLineError(result, $"127.0.0.1:{port}", "connection refused");
        AssertNothingWritten(output);
    }

    [Fact]
    public async Task Missing_image_is_a_404_naming_the_image()
    {
        using var dir = new TempDir();
        var output = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(fixture.BuildArgs(output, "--image", $"{fixture.Registry.Host}/library/missing:1.0"));
        AssertOneLineError(result, "library/missing:1.0", "404");
        AssertNothingWritten(output);
    }

    [Fact]
    public async Task All_mirrors_failing_lists_every_place_tried()
    {
        using var dir = new TempDir();
        var output = Path.Combine(dir.Path, "out");
        var down = Airgap.TestKit.Infrastructure.Net.FreeLoopbackPort();
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(
            "build", "--k8s", "v1.20.2", "--image-repository", $"{fixture.Registry.Host}/google_containers", "--cni", "none", "--no-binaries",
            "--image", "127.0.0.9:1/team/tool:2.0",
            "--mirror", $"127.0.0.9:1={fixture.Registry.Host}/nothing-here",
            "--mirror", $"127.0.0.9:1=127.0.0.1:{down}",
            "--output", output);
        AssertOneLineError(result, "127.0.0.9:1/team/tool:2.0", $"{fixture.Registry.Host}/nothing-here/team/tool:2.0 (404", $"127.0.0.1:{down}/team/tool:2.0 (connection refused)");
        AssertNothingWritten(output);
    }

    [Fact]
    public async Task A_blob_with_the_wrong_content_is_rejected()
    {
        await using var registry = await RegistryServer.StartAsync();
        var set = await SampleImages.PushKubernetesSetAsync(registry, arches: ["amd64"]);
        var own = set.Find("kube-scheduler").Platforms[0].Blobs.Keys
            .First(d => set.All.Count(i => i.Platforms.Any(p => p.Blobs.ContainsKey(d))) == 1 && d != set.Find("kube-scheduler").Platforms[0].Digest);
        var path = registry.BlobDataPath(own);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(path, bytes);

        using var dir = new TempDir();
        var output = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(
            "build", "--k8s", "v1.20.2", "--image-repository", $"{registry.Host}/google_containers", "--cni", "none", "--no-binaries", "--output", output);
        AssertOneLineError(result, own, "corrupt");
        AssertNothingWritten(output);
        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "c", "blobs", "sha256"), own[7..]));
    }

    [Fact]
    public async Task Basic_auth_works_with_the_right_password_and_a_wrong_one_is_a_401()
    {
        await using var registry = await RegistryServer.StartAsync(new RegistryOptions { Credentials = new RegistryCredentials("builder", "s3cret") });
        await SampleImages.PushKubernetesSetAsync(registry, arches: ["amd64"]);
        using var dir = new TempDir();
        var cli = new AirgapCli { Cache = dir.Sub("c") };
        string[] Args(string password, string output) =>
            ["build", "--k8s", "v1.20.2", "--image-repository", $"{registry.Host}/google_containers", "--cni", "none", "--no-binaries",
             "--username", "builder", "--password", password, "--output", output];

        var wrongOutput = Path.Combine(dir.Path, "wrong");
        var wrong = await cli.RunAsync(Args("guess", wrongOutput));
        AssertOneLineError(wrong, registry.Host, "401");
        AssertNothingWritten(wrongOutput);

        var anonymous = await cli.RunAsync("build", "--k8s", "v1.20.2", "--image-repository", $"{registry.Host}/google_containers", "--cni", "none", "--no-binaries", "--output", wrongOutput);
        AssertOneLineError(anonymous, registry.Host, "login");

        var right = await cli.RunAsync(Args("s3cret", Path.Combine(dir.Path, "right")));
        Assert.True(right.Succeeded, right.ToString());
    }

    [Fact]
    public async Task Docker_config_credentials_are_used()
    {
        await using var registry = await RegistryServer.StartAsync(new RegistryOptions { Credentials = new RegistryCredentials("ci", "from-config") });
        await SampleImages.PushKubernetesSetAsync(registry, arches: ["amd64"]);
        using var dir = new TempDir();
        var dockerConfig = dir.Sub("docker");
        var auth = Convert.ToBase64String("ci:from-config"u8.ToArray());
        await File.WriteAllTextAsync(Path.Combine(dockerConfig, "config.json"), "{\"auths\":{\"" + registry.Host + "\":{\"auth\":\"" + auth + "\"}}}");
        var result = await new AirgapCli { Cache = dir.Sub("c"), DockerConfig = dockerConfig }.RunAsync(
            "build", "--k8s", "v1.20.2", "--image-repository", $"{registry.Host}/google_containers", "--cni", "none", "--no-binaries", "--output", dir.Sub("out"));
        Assert.True(result.Succeeded, result.ToString());
    }

    [Fact]
    public async Task A_damaged_cache_is_caught_when_the_next_build_reads_it()
    {
        using var dir = new TempDir();
        var cache = dir.Sub("c");
        var cli = new AirgapCli { Cache = cache };
        Assert.True((await cli.RunAsync(fixture.BuildArgs(dir.Sub("first")))).Succeeded);
        var layer = new FileInfo(Directory.GetFiles(Path.Combine(cache, "blobs", "sha256")).Select(f => new FileInfo(f)).MaxBy(f => f.Length)!.FullName);
        var bytes = await File.ReadAllBytesAsync(layer.FullName);
        bytes[bytes.Length / 3] ^= 0x01;
        await File.WriteAllBytesAsync(layer.FullName, bytes);

        var output = Path.Combine(dir.Path, "second");
        AssertOneLineError(await cli.RunAsync(fixture.BuildArgs(output)), layer.Name, "cache is damaged");
        AssertNothingWritten(output);
    }

    [Fact]
    public async Task Verify_rejects_a_corrupted_bundle()
    {
        using var dir = new TempDir();
        var copy = Path.Combine(dir.Path, "b.tar");
        File.Copy(fixture.BundlePath, copy);
        await using (var f = new FileStream(copy, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = f.Length / 2;
            var b = f.ReadByte();
            f.Position = f.Length / 2;
            f.WriteByte((byte)(b ^ 0x55));
        }
        AssertOneLineError(await fixture.Cli.RunAsync("verify", copy), copy, "corrupt");
    }

    [Fact]
    public async Task Verify_rejects_a_truncated_bundle()
    {
        using var dir = new TempDir();
        var copy = Path.Combine(dir.Path, "b.tar");
        var bytes = await File.ReadAllBytesAsync(fixture.BundlePath);
        await File.WriteAllBytesAsync(copy, bytes[..(bytes.Length * 2 / 3)]);
        AssertOneLineError(await fixture.Cli.RunAsync("verify", copy), copy);
    }

    [Fact]
    public async Task Verify_rejects_path_traversal_in_a_crafted_archive()
    {
        using var dir = new TempDir();
        var evil = Path.Combine(dir.Path, "evil.tar");
        await using (var f = File.Create(evil))
        await using (var w = new TarWriter(f, TarEntryFormat.Ustar))
        {
            var e = new UstarTarEntry(TarEntryType.RegularFile, "../../etc/cron.d/x") { DataStream = new MemoryStream("boom"u8.ToArray()) };
            await w.WriteEntryAsync(e);
        }
        AssertOneLineError(await fixture.Cli.RunAsync("verify", evil), "../../etc/cron.d/x", "path traversal");
        AssertOneLineError(await fixture.Cli.RunAsync("inspect", evil), "path traversal");
    }

    [Fact]
    public async Task Verify_of_a_missing_file_says_so()
    {
        AssertOneLineError(await fixture.Cli.RunAsync("verify", "/nonexistent/b.tar"), "/nonexistent/b.tar", "does not exist");
    }

    [Fact]
    public async Task Bad_flags_are_one_line_with_exit_2()
    {
        var result = await fixture.Cli.RunAsync("build", "--k8s", "v1.20.2", "--no-such-flag");
        Assert.Equal(2, result.ExitCode);
        AssertOneLineError(result, "--no-such-flag", "--help");
        AssertOneLineError(await fixture.Cli.RunAsync("build", "--k8s", "v1.20.2", "--arch", "s390x", "--cni", "none"), "s390x");
        AssertOneLineError(await fixture.Cli.RunAsync("build"), "--k8s");
    }
}
