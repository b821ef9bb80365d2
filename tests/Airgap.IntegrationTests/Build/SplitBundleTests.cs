using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Airgap.Bundles;
using Airgap.Bundles.Parts;
using Airgap.Clusters;
using Airgap.Nodes;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Build;

/// <summary>
/// The fixture's bundle, built from a real registry, cut into parts: verify, inspect, install, push,
/// extraction and a node's upload read the parts in place and get what the whole tar gives; a missing
/// or damaged part is named in one line.
/// </summary>
public sealed class SplitBundleTests(BuildFixture fixture) : IClassFixture<BuildFixture>, IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>The bundle split into five parts whose edges fall anywhere (not on 512-byte tar blocks); the whole tar is gone.</summary>
    private async Task<(string Index, ProcessResult Split)> SplitAsync(string name)
    {
        var copy = Path.Combine(dir.Sub(name), Path.GetFileName(fixture.BundlePath));
        File.Copy(fixture.BundlePath, copy);
        var size = new FileInfo(copy).Length / 5 + 7;
        var split = await fixture.Cli.RunAsync("split", copy, "--size", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(split.Succeeded, split.ToString());
        File.Delete(copy);
        return (copy + ".parts", split);
    }

    private static void RefusedInOneLine(ProcessResult result, string contains)
    {
        Assert.Equal(1, result.ExitCode);
        var lines = result.Stderr.Trim().Split('\n');
        Assert.Contains(contains, lines[^1]);
        Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Verify_inspect_install_and_extraction_read_the_parts_as_the_whole_tar()
    {
        var (index, split) = await SplitAsync("parts");
        var directory = Path.GetDirectoryName(index)!;
        Assert.Equal(5, split.Stdout.Split('\n').Count(l => l.Contains(".part-00", StringComparison.Ordinal)));
        Assert.Contains($"sha256sum -c {Path.GetFileName(index)}", split.Stderr);

        // The standard tool checks the parts with the index as it is.
        var sums = await ProcessRunner.RunAsync("sha256sum", ["--strict", "-c", Path.GetFileName(index)], workingDirectory: directory);
        Assert.True(sums.Succeeded, sums.ToString());
        Assert.Equal(5, sums.Stdout.Split('\n').Count(l => l.EndsWith(": OK", StringComparison.Ordinal)));

        var whole = await fixture.Cli.RunAsync("verify", fixture.BundlePath, "-o", "json");
        Assert.True(whole.Succeeded, whole.ToString());
        foreach (var given in new[] { index, index[..^".parts".Length] + ".part-001", index[..^".parts".Length] })
        {
            var parted = await fixture.Cli.RunAsync("verify", given, "-o", "json");
            Assert.True(parted.Succeeded, parted.ToString());
            Assert.Equal(Without(whole.Stdout, "bundle"), Without(parted.Stdout, "bundle"));
        }

        var inspectWhole = await fixture.Cli.RunAsync("inspect", fixture.BundlePath, "-o", "json");
        var inspectParts = await fixture.Cli.RunAsync("inspect", index, "-o", "json");
        Assert.True(inspectParts.Succeeded, inspectParts.ToString());
        Assert.Equal(Without(inspectWhole.Stdout, "bundle"), Without(inspectParts.Stdout, "bundle"));

        var install = await fixture.Cli.RunAsync("install", "--bundle", index, "--single-node", "--cni", "bridge", "--dry-run", "--ignore-preflight-errors", "all", "--skip-phases", "runtime,packages", "-o", "json");
        Assert.True(install.Succeeded, install.ToString());
        using (var doc = JsonDocument.Parse(install.Stdout))
            Assert.Contains(doc.RootElement.GetProperty("plan").EnumerateArray(), a => a.GetProperty("text").GetString() == "ctr -n k8s.io images import -");

        // What an install unpacks from the parts is byte for byte what it unpacks from the tar.
        var document = await BundleReader.ReadDocumentAsync(index, default);
        var expected = document.Files.ToDictionary(f => f.Path, f => f.Sha256);
        var fromWhole = dir.Sub("from-whole");
        var fromParts = dir.Sub("from-parts");
        var count = await BundleExtractor.ExtractAsync(fixture.BundlePath, "images/", fromWhole, expected, default);
        Assert.Equal(count, await BundleExtractor.ExtractAsync(index, "images/", fromParts, expected, default));
        Assert.True(count > 10);
        foreach (var file in Directory.EnumerateFiles(fromWhole, "*", SearchOption.AllDirectories))
            Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(Path.Combine(fromParts, Path.GetRelativePath(fromWhole, file))));
        Assert.Empty(Directory.EnumerateFiles(directory, "*.tar"));
    }

    [Fact]
    public async Task Containerd_imports_every_image_from_the_parts_as_from_the_tar()
    {
        var (index, _) = await SplitAsync("containerd");
        await using var containerd = await ContainerdServer.StartAsync();
        var host = new Airgap.IntegrationTests.Nodes.RootedHost("/", spec => spec with
        {
            Env = new Dictionary<string, string>(spec.Env ?? new Dictionary<string, string>()) { ["CONTAINERD_ADDRESS"] = containerd.Address },
        });
        var store = new ContainerdImageStore(host);

        await store.ImportAsync(index, new HashSet<string>(), default);

        var names = await store.NamesAsync(default);
        Assert.Equal(BuildFixture.CanonicalNames, names.Where(n => !n.Contains('@')).Order(StringComparer.Ordinal));
        var run = await containerd.RunAsync("k8s.gcr.io/pause:3.2", "airgap-it-" + Guid.NewGuid().ToString("N")[..8], ["/bin/busybox", "echo", "pause from the parts"]);
        Assert.True(run.exit == 0, run.stderr + containerd.LogTail());
        Assert.Contains("pause from the parts", run.stdout);
    }

    [Fact]
    public async Task Push_from_parts_gives_the_registry_what_push_from_the_tar_gives()
    {
        var (index, _) = await SplitAsync("push");
        await using var fromWhole = await RegistryServer.StartAsync();
        await using var fromParts = await RegistryServer.StartAsync();

        var whole = await fixture.Cli.RunAsync("push", fixture.BundlePath, "--registry", $"{fromWhole.Host}/mirror", "-o", "json");
        Assert.True(whole.Succeeded, whole.ToString());
        var parted = await fixture.Cli.RunAsync("push", index[..^".parts".Length] + ".part-001", "--registry", $"{fromParts.Host}/mirror", "-o", "json");
        Assert.True(parted.Succeeded, parted.ToString());
        using (var a = JsonDocument.Parse(whole.Stdout))
        using (var b = JsonDocument.Parse(parted.Stdout))
        {
            Assert.Equal(a.RootElement.GetProperty("images").GetArrayLength(), b.RootElement.GetProperty("images").GetArrayLength());
            // blobsSent is not compared: images sharing a layer are pushed side by side, and which push sends a
            // shared blob first (and whether the other finds it or sends it too) is timing; the digests below are what counts.
        }
        foreach (var canonical in BuildFixture.CanonicalNames)
            Assert.Equal(await RawDigestAsync($"{fromWhole.Host}/mirror/{canonical}"), await RawDigestAsync($"{fromParts.Host}/mirror/{canonical}"));
    }

    private static async Task<string> RawDigestAsync(string reference)
    {
        var r = await ProcessRunner.RunAsync("skopeo", ["inspect", "--raw", "--tls-verify=false", $"docker://{reference}"]);
        Assert.True(r.Succeeded, r.ToString());
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(r.Stdout)));
    }

    [Fact]
    public async Task A_missing_part_is_named_in_one_line_by_verify_push_and_install()
    {
        var (index, _) = await SplitAsync("missing");
        var part = index[..^".parts".Length] + ".part-003";
        File.Delete(part);
        var message = $"part {part} is missing (5 parts make the bundle); copy it from the media next to {Path.GetFileName(index)}";

        RefusedInOneLine(await fixture.Cli.RunAsync("verify", index), message);
        RefusedInOneLine(await fixture.Cli.RunAsync("push", index, "--registry", "127.0.0.1:9/x"), message);
        RefusedInOneLine(await fixture.Cli.RunAsync("install", "--bundle", index[..^".parts".Length] + ".part-001", "--single-node", "--cni", "bridge", "--dry-run"), message);
    }

    [Fact]
    public async Task A_part_with_one_flipped_byte_is_named_in_one_line_by_verify_and_push()
    {
        var (index, _) = await SplitAsync("flipped");
        var part = index[..^".parts".Length] + ".part-004";
        var bytes = await File.ReadAllBytesAsync(part);
        bytes[bytes.Length / 3] ^= 0x40;
        await File.WriteAllBytesAsync(part, bytes);
        var named = $"part {part} has sha256 {Convert.ToHexStringLower(SHA256.HashData(bytes))}";

        var verify = await fixture.Cli.RunAsync("verify", index);
        RefusedInOneLine(verify, named);
        Assert.EndsWith("it was damaged in transfer; copy it again from the media (sha256sum -c " + Path.GetFileName(index) + " checks every part)", verify.Stderr.Trim());
        await using var site = await RegistryServer.StartAsync();
        RefusedInOneLine(await fixture.Cli.RunAsync("push", index, "--registry", $"{site.Host}/mirror"), named);
    }

    [Fact]
    public async Task Build_with_split_size_leaves_only_the_parts_and_their_index()
    {
        var output = dir.Sub("built");
        var size = new FileInfo(fixture.BundlePath).Length / 3 + 1;

        var build = await fixture.Cli.RunAsync(fixture.BuildArgs(output, "--split-size", size.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        Assert.True(build.Succeeded, build.ToString());
        const string name = "airgap-k8s-v1.20.2-linux-amd64.tar";
        Assert.Equal([$"{name}.part-001", $"{name}.part-002", $"{name}.part-003", $"{name}.parts"], Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName).Order());
        Assert.Contains($"{name}.parts  split into 3 parts", build.Stdout);
        // The same reproducible bytes as the whole-tar build, only cut.
        var joined = Directory.EnumerateFiles(output, "*.part-*").Order(StringComparer.Ordinal).SelectMany(File.ReadAllBytes).ToArray();
        Assert.Equal(await File.ReadAllBytesAsync(fixture.BundlePath), joined);
        var verify = await fixture.Cli.RunAsync("verify", Path.Combine(output, name));
        Assert.True(verify.Succeeded, verify.ToString());

        var bad = await fixture.Cli.RunAsync(fixture.BuildArgs(dir.Sub("bad"), "--split-size", "lots"));
        RefusedInOneLine(bad, "--split-size lots is not a size");
    }

    [Fact]
    public async Task A_node_gets_the_parts_and_index_and_its_airgap_reads_them_there()
    {
        var (index, _) = await SplitAsync("deploy");
        await using var server = await SshServer.StartAsync();
        using var node = await SshHost.ConnectAsync(SshTarget.Parse(server.Target), new SshSettings { KeyFiles = [server.ClientKey], KnownHostsFile = server.KnownHosts }, default);
        var remote = dir.Sub("node-dist");

        var items = await Airgap.Clusters.Phases.DistributePhase.BundleUploadsAsync(StoredBundle.Open(index), "bundle", Path.Combine(remote, Path.GetFileName(index)), default);
        var upload = new NodeUpload(node, NullProgress.Instance, "node1");
        foreach (var item in items) Assert.True(await upload.EnsureAsync(item, default));

        Assert.Equal(Directory.EnumerateFiles(Path.GetDirectoryName(index)!).Select(Path.GetFileName).Order(), Directory.EnumerateFiles(remote).Select(Path.GetFileName).Order());
        Assert.Equal(Path.Combine(remote, Path.GetFileName(index)), items[^1].RemotePath);
        var verify = await fixture.Cli.RunAsync("verify", items[^1].RemotePath);
        Assert.True(verify.Succeeded, verify.ToString());
        // The second deploy finds every part in place.
        foreach (var item in items) Assert.False(await upload.EnsureAsync(item, default));
    }

    /// <summary>A JSON object's text without one property (the path given, which differs on purpose).</summary>
    private static string Without(string json, string property)
    {
        using var doc = JsonDocument.Parse(json);
        var copy = doc.RootElement.EnumerateObject().Where(p => p.Name != property).ToDictionary(p => p.Name, p => p.Value.Clone());
        return JsonSerializer.Serialize(copy);
    }
}
