using System.Runtime.InteropServices;
using Airgap.TestKit.Infrastructure;

namespace Airgap.TestKit;

/// <summary>
/// Debian's containerd with its own root, state, sockets and config in a temp dir, so it never touches
/// a system containerd (/var/lib/containerd, /run/containerd/containerd.sock). Needs root.
/// </summary>
/// <remarks>
/// Host notes (Debian 12 container: PID 1 is not systemd, cgroups v1, root without CAP_SYS_RESOURCE):
/// containerd 1.6.20 + runc 1.1.5 run `ctr run` here with no extra flags (verified by the sanity test).
/// oom_score_adj is not a problem as long as nobody asks to lower it: the config leaves containerd's
/// oom_score at its default 0 (a negative value would need CAP_SYS_RESOURCE), the runc shim only sets
/// itself to containerd's score + 1 (raising needs no capability), and ctr's default spec sets no
/// process.oomScoreAdj. runc uses the cgroupfs driver (not systemd), which suits cgroups v1 without
/// systemd; containers land in /sys/fs/cgroup/*/&lt;namespace&gt;/&lt;id&gt;.
/// What does need care: the shim's defaults are global paths (/run/containerd/runc for runc state,
/// /run/containerd/fifo for stdio fifos) shared with any other containerd on the host, so
/// <see cref="RunAsync"/> passes --runc-root and --fifo-dir inside our temp dir. The CRI plugin is
/// disabled: these tests drive containerd through ctr only.
/// </remarks>
public sealed partial class ContainerdServer : IAsyncDisposable
{
    public const string ContainerdBinary = "/usr/bin/containerd";
    public const string CtrBinary = "/usr/bin/ctr";
    private readonly ServerProcess _process;

    private ContainerdServer(ServerProcess process, string workDirectory)
    {
        _process = process;
        WorkDirectory = workDirectory;
    }

    public string WorkDirectory { get; }

    /// <summary>The grpc socket (what ctr/crictl call --address).</summary>
    public string Address => Path.Combine(WorkDirectory, "containerd.sock");

    public string Root => Path.Combine(WorkDirectory, "root");

    public string State => Path.Combine(WorkDirectory, "state");

    public string ConfigPath => Path.Combine(WorkDirectory, "config.toml");

    public string LogPath => Path.Combine(WorkDirectory, "containerd.log");

    /// <summary>runc's state dir for containers started through <see cref="RunAsync"/>.</summary>
    public string RuncRoot => Path.Combine(WorkDirectory, "runc");

    public static Task<ContainerdServer> StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(Config, cancellationToken);

    /// <summary>
    /// Starts containerd with a config of the caller's (e.g. the product's own renderer), given the
    /// work directory; it must keep root, state and sockets inside that directory.
    /// </summary>
    public static async Task<ContainerdServer> StartAsync(Func<string, string> config, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(ContainerdBinary) || !File.Exists(CtrBinary))
        {
            throw new InvalidOperationException("containerd/ctr are missing: apt-get install -y containerd runc");
        }
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("containerd needs root (mounts, namespaces, cgroups)");
        }

        var work = Directory.CreateTempSubdirectory("airgap-containerd-").FullName;
        ServerProcess? process = null;
        try
        {
            var configPath = Path.Combine(work, "config.toml");
            await File.WriteAllTextAsync(configPath, config(work), cancellationToken).ConfigureAwait(false);
            process = ServerProcess.Start(ContainerdBinary, ["--config", configPath, "--log-level", "warn"], Path.Combine(work, "containerd.log"));
            var server = new ContainerdServer(process, work);
            await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            if (process is not null)
            {
                await process.DisposeAsync().ConfigureAwait(false);
            }
            UnmountUnder(work);
            Net.TryDeleteDirectory(work);
            throw;
        }
    }

    /// <summary>Runs `ctr --address &lt;our socket&gt; args...`.</summary>
    public Task<(int exit, string stdout, string stderr)> CtrAsync(params string[] args) => CtrAsync(args, CancellationToken.None);

    public async Task<(int exit, string stdout, string stderr)> CtrAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var result = await ProcessRunner.RunAsync(CtrBinary, new[] { "--address", Address }.Concat(args), cancellationToken)
            .ConfigureAwait(false);
        return (result.ExitCode, result.Stdout, result.Stderr);
    }

    /// <summary>`ctr -n ns images import` of a docker-archive or oci-archive tar.</summary>
    public Task<(int exit, string stdout, string stderr)> ImportAsync(string archivePath, string @namespace = "k8s.io",
        CancellationToken cancellationToken = default, params string[] extraArgs)
        => CtrAsync(new[] { "-n", @namespace, "images", "import" }.Concat(extraArgs).Append(archivePath), cancellationToken);

    /// <summary>
    /// `ctr run --rm image id command...`, with runc state and fifos kept in our temp dir (see remarks)
    /// unless <paramref name="isolated"/> is false. Use unique ids: a container id is also a cgroup name
    /// (/&lt;namespace&gt;/&lt;id&gt;) on the host.
    /// </summary>
    /// <remarks>
    /// ctr can lose the output of a process that exits at once when the machine is busy (the fifo is
    /// read after the task is gone; containerd/containerd#770): a run that succeeded with no output at
    /// all is tried again, up to three times, under a fresh id.
    /// </remarks>
    public async Task<(int exit, string stdout, string stderr)> RunAsync(string image, string id, IEnumerable<string> command,
        string @namespace = "k8s.io", CancellationToken cancellationToken = default, bool isolated = true)
    {
        Directory.CreateDirectory(RuncRoot);
        var fifo = Directory.CreateDirectory(Path.Combine(WorkDirectory, "fifo")).FullName;
        var args = command.ToArray();
        (int exit, string stdout, string stderr) result = default;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var name = attempt == 1 ? id : $"{id}-{attempt}";
            var isolation = isolated ? new[] { "--runc-root", RuncRoot, "--fifo-dir", fifo } : [];
            result = await CtrAsync(new[] { "-n", @namespace, "run", "--rm" }.Concat(isolation).Concat([image, name]).Concat(args), cancellationToken)
                .ConfigureAwait(false);
            if (result.exit != 0 || result.stdout.Length > 0 || result.stderr.Length > 0) break;
        }
        return result;
    }

    public string LogTail() => _process.Tail();

    public async ValueTask DisposeAsync()
    {
        await RemoveTasksAsync().ConfigureAwait(false);
        await _process.DisposeAsync().ConfigureAwait(false);
        KillOurShims();
        UnmountUnder(WorkDirectory);
        Net.TryDeleteDirectory(WorkDirectory);
    }

    private static string Config(string work)
    {
        // TOML basic strings: our temp paths contain no quotes or backslashes.
        return $"""
            version = 2
            root = "{Path.Combine(work, "root")}"
            state = "{Path.Combine(work, "state")}"
            disabled_plugins = [
              "io.containerd.grpc.v1.cri",
              "io.containerd.snapshotter.v1.aufs",
              "io.containerd.snapshotter.v1.btrfs",
              "io.containerd.snapshotter.v1.devmapper",
              "io.containerd.snapshotter.v1.zfs",
            ]

            [grpc]
              address = "{Path.Combine(work, "containerd.sock")}"

            [ttrpc]
              address = "{Path.Combine(work, "containerd.sock.ttrpc")}"

            [debug]
              address = ""

            [metrics]
              address = ""

            # The opt plugin would otherwise create /opt/containerd.
            [plugins."io.containerd.internal.v1.opt"]
              path = "{Path.Combine(work, "opt")}"

            """;
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"containerd exited during start-up. Log tail:\n{_process.Tail()}");
            }
            if (File.Exists(Address))
            {
                var (exit, _, stderr) = await CtrAsync(["version"], cancellationToken).ConfigureAwait(false);
                if (exit == 0)
                {
                    return;
                }
                last = stderr;
            }
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
        throw new TimeoutException($"containerd did not answer on {Address} within {timeout.TotalSeconds:0}s ({last.Trim()}). Log tail:\n{_process.Tail()}");
    }

    /// <summary>Kills and deletes tasks a failed test left running, so their shims and mounts go away cleanly.</summary>
    private async Task RemoveTasksAsync()
    {
        if (_process.HasExited)
        {
            return;
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            var (_, namespaces, _) = await CtrAsync(["namespaces", "ls", "-q"], cts.Token).ConfigureAwait(false);
            foreach (var ns in Lines(namespaces))
            {
                var (_, tasks, _) = await CtrAsync(["-n", ns, "tasks", "ls", "-q"], cts.Token).ConfigureAwait(false);
                foreach (var task in Lines(tasks))
                {
                    await CtrAsync(["-n", ns, "tasks", "kill", "-a", "-s", "SIGKILL", task], cts.Token).ConfigureAwait(false);
                    await CtrAsync(["-n", ns, "tasks", "delete", "-f", task], cts.Token).ConfigureAwait(false);
                }
                var (_, containers, _) = await CtrAsync(["-n", ns, "containers", "ls", "-q"], cts.Token).ConfigureAwait(false);
                foreach (var c in Lines(containers))
                {
                    await CtrAsync(["-n", ns, "containers", "delete", c], cts.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Fall through to the harder measures below.
        }
    }

    /// <summary>Shims outlive containerd by design; ours are the ones whose command line names our socket.</summary>
    private void KillOurShims()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (args.Length > 0 && args[0].Contains("containerd-shim", StringComparison.Ordinal) && args.Contains(Address))
                {
                    using var p = System.Diagnostics.Process.GetProcessById(pid);
                    p.Kill(entireProcessTree: true);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                // The process ended while we looked.
            }
        }
    }

    /// <summary>Overlay and bind mounts under our root would make the temp dir undeletable.</summary>
    internal static void UnmountUnder(string directory)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines("/proc/self/mountinfo");
        }
        catch (IOException)
        {
            return;
        }
        var prefix = directory.TrimEnd('/') + "/";
        var mountPoints = lines
            .Select(l => l.Split(' '))
            .Where(f => f.Length > 4)
            .Select(f => f[4].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(m => m.StartsWith(prefix, StringComparison.Ordinal))
            .Reverse();
        foreach (var m in mountPoints)
        {
            _ = Umount2(m, MntDetach);
        }
    }

    private static IEnumerable<string> Lines(string text)
        => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private const int MntDetach = 2;

    [LibraryImport("libc", EntryPoint = "umount2", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Umount2(string target, int flags);
}
