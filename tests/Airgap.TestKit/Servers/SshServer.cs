using Airgap.TestKit.Infrastructure;

namespace Airgap.TestKit;

/// <summary>
/// Debian's OpenSSH server on 127.0.0.1 with its own host key, client key, authorized_keys and
/// known_hosts in a temp dir: root logs in with the key only. Never touches /etc/ssh or ~/.ssh.
/// </summary>
public sealed class SshServer : IAsyncDisposable
{
    public const string SshdBinary = "/usr/sbin/sshd";

    private readonly ServerProcess _process;

    private SshServer(ServerProcess process, string work, int port)
    {
        _process = process;
        WorkDirectory = work;
        Port = port;
    }

    public string WorkDirectory { get; }

    public int Port { get; }

    /// <summary>root@127.0.0.1:PORT.</summary>
    public string Target => $"root@127.0.0.1:{Port}";

    /// <summary>The client's private key, authorized for root.</summary>
    public string ClientKey => Path.Combine(WorkDirectory, "client_ed25519");

    /// <summary>A known_hosts holding this server's host key under [127.0.0.1]:PORT.</summary>
    public string KnownHosts => Path.Combine(WorkDirectory, "known_hosts");

    public string HostPublicKey => File.ReadAllText(Path.Combine(WorkDirectory, "host_ed25519.pub")).Trim();

    public static async Task<SshServer> StartAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(SshdBinary)) throw new InvalidOperationException("sshd is missing: apt-get install -y openssh-server (make deps does)");
        var work = Directory.CreateTempSubdirectory("airgap-sshd-").FullName;
        ServerProcess? process = null;
        try
        {
            foreach (var (name, type) in new[] { ("host_ed25519", "ed25519"), ("client_ed25519", "ed25519") })
            {
                var keygen = await ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "airgap-test", "-f", Path.Combine(work, name)], cancellationToken).ConfigureAwait(false);
                if (!keygen.Succeeded) throw new InvalidOperationException("ssh-keygen failed: " + keygen);
            }
            File.Copy(Path.Combine(work, "client_ed25519.pub"), Path.Combine(work, "authorized_keys"));
            var port = Net.FreeLoopbackPort();
            var hostKey = File.ReadAllText(Path.Combine(work, "host_ed25519.pub")).Split(' ');
            await File.WriteAllTextAsync(Path.Combine(work, "known_hosts"), $"[127.0.0.1]:{port} {hostKey[0]} {hostKey[1]}\n", cancellationToken).ConfigureAwait(false);
            // sshd needs its privilege-separation directory even when it only serves a test port.
            Directory.CreateDirectory("/run/sshd");
            var config = Path.Combine(work, "sshd_config");
            await File.WriteAllTextAsync(config, $"""
                ListenAddress 127.0.0.1:{port}
                HostKey {Path.Combine(work, "host_ed25519")}
                PidFile {Path.Combine(work, "sshd.pid")}
                AuthorizedKeysFile {Path.Combine(work, "authorized_keys")}
                PermitRootLogin prohibit-password
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UsePAM no
                StrictModes no
                Subsystem sftp internal-sftp
                LogLevel ERROR

                """, cancellationToken).ConfigureAwait(false);
            process = ServerProcess.Start(SshdBinary, ["-D", "-e", "-f", config], Path.Combine(work, "sshd.log"));
            var server = new SshServer(process, work, port);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (!await CanConnectAsync(port).ConfigureAwait(false))
            {
                if (process.HasExited || DateTime.UtcNow > deadline) throw new InvalidOperationException($"sshd did not listen:\n{process.Tail()}");
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            return server;
        }
        catch
        {
            if (process is not null) await process.DisposeAsync().ConfigureAwait(false);
            Net.TryDeleteDirectory(work);
            throw;
        }
    }

    private static async Task<bool> CanConnectAsync(int port)
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port).ConfigureAwait(false);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    public string LogTail() => _process.Tail();

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync().ConfigureAwait(false);
        Net.TryDeleteDirectory(WorkDirectory);
    }
}
