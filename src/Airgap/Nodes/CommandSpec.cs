using System.Text;

namespace Airgap.Nodes;

public enum OutputStream { Stdout, Stderr }

/// <summary>One line a running command wrote, already redacted when the command is sensitive.</summary>
public sealed record OutputLine(OutputStream Stream, string Text);

/// <summary>
/// One command to run on a node. Arguments are a list, never a shell string, so no shell on either
/// side re-parses them and a CIDR, a token or a path with spaces arrives exactly as given.
/// </summary>
public sealed record CommandSpec
{
    public CommandSpec(string file, params string[] args)
    {
        ArgumentException.ThrowIfNullOrEmpty(file);
        File = file;
        Args = args;
    }

    public string File { get; }
    public IReadOnlyList<string> Args { get; }

    /// <summary>Added to the node's environment (not a replacement for it).</summary>
    public IReadOnlyDictionary<string, string>? Env { get; init; }

    /// <summary>Written to the command's stdin, which is then closed. Without it stdin is closed at once, so nothing waits on a terminal.</summary>
    public byte[]? Stdin { get; init; }

    /// <summary>
    /// Streams the command's stdin (an archive straight out of the bundle, say), which is closed when it
    /// returns. An exception it throws, other than the command closing its end early, is the command's failure.
    /// </summary>
    public Func<Stream, CancellationToken, Task>? StdinFrom { get; init; }

    /// <summary>After this the command (and its children) is killed and the result says it timed out.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// The command carries secrets (bootstrap tokens, certificate keys): its command line, streamed
    /// lines and output tails are redacted, so they can go to logs, plans and journals.
    /// </summary>
    public bool Sensitive { get; init; }

    /// <summary>Exact values to hide when <see cref="Sensitive"/>, on top of the token shapes <see cref="Redactor"/> knows.</summary>
    public IReadOnlyList<string> Secrets { get; init; } = [];

    /// <summary>Called for each output line as it arrives, so long commands such as kubeadm init can be shown live.</summary>
    public Action<OutputLine>? OnOutput { get; init; }

    /// <summary>Streams every output line to <paramref name="progress"/> as an info line.</summary>
    public CommandSpec StreamTo(IProgressSink progress) => this with { OnOutput = line => progress.Info(line.Text) };

    /// <summary>The command as an operator would type it, with environment first; secrets hidden when sensitive.</summary>
    public string DisplayLine => Redact(ShellLine);

    /// <summary>The command for a POSIX shell, unredacted: what a remote node's shell is given to run.</summary>
    internal string ShellLine
    {
        get
        {
            var text = new StringBuilder();
            if (Env is not null)
                foreach (var (key, value) in Env.OrderBy(e => e.Key, StringComparer.Ordinal))
                    text.Append(key).Append('=').Append(ShellQuote(value)).Append(' ');
            text.Append(ShellQuote(File));
            foreach (var arg in Args) text.Append(' ').Append(ShellQuote(arg));
            return text.ToString();
        }
    }

    internal string Redact(string text) => Sensitive ? Redactor.Redact(text, Secrets) : text;

    /// <summary>Quotes for a POSIX shell only when needed, so plans stay readable and can be pasted.</summary>
    public static string ShellQuote(string value)
    {
        if (value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,+@%".Contains(c))) return value;
        return "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}
