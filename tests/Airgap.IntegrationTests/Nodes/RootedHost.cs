using Airgap.Nodes;

namespace Airgap.IntegrationTests.Nodes;

/// <summary>
/// A node that is a directory on this machine (a debootstrap chroot, an rpm install root, or / itself): the
/// product's commands run for real, re-aimed by <paramref name="aim"/> (chroot, --installroot, an
/// environment variable pointing at a test daemon), and its files land under it. Every command line is recorded as the product wrote it.
/// </summary>
internal sealed class RootedHost(string root, Func<CommandSpec, CommandSpec> aim) : IHost
{
    private readonly LocalHost local = new();

    public List<string> Commands { get; } = [];

    public string Name => "root:" + root;

    public Task<CommandResult> RunAsync(CommandSpec spec, CancellationToken ct)
    {
        Commands.Add(spec.DisplayLine);
        return local.RunAsync(aim(spec), ct);
    }

    private string In(string path) => Path.Combine(root, path.TrimStart('/'));

    public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct) => local.ReadFileAsync(In(path), ct);
    public Task WriteFileAsync(string path, byte[] content, UnixFileMode mode, CancellationToken ct) => local.WriteFileAsync(In(path), content, mode, ct);
    public Task<bool> FileExistsAsync(string path, CancellationToken ct) => local.FileExistsAsync(In(path), ct);
    public Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken ct) => local.ListDirectoryAsync(In(path), ct);
    public Task<bool> DeleteFileAsync(string path, CancellationToken ct) => local.DeleteFileAsync(In(path), ct);

    /// <summary>Runs each command inside the chroot with the network cut.</summary>
    public static RootedHost Chroot(string root) =>
        new(root, spec => new CommandSpec("unshare", ["--net", "chroot", root, spec.File, .. spec.Args]) { Env = spec.Env, Timeout = spec.Timeout });
}
