using Airgap.TestKit.Infrastructure;

namespace Airgap.TestKit;

/// <summary>
/// Debian's dockerd (docker.io) with its own data root, exec root, socket and managed containerd in a
/// temp dir, no bridge and no iptables rules, so it never touches a system Docker or the host's network.
/// The daemon.json is the caller's (the product's own renderer). Needs root.
/// </summary>
public sealed class DockerEngineServer : IAsyncDisposable
{
    public const string DockerdBinary = "/usr/sbin/dockerd";

    private readonly ServerProcess _process;

    private DockerEngineServer(ServerProcess process, string work)
    {
        _process = process;
        WorkDirectory = work;
    }

    public string WorkDirectory { get; }

    public string Socket => Path.Combine(WorkDirectory, "docker.sock");

    public Uri Endpoint => new("unix://" + Socket);

    public string LogPath => Path.Combine(WorkDirectory, "dockerd.log");

    public static async Task<DockerEngineServer> StartAsync(string daemonJson, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(DockerdBinary))
        {
            throw new InvalidOperationException("dockerd is missing: apt-get install -y docker.io (make deps does)");
        }
        var work = Directory.CreateTempSubdirectory("airgap-docker-").FullName;
        ServerProcess? process = null;
        try
        {
            var config = Path.Combine(work, "daemon.json");
            await File.WriteAllTextAsync(config, daemonJson, cancellationToken).ConfigureAwait(false);
            process = ServerProcess.Start(DockerdBinary,
            [
                "--config-file", config, "--data-root", Path.Combine(work, "data"), "--exec-root", Path.Combine(work, "exec"),
                "--pidfile", Path.Combine(work, "dockerd.pid"), "-H", "unix://" + Path.Combine(work, "docker.sock"),
                "--bridge", "none", "--iptables=false", "--ip-masq=false", "--ip6tables=false",
            ], Path.Combine(work, "dockerd.log"));
            var server = new DockerEngineServer(process, work);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!(await server.DockerAsync(["version", "--format", "{{.Server.Version}}"], cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"dockerd did not answer within 30 s:\n{process.Tail()}");
                }
                await Task.Delay(250, cancellationToken).ConfigureAwait(false);
            }
            return server;
        }
        catch
        {
            if (process is not null)
            {
                await process.DisposeAsync().ConfigureAwait(false);
            }
            ContainerdServer.UnmountUnder(work);
            Net.TryDeleteDirectory(work);
            throw;
        }
    }

    /// <summary>The docker CLI against this engine only.</summary>
    public Task<ProcessResult> DockerAsync(IEnumerable<string> args, CancellationToken cancellationToken = default) =>
        ProcessRunner.RunAsync("docker", new[] { "-H", "unix://" + Socket }.Concat(args), cancellationToken);

    public string LogTail() => _process.Tail();

    public async ValueTask DisposeAsync()
    {
        // dockerd stops its managed containerd and the shims on SIGTERM.
        await _process.StopAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
        await _process.DisposeAsync().ConfigureAwait(false);
        ContainerdServer.UnmountUnder(WorkDirectory);
        Net.TryDeleteDirectory(WorkDirectory);
    }
}
