namespace Airgap.Nodes;

public enum HostActionKind { Run, Write, Delete }

/// <summary>
/// One change made (or, in a dry run, planned) on a node. <see cref="Text"/> is what a plan or a
/// report prints; <see cref="Content"/> is kept for writes so a dry run can show the files it would write.
/// </summary>
public sealed record HostAction(HostActionKind Kind, string Text)
{
    public CommandResult? Result { get; init; }
    public string? Path { get; init; }
    public byte[]? Content { get; init; }
    public UnixFileMode? Mode { get; init; }

    internal static HostAction Write(string path, byte[] content, UnixFileMode mode) =>
        new(HostActionKind.Write, $"write {path} ({content.Length} bytes, mode {HostExtensions.FormatMode(mode)})")
        {
            Path = path, Content = content, Mode = mode,
        };

    internal static HostAction Delete(string path) => new(HostActionKind.Delete, $"delete {path}") { Path = path };
}

/// <summary>Passes everything to the node and records each command and change, for the install report.</summary>
public sealed class RecordingHost(IHost inner) : IHost
{
    private readonly Lock gate = new();
    private readonly List<HostAction> actions = [];

    public string Name => inner.Name;

    public IReadOnlyList<HostAction> Actions
    {
        get { lock (gate) return actions.ToArray(); }
    }

    public async Task<CommandResult> RunAsync(CommandSpec spec, CancellationToken ct)
    {
        var result = await inner.RunAsync(spec, ct).ConfigureAwait(false);
        Record(new HostAction(HostActionKind.Run, result.CommandLine) { Result = result });
        return result;
    }

    public async Task WriteFileAsync(string path, byte[] content, UnixFileMode mode, CancellationToken ct)
    {
        await inner.WriteFileAsync(path, content, mode, ct).ConfigureAwait(false);
        Record(HostAction.Write(path, content, mode));
    }

    public async Task<bool> DeleteFileAsync(string path, CancellationToken ct)
    {
        var deleted = await inner.DeleteFileAsync(path, ct).ConfigureAwait(false);
        if (deleted) Record(HostAction.Delete(path));
        return deleted;
    }

    public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct) => inner.ReadFileAsync(path, ct);
    public Task<bool> FileExistsAsync(string path, CancellationToken ct) => inner.FileExistsAsync(path, ct);
    public Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken ct) => inner.ListDirectoryAsync(path, ct);

    private void Record(HostAction action)
    {
        lock (gate) actions.Add(action);
    }
}

/// <summary>
/// For --dry-run: reads go to the real node, so preflight and planning see the truth, while every
/// command and change is recorded instead of made. Files "written" are served back to later reads,
/// so a phase that writes a config and then reads it plans the same way it would run.
/// </summary>
public sealed class DryRunHost(IHost inner) : IHost
{
    private readonly Lock gate = new();
    private readonly List<HostAction> plan = [];
    // null marks a file deleted in the plan.
    private readonly Dictionary<string, byte[]?> overlay = new(StringComparer.Ordinal);

    public string Name => inner.Name;

    public IReadOnlyList<HostAction> Plan
    {
        get { lock (gate) return plan.ToArray(); }
    }

    /// <summary>Told of each command and change as it is planned, so a plan can be printed in order with the phases.</summary>
    public Action<HostAction>? Planned { get; init; }

    /// <summary>The plan as lines to print: one per command or change.</summary>
    public IReadOnlyList<string> PlanLines => Plan.Select(a => a.Text).ToList();

    public Task<CommandResult> RunAsync(CommandSpec spec, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var result = new CommandResult(Name, spec.DisplayLine, 0, TimeSpan.Zero, [], []) { DryRun = true };
        var action = new HostAction(HostActionKind.Run, result.CommandLine) { Result = result };
        lock (gate) plan.Add(action);
        Planned?.Invoke(action);
        return Task.FromResult(result);
    }

    public Task WriteFileAsync(string path, byte[] content, UnixFileMode mode, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var action = HostAction.Write(path, content.ToArray(), mode);
        lock (gate)
        {
            overlay[path] = content.ToArray();
            plan.Add(action);
        }
        Planned?.Invoke(action);
        return Task.CompletedTask;
    }

    public async Task<bool> DeleteFileAsync(string path, CancellationToken ct)
    {
        if (!await FileExistsAsync(path, ct).ConfigureAwait(false)) return false;
        var action = HostAction.Delete(path);
        lock (gate)
        {
            overlay[path] = null;
            plan.Add(action);
        }
        Planned?.Invoke(action);
        return true;
    }

    public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct)
    {
        lock (gate)
            if (overlay.TryGetValue(path, out var planned)) return Task.FromResult(planned?.ToArray());
        return inner.ReadFileAsync(path, ct);
    }

    public Task<bool> FileExistsAsync(string path, CancellationToken ct)
    {
        lock (gate)
            if (overlay.TryGetValue(path, out var planned)) return Task.FromResult(planned is not null);
        return inner.FileExistsAsync(path, ct);
    }

    public async Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken ct)
    {
        var listed = await inner.ListDirectoryAsync(path, ct).ConfigureAwait(false);
        var names = new SortedSet<string>(listed ?? [], StringComparer.Ordinal);
        var prefix = path.TrimEnd('/') + "/";
        var touched = false;
        lock (gate)
        {
            foreach (var (file, content) in overlay)
            {
                if (!file.StartsWith(prefix, StringComparison.Ordinal) || file.IndexOf('/', prefix.Length) >= 0) continue;
                touched = true;
                var name = file[prefix.Length..];
                if (content is null) names.Remove(name); else names.Add(name);
            }
        }
        return listed is null && !touched ? null : names.ToList();
    }
}
