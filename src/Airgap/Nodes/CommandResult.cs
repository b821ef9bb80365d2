using System.Globalization;

namespace Airgap.Nodes;

/// <summary>
/// What one command did on a node: enough to report it (command line, exit code, duration) and to
/// explain a failure (the last lines of each stream) without keeping whole logs in memory.
/// Everything here is already redacted when the command was sensitive.
/// </summary>
public sealed record CommandResult(
    string Host,
    string CommandLine,
    int ExitCode,
    TimeSpan Duration,
    IReadOnlyList<string> StdoutTail,
    IReadOnlyList<string> StderrTail)
{
    public const int TailLines = 40;

    /// <summary>The whole stdout (up to a cap), for commands whose answer is their output.</summary>
    public string Stdout { get; init; } = "";

    public bool TimedOut { get; init; }

    /// <summary>True when the command never ran: a dry run records it and reports success.</summary>
    public bool DryRun { get; init; }

    public bool Succeeded => ExitCode == 0 && !TimedOut;

    /// <summary>Returns this result, or throws a one-line error naming the command, how it ended and its last words.</summary>
    public CommandResult EnsureSuccess() => Succeeded ? this : throw new CommandFailedException(this);

    public string FailureMessage
    {
        get
        {
            var how = TimedOut
                ? $"timed out after {FormatDuration(Duration)}"
                : $"exited with code {ExitCode} after {FormatDuration(Duration)}";
            return $"{Host}: `{CommandLine}` {how}: {LastWords()}";
        }
    }

    /// <summary>Both tails, stderr last, for printing under the one-line error.</summary>
    public IEnumerable<string> OutputTail =>
        StdoutTail.Select(l => "  " + l).Concat(StderrTail.Select(l => "  " + l));

    private string LastWords()
    {
        var line = StderrTail.LastOrDefault(l => l.Trim().Length > 0) ?? StdoutTail.LastOrDefault(l => l.Trim().Length > 0);
        return line is null ? "no output" : line.Trim();
    }

    internal static string FormatDuration(TimeSpan duration) =>
        duration.TotalSeconds < 60
            ? duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s"
            : $"{(int)duration.TotalMinutes}m{duration.Seconds:00}s";
}

/// <summary>A command on a node failed. The message is one line; <see cref="Result"/> holds the output tail to show under it.</summary>
public sealed class CommandFailedException(CommandResult result) : AirgapException(result.FailureMessage)
{
    public CommandResult Result { get; } = result;
}

/// <summary>The last N lines of a stream, without keeping the rest.</summary>
internal sealed class LineTail(int capacity)
{
    private readonly Queue<string> lines = new();

    public void Add(string line)
    {
        if (lines.Count == capacity) lines.Dequeue();
        lines.Enqueue(line);
    }

    public IReadOnlyList<string> ToList() => lines.ToArray();
}
