using Airgap;
using Spectre.Console;

namespace Airgap.Cli;

/// <summary>
/// Plain line logs for pipes and CI: one line per finished transfer, never a carriage-return
/// animation that turns a log file into noise.
/// </summary>
internal sealed class LineProgress(TextWriter log) : IProgressSink
{
    private readonly Dictionary<string, (string Label, long Size)> _active = new();
    private readonly Lock _lock = new();

    public void Info(string line) { lock (_lock) log.WriteLine(line); }
    public void Warn(string line) { lock (_lock) log.WriteLine("warning: " + line); }

    public void TransferStarted(string id, string label, long size)
    {
        lock (_lock) _active[id] = (label, size);
    }

    public void TransferAdvanced(string id, long bytes) { }

    public void TransferFinished(string id, bool fromCache)
    {
        lock (_lock)
        {
            if (!_active.Remove(id, out var t)) return;
            log.WriteLine($"{t.Label}: {Sizes.Human(t.Size)}{(fromCache ? " (from cache)" : "")}");
        }
    }
}

/// <summary>A live display on a terminal: one bar per transfer in flight and a total.</summary>
internal sealed class LiveProgress : IProgressSink
{
    private readonly ProgressContext _context;
    private readonly IAnsiConsole _console;
    private readonly Dictionary<string, ProgressTask> _tasks = new();
    private readonly Lock _lock = new();

    private LiveProgress(ProgressContext context, IAnsiConsole console)
    {
        _context = context;
        _console = console;
    }

    public void Info(string line) { lock (_lock) _console.MarkupLine(Markup.Escape(line)); }
    public void Warn(string line) { lock (_lock) _console.MarkupLine("[yellow]warning:[/] " + Markup.Escape(line)); }

    public void TransferStarted(string id, string label, long size)
    {
        lock (_lock)
        {
            if (_tasks.ContainsKey(id)) return;
            _tasks[id] = _context.AddTask(Markup.Escape(label), maxValue: Math.Max(size, 1));
        }
    }

    public void TransferAdvanced(string id, long bytes)
    {
        lock (_lock)
        {
            if (_tasks.TryGetValue(id, out var task)) task.Increment(bytes);
        }
    }

    public void TransferFinished(string id, bool fromCache)
    {
        lock (_lock)
        {
            if (!_tasks.Remove(id, out var task))
            {
                return;
            }
            task.Value = task.MaxValue;
            task.StopTask();
        }
    }

    /// <summary>Runs work under a live display when stderr is a terminal, else with line logs.</summary>
    public static async Task<T> RunAsync<T>(bool json, Func<IProgressSink, Task<T>> work)
    {
        if (Console.IsErrorRedirected || json || Environment.GetEnvironmentVariable("CI") is { Length: > 0 })
            return await work(new LineProgress(Console.Error));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        await console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .StartAsync(async ctx => { result = await work(new LiveProgress(ctx, console)); });
        return result;
    }
}

internal static class Sizes
{
    public static string Human(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / 1024.0 / 1024:0.0} MiB",
        _ => $"{bytes / 1024.0 / 1024 / 1024:0.00} GiB",
    };
}
