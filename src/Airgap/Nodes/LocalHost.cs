using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Airgap.Nodes;

/// <summary>The machine airgap runs on, driven with <see cref="Process"/> and the local file system.</summary>
public sealed class LocalHost : IHost
{
    // Commands whose answer is their output (ctr images ls, crictl) stay far below this; past it
    // only the tails are kept, so a chatty command cannot exhaust memory.

    // A command may leave a daemon holding its output pipes (a service started by the command
    // itself); once the command has exited, its output is waited for only this long.
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    public LocalHost(string? name = null) => Name = name ?? Environment.MachineName;

    public string Name { get; }

    public async Task<CommandResult> RunAsync(CommandSpec spec, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var start = Stopwatch.GetTimestamp();
        var info = new ProcessStartInfo(spec.File)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in spec.Args) info.ArgumentList.Add(arg);
        if (spec.Env is not null)
            foreach (var (key, value) in spec.Env) info.Environment[key] = value;

        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            // The shell's answer for a missing program, so callers treat local and remote alike.
            return new CommandResult(Name, spec.DisplayLine, 127, Stopwatch.GetElapsedTime(start), [],
                [$"{spec.File}: cannot run: {e.Message}"]);
        }

        var output = new OutputCollector(spec);
        var pumps = Task.WhenAll(
            output.PumpAsync(process.StandardOutput, OutputStream.Stdout),
            output.PumpAsync(process.StandardError, OutputStream.Stderr));
        var feed = FeedStdinAsync(process, spec, ct);

        using var timeout = spec.Timeout is { } limit ? new CancellationTokenSource(limit) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            timedOut = true;
        }
        await Task.WhenAny(pumps, Task.Delay(DrainGrace, CancellationToken.None)).ConfigureAwait(false);
        await Task.WhenAny(feed, Task.Delay(DrainGrace, CancellationToken.None)).ConfigureAwait(false);
        // What fed stdin failing (a damaged bundle) explains more than the command's complaint about a cut stream.
        if (feed.IsFaulted && feed.Exception?.InnerException is { } fed and not IOException) throw fed;

        return output.Result(Name, spec.DisplayLine, process.ExitCode, Stopwatch.GetElapsedTime(start)) with { TimedOut = timedOut };
    }

    public async Task<byte[]?> ReadFileAsync(string path, CancellationToken ct)
    {
        try
        {
            // Not File.ReadAllBytes: sysfs files claim a size of 4096 and procfs files a size of 0,
            // so only reading to the end gives their real content.
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, useAsync: true);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
            return buffer.ToArray();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (UnauthorizedAccessException) when (Directory.Exists(path))
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AirgapException($"{Name}: cannot read {path}: {e.Message}", e);
        }
    }

    public async Task WriteFileAsync(string path, byte[] content, UnixFileMode mode, CancellationToken ct)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.airgap-tmp");
        try
        {
            Directory.CreateDirectory(directory);
            // A run killed between write and rename left its temporary copy of this very file: the file is
            // written whole again now, so the leftover is only litter (in /etc/containerd, /etc/kubernetes…).
            foreach (var stale in Directory.EnumerateFiles(directory, $".{Path.GetFileName(path)}.*.airgap-tmp")) TryDelete(stale);
            // Created with the final mode (minus umask) so a secret is never readable by others, even briefly.
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None,
                UnixCreateMode = mode, Options = FileOptions.Asynchronous,
            };
            await using (var stream = new FileStream(temp, options))
            {
                await stream.WriteAsync(content, ct).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.SetUnixFileMode(temp, mode);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new AirgapException($"{Name}: cannot write {path}: {e.Message}", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public Task<bool> FileExistsAsync(string path, CancellationToken ct) =>
        Task.FromResult(File.Exists(path) || Directory.Exists(path));

    public Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken ct)
    {
        if (!Directory.Exists(path)) return Task.FromResult<IReadOnlyList<string>?>(null);
        try
        {
            IReadOnlyList<string> names = Directory.EnumerateFileSystemEntries(path)
                .Select(p => Path.GetFileName(p))
                .Order(StringComparer.Ordinal)
                .ToList();
            return Task.FromResult<IReadOnlyList<string>?>(names);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AirgapException($"{Name}: cannot list {path}: {e.Message}", e);
        }
    }

    public Task<bool> DeleteFileAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path)) return Task.FromResult(false);
        try
        {
            File.Delete(path);
            return Task.FromResult(true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AirgapException($"{Name}: cannot delete {path}: {e.Message}", e);
        }
    }


    private static async Task FeedStdinAsync(Process process, CommandSpec spec, CancellationToken ct)
    {
        try
        {
            if (spec.Stdin is not null)
                await process.StandardInput.BaseStream.WriteAsync(spec.Stdin, ct).ConfigureAwait(false);
            if (spec.StdinFrom is not null)
                await spec.StdinFrom(process.StandardInput.BaseStream, ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The command exited without reading all of its input; its exit code tells the story.
        }
        finally
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // Already gone with the process.
            }
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray temporary file is harmless and named as ours.
        }
    }
}
