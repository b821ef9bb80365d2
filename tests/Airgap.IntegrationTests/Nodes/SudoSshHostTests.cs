using System.Security.Cryptography;
using Airgap.Clusters;
using Airgap.IntegrationTests.Clusters;
using Airgap.Nodes;
using Airgap.TestKit;
using Airgap.TestKit.Infrastructure;

namespace Airgap.IntegrationTests.Nodes;

/// <summary>
/// A login user other than root, as many sites allow only that: a throwaway user on this machine's
/// real sshd and sudo, created by the test and removed after it.
/// </summary>
public sealed class SudoSshHostTests : IAsyncLifetime
{
    private const string Password = "correct horse battery staple";
    private SshServer server = null!;
    private readonly TempDir dir = new();

    public async Task InitializeAsync() =>
        server = await SshServer.StartAsync(new SshLoginOptions { NonRootUser = true, Sudoer = true, Password = Password });

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        dir.Dispose();
    }

    private Task<SshHost> ConnectAsync(SshSettings? settings = null) =>
        SshHost.ConnectAsync(SshTarget.Parse(server.UserTarget), settings ?? new SshSettings { KeyFiles = [server.ClientKey], KnownHostsFile = server.KnownHosts }, default);

    [Fact]
    public async Task Commands_and_files_act_as_root_through_sudo()
    {
        using var host = await ConnectAsync();
        Assert.True(host.Sudo);

        Assert.Equal("0", (await host.RunCheckedAsync(new CommandSpec("id", "-u"), default)).Stdout.Trim());
        var env = await host.RunCheckedAsync(new CommandSpec("sh", "-c", "echo \"$AIRGAP_VALUE\"") { Env = new Dictionary<string, string> { ["AIRGAP_VALUE"] = "it's here" } }, default);
        Assert.Equal("it's here\n", env.Stdout);
        var counted = await host.RunCheckedAsync(new CommandSpec("wc", "-c") { StdinFrom = async (stdin, ct) => await stdin.WriteAsync(new byte[1 << 20], ct) }, default);
        Assert.Equal("1048576", counted.Stdout.Trim());

        // The test's temp dir is root's and 0700: the login user alone could not even look inside.
        var root = dir.Sub("root-only");
        File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Path.Combine(root, "deep", "it's a file");
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        await host.WriteFileAsync(path, bytes, HostExtensions.Mode0600, default);

        Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
        Assert.Equal(HostExtensions.Mode0600, File.GetUnixFileMode(path));
        Assert.Equal("0", (await ProcessRunner.RunCheckedAsync("stat", ["-c", "%u", path])).Trim());
        Assert.Equal(bytes, await host.ReadFileAsync(path, default));
        Assert.Equal(256, await host.FileSizeAsync(path, default));
        Assert.True(await host.FileExistsAsync(path, default));
        Assert.Equal(["it's a file"], await host.ListDirectoryAsync(Path.Combine(root, "deep"), default));
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname"), await host.ReadTextAsync("/proc/sys/kernel/hostname", default));
        Assert.Null(await host.ReadFileAsync(Path.Combine(root, "missing"), default));
        Assert.Null(await host.ReadFileAsync(root, default));
        Assert.Null(await host.FileSizeAsync(root, default));
        Assert.Null(await host.ListDirectoryAsync(path, default));
        Assert.True(await host.DeleteFileAsync(path, default));
        Assert.False(await host.DeleteFileAsync(path, default));
        Assert.False(await host.FileExistsAsync(path, default));
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "deep")));
    }

    [Fact]
    public async Task A_node_upload_into_a_directory_of_root_ends_owned_by_root()
    {
        using var host = await ConnectAsync();
        var bytes = RandomNumberGenerator.GetBytes(2 * 1024 * 1024 + 5);
        var local = Path.Combine(dir.Sub("local"), "bundle.tar");
        await File.WriteAllBytesAsync(local, bytes);
        var root = dir.Sub("dist");
        File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var item = await UploadItem.FromFileAsync("bundle", local, Path.Combine(root, "bundle.tar"), default);

        Assert.True(await new NodeUpload(host, new RecordingProgress(), "node1").EnsureAsync(item, default));

        Assert.Equal(bytes, await File.ReadAllBytesAsync(item.RemotePath));
        Assert.Equal("0:0", (await ProcessRunner.RunCheckedAsync("stat", ["-c", "%u:%g", item.RemotePath])).Trim());
        Assert.False(File.Exists(item.RemotePath + ".partial"));
    }

    [Fact]
    public async Task A_password_logs_in_and_a_wrong_one_is_one_line()
    {
        using var empty = new TempDir();
        // A key the server does not know, so the password is what lets the user in, whatever ~/.ssh holds.
        var stranger = Path.Combine(empty.Path, "stranger");
        Assert.True((await ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger])).Succeeded);
        var settings = new SshSettings { KeyFiles = [stranger], KnownHostsFile = server.KnownHosts, Password = Password };
        using (var host = await ConnectAsync(settings))
            Assert.Equal("0", (await host.RunCheckedAsync(new CommandSpec("id", "-u"), default)).Stdout.Trim());

        var refused = await Assert.ThrowsAsync<AirgapException>(() => ConnectAsync(settings with { Password = "wrong" }));
        Assert.Equal($"cannot log in to {server.UserTarget} over SSH: the key {stranger} and the password were refused for {server.User}", refused.Message);
        Assert.DoesNotContain("wrong", refused.Message);
        Assert.DoesNotContain("wrong", settings.ToString());
    }
}

/// <summary>A non-root user without sudo rights: refused at login with the fix, or used as itself when asked.</summary>
public sealed class NoSudoSshHostTests : IAsyncLifetime
{
    private SshServer server = null!;

    public async Task InitializeAsync() => server = await SshServer.StartAsync(new SshLoginOptions { NonRootUser = true });

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task A_user_who_cannot_sudo_is_refused_in_one_line_naming_the_sudoers_fix()
    {
        var settings = new SshSettings { KeyFiles = [server.ClientKey], KnownHostsFile = server.KnownHosts };
        var refused = await Assert.ThrowsAsync<AirgapException>(() => SshHost.ConnectAsync(SshTarget.Parse(server.UserTarget), settings, default));
        Assert.StartsWith($"cannot run as root on {server.UserTarget}: sudo -n said \"sudo: a password is required\"", refused.Message);
        Assert.EndsWith($"allow {server.User} passwordless sudo (\"{server.User} ALL=(ALL) NOPASSWD: ALL\" in /etc/sudoers.d/airgap) or log in as root", refused.Message);

        using var plain = await SshHost.ConnectAsync(SshTarget.Parse(server.UserTarget), settings with { Sudo = false }, default);
        Assert.False(plain.Sudo);
        Assert.NotEqual("0", (await plain.RunCheckedAsync(new CommandSpec("id", "-u"), default)).Stdout.Trim());
    }
}
