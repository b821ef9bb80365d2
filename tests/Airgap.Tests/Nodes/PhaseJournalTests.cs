using Airgap.Nodes;

namespace Airgap.Tests.Nodes;

public sealed class PhaseJournalTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("airgap-journal-").FullName;
    private readonly LocalHost host = new("testnode");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string JournalPath => Path.Combine(dir, "var", "lib", "airgap", "journal.json");

    [Fact]
    public async Task A_finished_phase_is_done_for_the_same_input_after_reloading()
    {
        var clock = new SteppingClock();
        var journal = await PhaseJournal.LoadAsync(host, default, JournalPath, clock);
        Assert.Empty(journal.Entries);

        await journal.StartAsync("verify", "sha256:aaa", default);
        Assert.False(journal.IsDone("verify", "sha256:aaa"));
        await journal.DoneAsync("verify", default);
        await journal.StartAsync("preflight", "sha256:aaa", default);

        var reloaded = await PhaseJournal.LoadAsync(host, default, JournalPath);
        Assert.True(reloaded.IsDone("verify", "sha256:aaa"));
        Assert.False(reloaded.IsDone("verify", "sha256:bbb"));
        Assert.False(reloaded.IsDone("preflight", "sha256:aaa"));
        Assert.False(reloaded.IsDone("runtime", "sha256:aaa"));
        var verify = reloaded.Get("verify")!;
        Assert.Equal(PhaseState.Done, verify.State);
        Assert.Equal(SteppingClock.Start, verify.StartedAt);
        Assert.Equal(SteppingClock.Start.AddSeconds(1), verify.FinishedAt);
        Assert.Equal(PhaseState.Started, reloaded.Get("preflight")!.State);
        Assert.Equal(["verify", "preflight"], reloaded.Entries.Select(e => e.Phase));
    }

    [Fact]
    public async Task A_failure_is_recorded_redacted_and_a_rerun_starts_the_phase_again()
    {
        var journal = await PhaseJournal.LoadAsync(host, default, JournalPath);
        await journal.StartAsync("kubeadm", "fp", default);
        await journal.FailAsync("kubeadm", "kubeadm join exited 1: bad token abcdef.0123456789abcdef", default);

        var failed = (await PhaseJournal.LoadAsync(host, default, JournalPath)).Get("kubeadm")!;
        Assert.Equal(PhaseState.Failed, failed.State);
        Assert.Equal("kubeadm join exited 1: bad token <redacted>", failed.Error);

        await journal.StartAsync("kubeadm", "fp", default);
        await journal.DoneAsync("kubeadm", default);
        var done = (await PhaseJournal.LoadAsync(host, default, JournalPath)).Get("kubeadm")!;
        Assert.Equal(PhaseState.Done, done.State);
        Assert.Null(done.Error);
    }

    [Fact]
    public async Task The_file_is_json_written_atomically_and_readable_by_root_only()
    {
        var journal = await PhaseJournal.LoadAsync(host, default, JournalPath);
        await journal.StartAsync("verify", "fp", default);
        await journal.DoneAsync("verify", default);

        var text = await File.ReadAllTextAsync(JournalPath);
        Assert.StartsWith("{\n  \"version\": 1,\n  \"phases\": [", text.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Contains("\"state\": \"done\"", text);
        Assert.Equal(HostExtensions.Mode0600, File.GetUnixFileMode(JournalPath));
        Assert.Equal(["journal.json"], Directory.GetFiles(Path.GetDirectoryName(JournalPath)!).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_damaged_journal_is_a_clear_error()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(JournalPath)!);
        await File.WriteAllTextAsync(JournalPath, "{ not json");

        var error = await Assert.ThrowsAsync<AirgapException>(() => PhaseJournal.LoadAsync(host, default, JournalPath));
        Assert.Contains("is damaged", error.Message);
        Assert.Contains("airgap reset", error.Message);
    }

    [Fact]
    public async Task Clear_forgets_everything()
    {
        var journal = await PhaseJournal.LoadAsync(host, default, JournalPath);
        await journal.StartAsync("verify", "fp", default);
        await journal.ClearAsync(default);

        Assert.Empty(journal.Entries);
        Assert.False(File.Exists(JournalPath));
    }

    [Fact]
    public async Task Works_through_any_host()
    {
        var fake = new FakeHost();
        var journal = await PhaseJournal.LoadAsync(fake, default);
        await journal.StartAsync("verify", "fp", default);
        Assert.Contains("\"phase\": \"verify\"", fake.Text(PhaseJournal.DefaultPath));
    }

    [Fact]
    public async Task Finishing_a_phase_that_never_started_is_a_bug()
    {
        var journal = await PhaseJournal.LoadAsync(new FakeHost(), default);
        await Assert.ThrowsAsync<InvalidOperationException>(() => journal.DoneAsync("verify", default));
    }

    [Fact]
    public void Fingerprints_are_stable_and_unambiguous()
    {
        Assert.Equal(PhaseJournal.Fingerprint("a", "bc"), PhaseJournal.Fingerprint("a", "bc"));
        Assert.NotEqual(PhaseJournal.Fingerprint("ab", "c"), PhaseJournal.Fingerprint("a", "bc"));
        Assert.StartsWith("sha256:", PhaseJournal.Fingerprint("x"));
        Assert.Equal(71, PhaseJournal.Fingerprint("x").Length);
    }

    /// <summary>Each reading is one second after the last, so start and finish times differ predictably.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        public static readonly DateTimeOffset Start = new(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);
        private int ticks;

        public override DateTimeOffset GetUtcNow() => Start.AddSeconds(ticks++);
    }
}
