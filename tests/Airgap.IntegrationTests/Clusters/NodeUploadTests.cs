using System.Security.Cryptography;
using Airgap.Clusters;
using Airgap.Nodes;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Clusters;

/// <summary>The cluster's distribution step against a real OpenSSH server on 127.0.0.1: skip, resume, refuse.</summary>
public sealed class NodeUploadTests : IAsyncLifetime
{
    private SshServer server = null!;
    private readonly TempDir dir = new();
    private readonly RecordingProgress progress = new();

    public async Task InitializeAsync() => server = await SshServer.StartAsync();

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        dir.Dispose();
    }

    private Task<SshHost> ConnectAsync() =>
        SshHost.ConnectAsync(SshTarget.Parse(server.Target), new SshSettings { KeyFiles = [server.ClientKey], KnownHostsFile = server.KnownHosts }, default);

    private async Task<(UploadItem Item, byte[] Bytes)> ItemAsync(int size)
    {
        var bytes = RandomNumberGenerator.GetBytes(size);
        var local = Path.Combine(dir.Sub("local"), "bundle.tar");
        await File.WriteAllBytesAsync(local, bytes);
        return (await UploadItem.FromFileAsync("bundle", local, Path.Combine(dir.Path, "node", "dist", "bundle.tar"), default), bytes);
    }

    [Fact]
    public async Task Sends_a_file_checks_it_on_the_node_and_skips_it_the_next_time()
    {
        using var node = await ConnectAsync();
        var (item, bytes) = await ItemAsync(3 * 1024 * 1024 + 17);
        var upload = new NodeUpload(node, progress, "node1");

        Assert.True(await upload.EnsureAsync(item, default));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(item.RemotePath));
        Assert.False(File.Exists(item.RemotePath + ".partial"));

        Assert.False(await upload.EnsureAsync(item, default));
        Assert.Contains(progress.Lines, l => l == "node1: bundle already there, sha256 checked");
    }

    [Fact]
    public async Task A_cut_upload_continues_from_the_bytes_that_arrived()
    {
        using var node = await ConnectAsync();
        var (item, bytes) = await ItemAsync(4 * 1024 * 1024);
        Directory.CreateDirectory(Path.GetDirectoryName(item.RemotePath)!);
        await File.WriteAllBytesAsync(item.RemotePath + ".partial", bytes[..(3 * 1024 * 1024)]);

        Assert.True(await new NodeUpload(node, progress, "node1").EnsureAsync(item, default));

        Assert.Equal(bytes, await File.ReadAllBytesAsync(item.RemotePath));
        Assert.Contains(progress.Lines, l => l.StartsWith("node1: bundle: continuing a cut upload at 3 of 4 MiB", StringComparison.Ordinal));
        Assert.Contains(progress.Lines, l => l.StartsWith("node1: bundle sent (1.0 MiB in", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_partial_that_is_not_the_file_is_refused_and_removed_and_a_wrong_final_file_is_replaced()
    {
        using var node = await ConnectAsync();
        var (item, bytes) = await ItemAsync(2 * 1024 * 1024);
        Directory.CreateDirectory(Path.GetDirectoryName(item.RemotePath)!);
        await File.WriteAllBytesAsync(item.RemotePath + ".partial", new byte[1024 * 1024]);

        var e = await Assert.ThrowsAsync<AirgapException>(() => new NodeUpload(node, progress, "node1").EnsureAsync(item, default));
        Assert.StartsWith($"node1: {item.RemotePath} arrived with sha256 ", e.Message);
        Assert.EndsWith("run airgap cluster deploy again to send it once more", e.Message);
        Assert.False(File.Exists(item.RemotePath + ".partial"));
        Assert.False(File.Exists(item.RemotePath));

        // A complete-looking file of the right size but other bytes is not taken for the bundle.
        await File.WriteAllBytesAsync(item.RemotePath, new byte[bytes.Length]);
        Assert.True(await new NodeUpload(node, progress, "node1").EnsureAsync(item, default));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(item.RemotePath));
    }
}
