using System.Security.Cryptography;
using Airgap.Nodes;

namespace Airgap.Clusters;

/// <summary>A file the jump host sends to every node: where it comes from, its digest, and where it goes.</summary>
public sealed record UploadItem(string Label, string RemotePath, long Size, string Sha256, Func<CancellationToken, Task<Stream>> Open)
{
    /// <summary>A plain file on this host, hashed once.</summary>
    public static async Task<UploadItem> FromFileAsync(string label, string localPath, string remotePath, CancellationToken ct)
    {
        await using var file = File.OpenRead(localPath);
        var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct).ConfigureAwait(false));
        return new UploadItem(label, remotePath, file.Length, sha, _ => Task.FromResult<Stream>(File.OpenRead(localPath)));
    }
}

/// <summary>
/// Puts a file on a node over SFTP so that it can be trusted there: skipped when the node already
/// has it (sha256 computed on the node), otherwise streamed into NAME.partial — continued from where
/// an earlier cut upload stopped —, checked with sha256sum on the node, and only then renamed.
/// </summary>
public sealed class NodeUpload(SshHost node, IProgressSink progress, string nodeName)
{
    public async Task<bool> EnsureAsync(UploadItem item, CancellationToken ct)
    {
        if (await node.FileSizeAsync(item.RemotePath, ct).ConfigureAwait(false) == item.Size &&
            await RemoteSha256Async(item.RemotePath, ct).ConfigureAwait(false) == item.Sha256)
        {
            progress.Info($"{nodeName}: {item.Label} already there, sha256 checked");
            return false;
        }
        var partial = item.RemotePath + ".partial";
        var offset = await node.FileSizeAsync(partial, ct).ConfigureAwait(false) ?? 0;
        if (offset > item.Size)
        {
            await node.DeleteFileAsync(partial, ct).ConfigureAwait(false);
            offset = 0;
        }
        if (offset > 0) progress.Info($"{nodeName}: {item.Label}: continuing a cut upload at {offset / 1048576} of {item.Size / 1048576} MiB");
        var id = $"{nodeName}:{item.RemotePath}";
        progress.TransferStarted(id, $"{nodeName} {item.Label}", item.Size);
        progress.TransferAdvanced(id, offset);
        var started = DateTime.UtcNow;
        await using (var source = await item.Open(ct).ConfigureAwait(false))
        {
            source.Seek(offset, SeekOrigin.Begin);
            await node.AppendAsync(source, partial, n => progress.TransferAdvanced(id, n), ct).ConfigureAwait(false);
        }
        progress.TransferFinished(id, fromCache: false);
        var sha = await RemoteSha256Async(partial, ct).ConfigureAwait(false);
        if (sha != item.Sha256)
        {
            // What arrived is not the file: the part kept from an earlier run, or the transfer itself. Start clean next time.
            await node.DeleteFileAsync(partial, ct).ConfigureAwait(false);
            throw new AirgapException($"{nodeName}: {item.RemotePath} arrived with sha256 {sha ?? "unknown"}, expected {item.Sha256}; " +
                                      "run airgap cluster deploy again to send it once more");
        }
        await node.RunCheckedAsync(new CommandSpec("mv", "-f", partial, item.RemotePath), ct).ConfigureAwait(false);
        var seconds = (DateTime.UtcNow - started).TotalSeconds;
        progress.Info($"{nodeName}: {item.Label} sent ({(item.Size - offset) / 1048576.0:0.0} MiB in {seconds:0.0} s), sha256 checked on the node");
        return true;
    }

    private async Task<string?> RemoteSha256Async(string path, CancellationToken ct)
    {
        var r = await node.RunAsync(new CommandSpec("sha256sum", path) { Timeout = TimeSpan.FromMinutes(10) }, ct).ConfigureAwait(false);
        return r.ExitCode == 0 ? r.Stdout.Split(' ', 2)[0].Trim() : null;
    }
}
