namespace Airgap.Nodes;

/// <summary>
/// One airgap run of a kind at a time on this machine: an exclusive lock on a file (flock, dropped by
/// the kernel when the holder dies). A jump host killed mid-upgrade leaves the node's airgap finishing
/// its phase; the next run waits for it instead of running kubeadm beside it.
/// </summary>
public sealed class NodeLock : IDisposable
{
    private readonly FileStream held;

    private NodeLock(FileStream held) => this.held = held;

    public static async Task<NodeLock> AcquireAsync(string path, string what, TimeSpan wait, IProgressSink progress, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var deadline = DateTime.UtcNow + wait;
        var told = false;
        while (true)
        {
            try
            {
                return new NodeLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1));
            }
            catch (IOException)
            {
                if (DateTime.UtcNow > deadline)
                    throw new AirgapException($"another {what} has been running on this node for over {wait.TotalMinutes:0} minutes (it holds {path}); wait for it, or stop it, then run this again");
                if (!told) progress.Info($"another {what} is running on this node (it holds {path}): waiting for it to finish");
                told = true;
                await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            }
        }
    }

    public void Dispose() => held.Dispose();
}
