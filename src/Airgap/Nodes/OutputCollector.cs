using System.Text;

namespace Airgap.Nodes;

/// <summary>
/// A running command's output as lines: redacted when the command is sensitive, streamed to its
/// OnOutput, the last lines of each stream kept, stdout kept whole up to a cap. Shared by every host kind.
/// </summary>
internal sealed class OutputCollector(CommandSpec spec)
{
    private const int MaxCapturedStdout = 8 << 20;

    private readonly Lock gate = new();
    private readonly LineTail stdoutTail = new(CommandResult.TailLines);
    private readonly LineTail stderrTail = new(CommandResult.TailLines);
    private readonly StringBuilder stdout = new();

    public void Add(OutputStream stream, string raw)
    {
        var line = spec.Redact(raw);
        lock (gate)
        {
            if (stream == OutputStream.Stdout)
            {
                stdoutTail.Add(line);
                if (stdout.Length + line.Length < MaxCapturedStdout) stdout.Append(line).Append('\n');
            }
            else
            {
                stderrTail.Add(line);
            }
            spec.OnOutput?.Invoke(new OutputLine(stream, line));
        }
    }

    public CommandResult Result(string host, string commandLine, int exitCode, TimeSpan duration)
    {
        lock (gate)
        {
            return new CommandResult(host, commandLine, exitCode, duration, stdoutTail.ToList(), stderrTail.ToList())
            {
                Stdout = stdout.ToString(),
            };
        }
    }

    public async Task PumpAsync(StreamReader reader, OutputStream stream)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            Add(stream, line);
    }
}
