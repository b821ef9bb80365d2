using System.Text;

namespace Airgap.Nodes;

/// <summary>
/// A node the install flow acts on: run commands, read and write files. Every phase goes through
/// this one seam, so the same code runs locally, over SSH, recorded for a report, or not at all
/// for --dry-run. Paths are the node's paths; nothing here touches the machine airgap runs on
/// unless the implementation is <see cref="LocalHost"/>.
/// </summary>
public interface IHost
{
    /// <summary>How the node is named in messages ("node1", "10.0.0.5").</summary>
    string Name { get; }

    /// <summary>Runs a command and returns how it ended; a non-zero exit is a result, not an exception.</summary>
    Task<CommandResult> RunAsync(CommandSpec spec, CancellationToken ct);

    /// <summary>The file's bytes, or null when nothing (or a directory) is at <paramref name="path"/>.</summary>
    Task<byte[]?> ReadFileAsync(string path, CancellationToken ct);

    /// <summary>
    /// Replaces the file atomically (a temporary file beside it, then rename), creating parent
    /// directories, so a crash never leaves a half-written config and readers see old or new.
    /// </summary>
    Task WriteFileAsync(string path, byte[] content, UnixFileMode mode, CancellationToken ct);

    /// <summary>True when a file, directory or socket exists at <paramref name="path"/>.</summary>
    Task<bool> FileExistsAsync(string path, CancellationToken ct);

    /// <summary>Entry names (not paths) in ordinal order, or null when <paramref name="path"/> is not a directory.</summary>
    Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken ct);

    /// <summary>Removes a file; false when there was none.</summary>
    Task<bool> DeleteFileAsync(string path, CancellationToken ct);
}

public static class HostExtensions
{
    public const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    public const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static async Task<string?> ReadTextAsync(this IHost host, string path, CancellationToken ct) =>
        await host.ReadFileAsync(path, ct).ConfigureAwait(false) is { } bytes ? Encoding.UTF8.GetString(bytes) : null;

    public static Task WriteTextAsync(this IHost host, string path, string text, UnixFileMode mode, CancellationToken ct) =>
        host.WriteFileAsync(path, Encoding.UTF8.GetBytes(text), mode, ct);

    /// <summary>Runs the command and throws <see cref="CommandFailedException"/> unless it succeeded.</summary>
    public static async Task<CommandResult> RunCheckedAsync(this IHost host, CommandSpec spec, CancellationToken ct) =>
        (await host.RunAsync(spec, ct).ConfigureAwait(false)).EnsureSuccess();

    internal static string FormatMode(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');
}
