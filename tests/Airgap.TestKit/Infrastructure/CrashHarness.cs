using System.Diagnostics;

namespace Airgap.TestKit.Infrastructure;

/// <summary>The kills of one run: the seed that chose them (printed, so a failure can be replayed) and when each came.</summary>
public sealed record CrashReport(int Seed, IReadOnlyList<int> KilledAfterMs)
{
    public override string ToString() => $"seed {Seed}: SIGKILL after {string.Join(", ", KilledAfterMs.Select(ms => $"{ms} ms"))}";
}

/// <summary>
/// Runs a command and SIGKILLs it (its whole process tree, as a power cut or kill -9 would) at
/// moments drawn from a seeded random source, again and again; the caller then runs it to
/// completion and checks the result equals a clean run's with nothing left behind.
/// </summary>
public static class CrashHarness
{
    /// <summary>
    /// Kills the command <paramref name="kills"/> times. A run that ends before its kill teaches the
    /// harness how long runs now take (caches fill, so they get shorter), and the next kill comes
    /// within that time; at most three times as many runs as kills are started.
    /// </summary>
    public static async Task<CrashReport> KillRepeatedlyAsync(string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment,
        int kills, int seed, TimeSpan earliest, TimeSpan latest, CancellationToken ct = default)
    {
        var random = new Random(seed);
        var killed = new List<int>();
        var low = (int)earliest.TotalMilliseconds;
        var high = Math.Max(low + 1, (int)latest.TotalMilliseconds);
        for (var run = 0; run < kills * 3 && killed.Count < kills; run++)
        {
            var after = random.Next(low, high);
            var (cut, elapsed) = await RunOnceAsync(file, args, environment,
                async exited => await Task.WhenAny(exited, Task.Delay(after, ct)).ConfigureAwait(false) != exited, ct).ConfigureAwait(false);
            if (cut) killed.Add(after);
            else
            {
                // It finished first: later kills fall within the time a run takes now.
                high = Math.Max(2, (int)elapsed);
                low = Math.Min(low, high / 4);
            }
        }
        return new CrashReport(seed, killed);
    }

    /// <summary>
    /// Kills the command at a moment chosen by what it has done rather than by the clock: <paramref name="arm"/>
    /// draws (from the seeded source) a condition for each run — "the proxy has passed another N bytes" —
    /// and the run is killed the moment it holds. Work that finishes fast or slow is cut inside its
    /// transfers either way; a run that ends first is not counted as a kill.
    /// </summary>
    public static async Task<CrashReport> KillWhenAsync(string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment,
        int kills, int seed, Func<Random, Func<bool>> arm, CancellationToken ct = default)
    {
        var random = new Random(seed);
        var killed = new List<int>();
        for (var run = 0; run < kills * 3 && killed.Count < kills; run++)
        {
            var condition = arm(random);
            var (cut, elapsed) = await RunOnceAsync(file, args, environment, async exited =>
            {
                while (!exited.IsCompleted)
                {
                    if (condition()) return true;
                    await Task.WhenAny(exited, Task.Delay(10, ct)).ConfigureAwait(false);
                }
                return false;
            }, ct).ConfigureAwait(false);
            if (cut) killed.Add((int)elapsed);
        }
        return new CrashReport(seed, killed);
    }

    /// <summary>One run of the command, SIGKILLed (whole tree) when <paramref name="killNow"/>, given the exit task, says so; its output drained either way.</summary>
    private static async Task<(bool Killed, long ElapsedMs)> RunOnceAsync(string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment,
        Func<Task, Task<bool>> killNow, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (key, value) in environment) psi.Environment[key] = value;
        var started = Stopwatch.StartNew();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        process.StandardInput.Close();
        var drain = Task.WhenAll(process.StandardOutput.ReadToEndAsync(ct), process.StandardError.ReadToEndAsync(ct));
        var exited = process.WaitForExitAsync(ct);
        var killed = await killNow(exited).ConfigureAwait(false);
        var elapsed = started.ElapsedMilliseconds;
        if (killed) process.Kill(entireProcessTree: true);
        await exited.ConfigureAwait(false);
        await drain.ConfigureAwait(false);
        return (killed, elapsed);
    }
}
