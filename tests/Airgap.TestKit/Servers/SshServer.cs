using Airgap.TestKit.Infrastructure;

namespace Airgap.TestKit;

/// <summary>What login an <see cref="SshServer"/> offers besides root's key.</summary>
public sealed record SshLoginOptions
{
    /// <summary>Create a throwaway non-root user (removed on dispose) who logs in with the client key.</summary>
    public bool NonRootUser { get; init; }

    /// <summary>That user may run anything as root through sudo without a password.</summary>
    public bool Sudoer { get; init; }

    /// <summary>That user also logs in with this password (the server then allows password login).</summary>
    public string? Password { get; init; }
}

/// <summary>
/// Debian's OpenSSH server on 127.0.0.1 with its own host key, client key, authorized_keys and
/// known_hosts in a temp dir: root logs in with the key only. Never touches /etc/ssh or ~/.ssh;
/// a non-root user, when asked for, is created for the test and removed with its sudoers entry.
/// </summary>
public sealed class SshServer : IAsyncDisposable
{
    public const string SshdBinary = "/usr/sbin/sshd";

    private readonly ServerProcess _process;

    private SshServer(ServerProcess process, string work, int port, string user)
    {
        _process = process;
        WorkDirectory = work;
        Port = port;
        User = user;
    }

    public string WorkDirectory { get; }

    public int Port { get; }

    /// <summary>root, or the throwaway user <see cref="SshLoginOptions.NonRootUser"/> made.</summary>
    public string User { get; }

    /// <summary>root@127.0.0.1:PORT.</summary>
    public string Target => $"root@127.0.0.1:{Port}";

    /// <summary>USER@127.0.0.1:PORT for the non-root user.</summary>
    public string UserTarget => $"{User}@127.0.0.1:{Port}";

    /// <summary>The client's private key, authorized for root.</summary>
    public string ClientKey => Path.Combine(WorkDirectory, "client_ed25519");

    /// <summary>A known_hosts holding this server's host key under [127.0.0.1]:PORT.</summary>
    public string KnownHosts => Path.Combine(WorkDirectory, "known_hosts");

    public string HostPublicKey => File.ReadAllText(Path.Combine(WorkDirectory, "host_ed25519.pub")).Trim();

    public static async Task<SshServer> StartAsync(CancellationToken cancellationToken = default) =>
        await StartAsync(new SshLoginOptions(), cancellationToken).ConfigureAwait(false);

    public static async Task<SshServer> StartAsync(SshLoginOptions login, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(SshdBinary)) throw new InvalidOperationException("sshd is missing: apt-get install -y openssh-server (make deps does)");
        if (login.Sudoer && !File.Exists("/usr/bin/sudo")) throw new InvalidOperationException("sudo is missing: apt-get install -y sudo (make deps does)");
        var work = Directory.CreateTempSubdirectory("airgap-sshd-").FullName;
        ServerProcess? process = null;
        var user = "root";
        try
        {
            if (login.NonRootUser)
            {
                user = "airgap-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
                await Must("useradd", ["--create-home", "--shell", "/bin/sh", user], null, cancellationToken).ConfigureAwait(false);
                // A '!' password is a locked account, and sshd without PAM refuses even its keys; '*' only means "no password".
                await Must("chpasswd", ["-e"], $"{user}:*\n", cancellationToken).ConfigureAwait(false);
                if (login.Password is { } password) await Must("chpasswd", [], $"{user}:{password}\n", cancellationToken).ConfigureAwait(false);
                if (login.Sudoer)
                {
                    File.WriteAllText(SudoersFile(user), $"{user} ALL=(ALL) NOPASSWD: ALL\n");
                    File.SetUnixFileMode(SudoersFile(user), (UnixFileMode)0x120); // 0440, as sudo wants
                }
                // sshd reads authorized_keys as the user: let it through the work dir (the private keys stay 0600).
                File.SetUnixFileMode(work, (UnixFileMode)0x1C9); // 0711
            }
            foreach (var (name, type) in new[] { ("host_ed25519", "ed25519"), ("client_ed25519", "ed25519") })
            {
                var keygen = await ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "airgap-test", "-f", Path.Combine(work, name)], cancellationToken).ConfigureAwait(false);
                if (!keygen.Succeeded) throw new InvalidOperationException("ssh-keygen failed: " + keygen);
            }
            File.Copy(Path.Combine(work, "client_ed25519.pub"), Path.Combine(work, "authorized_keys"));
            File.SetUnixFileMode(Path.Combine(work, "authorized_keys"), (UnixFileMode)0x1A4); // 0644
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
                PasswordAuthentication {(login.Password is null ? "no" : "yes")}
                KbdInteractiveAuthentication no
                UsePAM no
                StrictModes no
                Subsystem sftp internal-sftp
                LogLevel ERROR

                """, cancellationToken).ConfigureAwait(false);
            process = ServerProcess.Start(SshdBinary, ["-D", "-e", "-f", config], Path.Combine(work, "sshd.log"));
            var server = new SshServer(process, work, port, user);
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
            await RemoveUserAsync(user).ConfigureAwait(false);
            throw;
        }
    }

    private static string SudoersFile(string user) => $"/etc/sudoers.d/{user}";

    private static async Task Must(string file, string[] args, string? stdin, CancellationToken ct)
    {
        var r = await ProcessRunner.RunAsync(file, args, ct, stdin).ConfigureAwait(false);
        if (!r.Succeeded) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {r}");
    }

    private static async Task RemoveUserAsync(string user)
    {
        if (user == "root") return;
        File.Delete(SudoersFile(user));
        await ProcessRunner.RunAsync("pkill", ["-KILL", "-u", user]).ConfigureAwait(false);
        await ProcessRunner.RunAsync("userdel", ["--remove", user]).ConfigureAwait(false);
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
        await RemoveUserAsync(User).ConfigureAwait(false);
    }
}
