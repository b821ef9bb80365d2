using System.Text;
using Airgap.Nodes;

namespace Airgap.Tests.Nodes;

/// <summary>
/// A node made of a dictionary: files by path (directories implied by them, or added empty), and
/// commands answered by a handler. Records what runs and what is written.
/// </summary>
internal sealed class FakeHost(string name = "fake") : IHost
{
    private readonly Dictionary<string, byte[]> files = new(StringComparer.Ordinal);
    private readonly HashSet<string> emptyDirectories = new(StringComparer.Ordinal);

    public string Name { get; } = name;
    public List<CommandSpec> Commands { get; } = [];
    public Func<CommandSpec, CommandResult>? OnRun { get; set; }

    public FakeHost File(string path, string content)
    {
        files[path] = Encoding.UTF8.GetBytes(content);
        return this;
    }

    public FakeHost Remove(string path)
    {
        files.Remove(path);
        emptyDirectories.Remove(path.TrimEnd('/'));
        return this;
    }

    public bool Has(string path) => files.ContainsKey(path);

    public FakeHost Directory(string path)
    {
        emptyDirectories.Add(path.TrimEnd('/'));
        return this;
    }

    public string? Text(string path) => files.TryGetValue(path, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;

    public Task<CommandResult> RunAsync(CommandSpec spec, CancellationToken ct)
    {
        Commands.Add(spec);
        return Task.FromResult(OnRun?.Invoke(spec) ?? new CommandResult(Name, spec.DisplayLine, 0, TimeSpan.Zero, [], []));
    }

    public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct) =>
        Task.FromResult(files.TryGetValue(path, out var bytes) ? bytes.ToArray() : null);

    public Task WriteFileAsync(string path, byte[] content, UnixFileMode mode, CancellationToken ct)
    {
        files[path] = content.ToArray();
        return Task.CompletedTask;
    }

    public Task<bool> FileExistsAsync(string path, CancellationToken ct) =>
        Task.FromResult(files.ContainsKey(path) || IsDirectory(path));

    public Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken ct)
    {
        if (!IsDirectory(path)) return Task.FromResult<IReadOnlyList<string>?>(null);
        var prefix = path.TrimEnd('/') + "/";
        IReadOnlyList<string> names = files.Keys.Concat(emptyDirectories)
            .Where(p => p.StartsWith(prefix, StringComparison.Ordinal))
            .Select(p => p[prefix.Length..].Split('/')[0])
            .Where(n => n.Length > 0)
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
        return Task.FromResult<IReadOnlyList<string>?>(names);
    }

    public Task<bool> DeleteFileAsync(string path, CancellationToken ct) => Task.FromResult(files.Remove(path));

    private bool IsDirectory(string path)
    {
        var prefix = path.TrimEnd('/') + "/";
        return emptyDirectories.Contains(path.TrimEnd('/')) ||
               files.Keys.Concat(emptyDirectories).Any(p => p.StartsWith(prefix, StringComparison.Ordinal));
    }
}
