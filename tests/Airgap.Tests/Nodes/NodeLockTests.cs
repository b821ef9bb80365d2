using Airgap.Nodes;

namespace Airgap.Tests.Nodes;

public sealed class NodeLockTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("airgap-lock-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task A_second_run_waits_for_the_first_and_gives_up_in_one_line_naming_the_lock()
    {
        var path = Path.Combine(dir, "upgrade.lock");
        var progress = new InstallerTests.RecordingProgress();
        Task<NodeLock> waiting;
        using (await NodeLock.AcquireAsync(path, "airgap upgrade", TimeSpan.FromSeconds(5), progress, default))
        {
            var e = await Assert.ThrowsAsync<AirgapException>(() => NodeLock.AcquireAsync(path, "airgap upgrade", TimeSpan.Zero, progress, default));
            Assert.Equal($"another airgap upgrade has been running on this node for over 0 minutes (it holds {path}); wait for it, or stop it, then run this again", e.Message);

            waiting = NodeLock.AcquireAsync(path, "airgap upgrade", TimeSpan.FromSeconds(30), progress, default);
            await Task.Delay(300);
            Assert.False(waiting.IsCompleted);
            Assert.Contains(progress.Lines, l => l.StartsWith("another airgap upgrade is running on this node", StringComparison.Ordinal));
        }
        // The first run ends (or dies: the kernel drops its lock): the waiting one goes on.
        using var second = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
