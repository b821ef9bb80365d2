using System.Text;
using Airgap.IntegrationTests.Build;
using Airgap.Nodes;
using Airgap.TestKit;
using Airgap.TestKit.Infrastructure;

namespace Airgap.IntegrationTests.Nodes;

/// <summary>SshHost against a real OpenSSH server on 127.0.0.1, started by the test with its own keys.</summary>
public sealed class SshHostTests(BuildFixture fixture) : IClassFixture<BuildFixture>, IAsyncLifetime
{
    private SshServer server = null!;

    public async Task InitializeAsync() => server = await SshServer.StartAsync();

    public async Task DisposeAsync() => await server.DisposeAsync();

    private SshSettings Settings => new() { KeyFiles = [server.ClientKey], KnownHostsFile = server.KnownHosts };

    private Task<SshHost> ConnectAsync(SshSettings? settings = null) =>
        SshHost.ConnectAsync(SshTarget.Parse(server.Target), settings ?? Settings, default);

    [Fact]
    public async Task Runs_commands_with_exit_code_both_streams_environment_and_streamed_stdin()
    {
        using var host = await ConnectAsync();

        var failed = await host.RunAsync(new CommandSpec("sh", "-c", "echo out; echo err >&2; exit 3"), default);
        Assert.Equal(3, failed.ExitCode);
        Assert.Equal(["out"], failed.StdoutTail);
        Assert.Equal(["err"], failed.StderrTail);
        Assert.Contains("`sh -c 'echo out; echo err >&2; exit 3'` exited with code 3", failed.FailureMessage);

        var env = (await host.RunAsync(new CommandSpec("sh", "-c", "echo \"$AIRGAP_VALUE\"") { Env = new Dictionary<string, string> { ["AIRGAP_VALUE"] = "it's here" } }, default)).EnsureSuccess();
        Assert.Equal("it's here\n", env.Stdout);

        var counted = (await host.RunAsync(new CommandSpec("wc", "-c")
        {
            StdinFrom = async (stdin, ct) =>
            {
                var block = new byte[256 * 1024];
                for (var i = 0; i < 8; i++) await stdin.WriteAsync(block, ct);
            },
        }, default)).EnsureSuccess();
        Assert.Equal("2097152", counted.Stdout.Trim());

        var eof = (await host.RunAsync(new CommandSpec("cat") { Timeout = TimeSpan.FromSeconds(10) }, default)).EnsureSuccess();
        Assert.Equal("", eof.Stdout);

        var slow = await host.RunAsync(new CommandSpec("sleep", "30") { Timeout = TimeSpan.FromSeconds(1) }, default);
        Assert.True(slow.TimedOut);
    }

    [Fact]
    public async Task Moves_files_atomically_with_their_mode_and_reads_procfs()
    {
        using var host = await ConnectAsync();
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "deep", "config.toml");

        await host.WriteTextAsync(path, "version = 2\n", HostExtensions.Mode0600, default);

        // 127.0.0.1 is this machine: what the SSH host wrote is here.
        Assert.Equal("version = 2\n", await File.ReadAllTextAsync(path));
        Assert.Equal(HostExtensions.Mode0600, File.GetUnixFileMode(path));
        Assert.Equal(["config.toml"], await host.ListDirectoryAsync(Path.Combine(dir.Path, "deep"), default));
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname"), await host.ReadTextAsync("/proc/sys/kernel/hostname", default));
        Assert.Null(await host.ReadFileAsync(Path.Combine(dir.Path, "missing"), default));
        Assert.Null(await host.ReadFileAsync(dir.Path, default));
        Assert.Null(await host.ListDirectoryAsync(path, default));
        Assert.True(await host.DeleteFileAsync(path, default));
        Assert.False(await host.DeleteFileAsync(path, default));
        Assert.False(await host.FileExistsAsync(path, default));
    }

    [Fact]
    public async Task Host_keys_must_be_vouched_for_by_known_hosts_plain_or_hashed()
    {
        using var dir = new TempDir();
        var empty = Path.Combine(dir.Path, "empty");
        await File.WriteAllTextAsync(empty, "");
        var unknown = await Assert.ThrowsAsync<AirgapException>(() => ConnectAsync(Settings with { KnownHostsFile = empty }));
        Assert.Contains($"[127.0.0.1]:{server.Port} is not in {empty}", unknown.Message);
        Assert.Contains("ssh-keyscan -p", unknown.Message);

        var other = Path.Combine(dir.Path, "other");
        var keygen = await ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(dir.Path, "impostor")]);
        Assert.True(keygen.Succeeded, keygen.ToString());
        var impostor = File.ReadAllText(Path.Combine(dir.Path, "impostor.pub")).Split(' ');
        await File.WriteAllTextAsync(other, $"[127.0.0.1]:{server.Port} {impostor[0]} {impostor[1]}\n");
        var mismatch = await Assert.ThrowsAsync<AirgapException>(() => ConnectAsync(Settings with { KnownHostsFile = other }));
        Assert.Contains("does NOT match", mismatch.Message);

        var hashed = Path.Combine(dir.Path, "hashed");
        File.Copy(server.KnownHosts, hashed);
        var hash = await ProcessRunner.RunAsync("ssh-keygen", ["-H", "-f", hashed]);
        Assert.True(hash.Succeeded, hash.ToString());
        Assert.StartsWith("|1|", File.ReadAllText(hashed));
        using var host = await ConnectAsync(Settings with { KnownHostsFile = hashed });
        Assert.Equal(0, (await host.RunAsync(new CommandSpec("true"), default)).ExitCode);
    }

    [Fact]
    public async Task A_new_host_key_is_recorded_only_when_asked_and_printed_and_a_changed_one_never()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "known_hosts");
        var told = new List<string>();
        var accepting = Settings with { KnownHostsFile = file, AcceptNewHostKeys = true, HostKeyRecorded = told.Add };

        using (var host = await ConnectAsync(accepting))
            Assert.Equal(0, (await host.RunAsync(new CommandSpec("true"), default)).ExitCode);

        var line = Assert.Single(told);
        Assert.StartsWith($"{server.Target}: recorded its new host key ssh-ed25519 SHA256:", line);
        Assert.Contains($"in {file} (--accept-new-host-keys)", line);
        var hostKey = server.HostPublicKey.Split(' ');
        Assert.Equal($"[127.0.0.1]:{server.Port} {hostKey[0]} {hostKey[1]}\n", File.ReadAllText(file));
        // OpenSSH itself now trusts the line airgap wrote.
        var ssh = await ProcessRunner.RunAsync("ssh", ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", $"UserKnownHostsFile={file}",
            "-i", server.ClientKey, "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "root@127.0.0.1", "true"]);
        Assert.True(ssh.Succeeded, ssh.ToString());
        using (await ConnectAsync(Settings with { KnownHostsFile = file })) { }

        var impostor = Path.Combine(dir.Path, "impostor");
        Assert.True((await ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", impostor])).Succeeded);
        var changed = Path.Combine(dir.Path, "changed");
        var other = File.ReadAllText(impostor + ".pub").Split(' ');
        await File.WriteAllTextAsync(changed, $"[127.0.0.1]:{server.Port} {other[0]} {other[1]}\n");
        var refused = await Assert.ThrowsAsync<AirgapException>(() => ConnectAsync(accepting with { KnownHostsFile = changed }));
        Assert.Contains("does NOT match", refused.Message);
        Assert.Single(File.ReadAllLines(changed));
        Assert.Single(told);
    }

    [Fact]
    public async Task A_key_the_server_does_not_accept_and_a_closed_port_are_one_line_each()
    {
        using var dir = new TempDir();
        var stranger = Path.Combine(dir.Path, "stranger");
        Assert.True((await ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger])).Succeeded);
        var refused = await Assert.ThrowsAsync<AirgapException>(() => ConnectAsync(Settings with { KeyFiles = [stranger] }));
        Assert.Equal($"cannot log in to {server.Target} over SSH: the key {stranger} was refused for root", refused.Message);

        var port = Net.FreeLoopbackPort();
        var closed = await Assert.ThrowsAsync<AirgapException>(() => SshHost.ConnectAsync(SshTarget.Parse($"root@127.0.0.1:{port}"), Settings, default));
        Assert.Equal($"cannot log in to root@127.0.0.1:{port} over SSH: connection refused on port {port}", closed.Message);
    }

    [Fact]
    public async Task Preflight_sees_a_peer_that_is_a_clone_of_this_node()
    {
        // The peer at 127.0.0.1 is this very machine: the same host name, MACs and product_uuid, as a cloned VM would have.
        using var peer = await ConnectAsync();
        var local = await HostProbe.ProbeAsync(new LocalHost(), default);
        var remote = await HostProbe.ProbeAsync(peer, default);
        Assert.Equal(local.Hostname, remote.Hostname);
        Assert.Equal(local.Interfaces, remote.Interfaces);
        Assert.Equal(local.ProductUuid, remote.ProductUuid);
        Assert.Equal(local.TimeSync, remote.TimeSync);

        var report = Preflight.Run(local, new PreflightOptions { Peers = [new PeerFacts(server.Target, remote)] });
        var duplicate = Assert.Single(report.Errors, e => e.Name == "DuplicateHostname");
        Assert.Contains(server.Target, duplicate.Message);
    }

    [Fact]
    public async Task Install_dry_run_with_peers_probes_them_and_stops_on_a_clone()
    {
        var result = await fixture.Cli.RunAsync("install", "--bundle", fixture.BundlePath, "--single-node", "--cni", "bridge", "--dry-run",
            "--peers", server.Target, "--ssh-key", server.ClientKey, "--ssh-known-hosts", server.KnownHosts);

        Assert.Equal(1, result.ExitCode);
        var error = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains("[DuplicateHostname]", error);
        Assert.Contains(server.Target, error);
        Assert.Contains("[preflight]", result.Stdout);
        Assert.Contains($"probing 1 peer over SSH: {server.Target}", result.Stdout);

        var badTarget = await fixture.Cli.RunAsync("install", "--bundle", fixture.BundlePath, "--single-node", "--dry-run", "--peers", "root@node2:notaport");
        Assert.Equal("error: \"root@node2:notaport\" is not an SSH target; write it as [user@]host[:port], e.g. root@10.0.0.2 or admin@node2:2222", badTarget.Stderr.Trim());
    }
}
