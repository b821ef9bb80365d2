using System.Text;

namespace Airgap.Nodes;

/// <summary>
/// One repair preflight plans for --fix. Planned as data, not done on the spot, so --dry-run can
/// print the exact commands and files and the caller runs them through whichever host it uses.
/// </summary>
public abstract record FixStep
{
    public abstract string Text { get; }

    public abstract Task ApplyAsync(IHost host, CancellationToken ct);
}

public sealed record RunFixStep(CommandSpec Command) : FixStep
{
    public override string Text => Command.DisplayLine;

    public override Task ApplyAsync(IHost host, CancellationToken ct) => host.RunCheckedAsync(Command, ct);
}

public sealed record WriteFixStep(string Path, string Content, UnixFileMode Mode) : FixStep
{
    public override string Text => $"write {Path} ({HostExtensions.FormatMode(Mode)}): {Content.TrimEnd('\n').Replace("\n", "; ", StringComparison.Ordinal)}";

    public override Task ApplyAsync(IHost host, CancellationToken ct) =>
        host.WriteFileAsync(Path, Encoding.UTF8.GetBytes(Content), Mode, ct);
}
