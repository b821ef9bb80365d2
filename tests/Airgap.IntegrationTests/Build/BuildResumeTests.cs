using Airgap.TestKit;

namespace Airgap.IntegrationTests.Build;

/// <summary>
/// A build killed mid-blob leaves tmp/HEX.partial in the cache; the next build continues it with a
/// Range request instead of starting over, and still checks the whole against the digest.
/// </summary>
public sealed class BuildResumeTests(BuildFixture fixture) : IClassFixture<BuildFixture>
{
    private string[] BuildArgs(string host, string output) =>
    [
        "build", "--k8s", "v1.20.2", "--image-repository", $"{host}/google_containers", "--flannel-manifest", fixture.FlannelManifest,
        "--mirror", $"quay.io={host}", "--output", output, "--no-binaries",
    ];

    [Fact]
    public async Task A_partial_blob_left_by_a_killed_build_is_continued_and_one_proved_wrong_is_dropped()
    {
        using var dir = new TempDir();
        var cache = dir.Sub("cache");
        var cli = new AirgapCli { Cache = cache };
        var (layer, size) = fixture.Set.BlobsFor("amd64").MaxBy(b => b.Value);
        var bytes = await File.ReadAllBytesAsync(fixture.Registry.BlobDataPath(layer));
        var partial = Path.Combine(cache, "tmp", $"{layer[7..]}.partial");
        Directory.CreateDirectory(Path.GetDirectoryName(partial)!);
        var half = bytes.Length / 2;
        await File.WriteAllBytesAsync(partial, bytes[..half]);
        await using var proxy = CuttingProxy.Start(fixture.Registry.Host, _ => false, cutCount: 0);

        var result = await cli.RunAsync(BuildArgs(proxy.Host, dir.Sub("out")));

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains(proxy.RequestLog, l => l.Contains($"/blobs/{layer} range=bytes={half}- -> 206", StringComparison.Ordinal));
        Assert.False(File.Exists(partial));
        Assert.Empty(Directory.GetFiles(Path.Combine(cache, "tmp")));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(cache, "blobs", "sha256", layer[7..])));

        // Bytes that are not the blob's: the digest check over the whole refuses them, and they are gone for the next run.
        File.Delete(Path.Combine(cache, "blobs", "sha256", layer[7..]));
        var wrong = bytes[..half];
        wrong[0] ^= 0xFF;
        await File.WriteAllBytesAsync(partial, wrong);
        var refused = await cli.RunAsync(BuildArgs(proxy.Host, dir.Sub("out2")));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"continued from {half} bytes an earlier run left; they are discarded, run again", refused.Stderr);
        Assert.False(File.Exists(partial));
        var again = await cli.RunAsync(BuildArgs(proxy.Host, dir.Sub("out3")));
        Assert.True(again.Succeeded, again.ToString());
        Assert.Empty(Directory.GetFiles(Path.Combine(cache, "tmp")));

        // Killed after the last byte, before the move into place: the whole blob is there, nothing is asked for.
        File.Delete(Path.Combine(cache, "blobs", "sha256", layer[7..]));
        await File.WriteAllBytesAsync(partial, bytes);
        var requests = proxy.RequestLog.Count(l => l.Contains($"/blobs/{layer} ", StringComparison.Ordinal));
        var whole = await cli.RunAsync(BuildArgs(proxy.Host, dir.Sub("out4")));
        Assert.True(whole.Succeeded, whole.ToString());
        Assert.Equal(requests, proxy.RequestLog.Count(l => l.Contains($"/blobs/{layer} ", StringComparison.Ordinal)));
        Assert.Empty(Directory.GetFiles(Path.Combine(cache, "tmp")));
    }
}
