using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Tests.Nodes;

/// <summary>
/// The runner's own decisions, with phases that only log what they are asked to do: order, skips,
/// checks instead of re-runs, resume after a failure, prerequisites, dry runs and single phases.
/// </summary>
public sealed class PhaseRunnerTests
{
    private const string Input = "sha256:input";
    private readonly FakeHost host = new("node");
    private readonly InstallerTests.RecordingProgress progress = new();

    /// <summary>What the fake phases did, in order: "run a", "check b", "require c".</summary>
    private sealed class Log
    {
        public List<string> Calls { get; } = [];
        public string? FailRun { get; set; }
        public string? FailRequire { get; set; }
        public Dictionary<string, bool> Resumed { get; } = [];
    }

    private sealed class LoggingPhase(string name) : IPhase<Log>
    {
        public string Name => name;
        public string Description => $"do {name}";

        public Task RequireAsync(Log log, CancellationToken ct)
        {
            log.Calls.Add("require " + name);
            if (log.FailRequire == name) throw new AirgapException($"the {name} phase needs the one before it: do not skip it");
            return Task.CompletedTask;
        }

        public Task RunAsync(Log log, PhaseAttempt attempt, CancellationToken ct)
        {
            log.Calls.Add("run " + name);
            log.Resumed[name] = attempt.ResumesUnfinished;
            if (log.FailRun == name) throw new AirgapException($"{name} broke");
            return Task.CompletedTask;
        }

        public Task CheckAsync(Log log, CancellationToken ct)
        {
            log.Calls.Add("check " + name);
            return Task.CompletedTask;
        }
    }

    private static readonly string[] Names = ["alpha", "beta", "gamma", "delta"];

    private static List<PlannedPhase<Log>> Plan(params string[] skipped) =>
        Names.Select(n => new PlannedPhase<Log>(new LoggingPhase(n), $"do {n}") { SkipReason = skipped.Contains(n) ? "--skip-phases" : null }).ToList();

    private Task<PhaseJournal> JournalAsync() => PhaseJournal.LoadAsync(host, default);

    private async Task<IReadOnlyList<PhaseReport>> RunAsync(Log log, PhaseRunSettings? settings = null, params string[] skipped) =>
        await new PhaseRunner(progress).RunAsync(Plan(skipped), log,
            settings ?? new PhaseRunSettings { Journal = await JournalAsync(), Fingerprint = Input }, default);

    [Fact]
    public async Task Phases_run_in_order_each_after_its_requirements_and_are_journaled_done()
    {
        var log = new Log();

        var reports = await RunAsync(log);

        Assert.Equal(Names.SelectMany(n => new[] { "require " + n, "run " + n }), log.Calls);
        Assert.Equal(Names, reports.Select(r => r.Phase));
        Assert.All(reports, r => Assert.Equal("done", r.Outcome));
        var journal = await JournalAsync();
        Assert.All(Names, n => Assert.True(journal.IsDone(n, Input)));
        Assert.Contains("[beta] do beta", progress.Lines);
    }

    [Fact]
    public async Task Skipped_phases_are_reported_with_their_reason_and_not_touched()
    {
        var log = new Log();

        var reports = await RunAsync(log, null, "beta", "delta");

        Assert.Equal(["require alpha", "run alpha", "require gamma", "run gamma"], log.Calls);
        Assert.Equal(["done", "skipped", "done", "skipped"], reports.Select(r => r.Outcome));
        Assert.Equal("--skip-phases", reports[1].Detail);
        Assert.Null((await JournalAsync()).Get("beta"));
    }

    [Fact]
    public async Task A_second_run_checks_every_finished_phase_instead_of_running_it()
    {
        await RunAsync(new Log());
        var log = new Log();

        var reports = await RunAsync(log);

        Assert.Equal(Names.Select(n => "check " + n), log.Calls);
        Assert.All(reports, r => Assert.Equal("done earlier, checked", r.Outcome));
    }

    [Fact]
    public async Task Other_input_runs_finished_phases_again()
    {
        await RunAsync(new Log());
        var log = new Log();

        await RunAsync(log, new PhaseRunSettings { Journal = await JournalAsync(), Fingerprint = "sha256:other" });

        Assert.Equal(Names.SelectMany(n => new[] { "require " + n, "run " + n }), log.Calls);
        Assert.All(log.Resumed.Values, Assert.False);
    }

    public static TheoryData<string> EachPhase => new(Names);

    [Theory]
    [MemberData(nameof(EachPhase))]
    public async Task After_a_failure_in_any_phase_the_next_run_checks_those_before_and_resumes_the_failed_one(string failing)
    {
        var first = new Log { FailRun = failing };
        var e = await Assert.ThrowsAsync<AirgapException>(() => RunAsync(first));
        Assert.Equal($"phase {failing} failed: {failing} broke", e.Message);
        var journal = await JournalAsync();
        Assert.Equal(PhaseState.Failed, journal.Get(failing)!.State);
        Assert.Equal($"{failing} broke", journal.Get(failing)!.Error);

        var second = new Log();
        var reports = await RunAsync(second);

        var at = Array.IndexOf(Names, failing);
        Assert.Equal(Names.Select((n, i) => i < at ? "done earlier, checked" : "done"), reports.Select(r => r.Outcome));
        Assert.Equal(Names.Take(at).Select(n => "check " + n), second.Calls.Take(at));
        // The failed phase knows its half-made state is this workflow's own; the ones after it start fresh.
        Assert.True(second.Resumed[failing]);
        Assert.All(Names.Skip(at + 1), n => Assert.False(second.Resumed[n]));
    }

    [Fact]
    public async Task A_phase_whose_prerequisite_is_missing_fails_before_it_runs_with_the_message_naming_it()
    {
        var log = new Log { FailRequire = "gamma" };

        var e = await Assert.ThrowsAsync<AirgapException>(() => RunAsync(log, null, "beta"));

        Assert.Equal("phase gamma failed: the gamma phase needs the one before it: do not skip it", e.Message);
        Assert.DoesNotContain("run gamma", log.Calls);
        Assert.DoesNotContain("run delta", log.Calls);
    }

    [Fact]
    public async Task A_dry_run_reads_the_journal_but_never_writes_it()
    {
        await RunAsync(new Log(), null, "gamma", "delta");
        var before = host.Text(PhaseJournal.DefaultPath);
        var log = new Log();

        var reports = await RunAsync(log, new PhaseRunSettings { Journal = await JournalAsync(), Fingerprint = Input, DryRun = true });

        Assert.Equal(["done earlier, checked", "done earlier, checked", "planned", "planned"], reports.Select(r => r.Outcome));
        Assert.Equal(before, host.Text(PhaseJournal.DefaultPath));
        Assert.DoesNotContain(progress.Lines, l => l.StartsWith("[gamma] done in", StringComparison.Ordinal));
    }

    [Fact]
    public async Task One_phase_alone_runs_with_its_requirements_whatever_the_journal_says_and_is_journaled()
    {
        await RunAsync(new Log());
        var log = new Log();

        var reports = await RunAsync(log, new PhaseRunSettings { Journal = await JournalAsync(), Fingerprint = Input, Only = "gamma" });

        Assert.Equal(["require gamma", "run gamma"], log.Calls);
        Assert.Equal("gamma", Assert.Single(reports).Phase);
        Assert.True((await JournalAsync()).IsDone("gamma", Input));
    }

    [Fact]
    public async Task One_phase_that_the_plan_skips_is_reported_skipped_and_an_unknown_one_is_refused()
    {
        var reports = await RunAsync(new Log(), new PhaseRunSettings { Only = "beta" }, "beta");
        Assert.Equal("skipped", Assert.Single(reports).Outcome);

        var e = await Assert.ThrowsAsync<AirgapException>(() => RunAsync(new Log(), new PhaseRunSettings { Only = "omega" }));
        Assert.Equal("\"omega\" is not a phase here; phases are alpha, beta, gamma, delta", e.Message);
    }

    [Fact]
    public async Task Without_a_journal_every_phase_runs_every_time()
    {
        await RunAsync(new Log(), new PhaseRunSettings());
        var log = new Log();

        await RunAsync(log, new PhaseRunSettings());

        Assert.Equal(Names.SelectMany(n => new[] { "require " + n, "run " + n }), log.Calls);
        Assert.False(host.Has(PhaseJournal.DefaultPath));
    }
}
