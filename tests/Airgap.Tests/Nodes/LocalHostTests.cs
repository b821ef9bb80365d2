using System.Text;
using Airgap.Nodes;

namespace Airgap.Tests.Nodes;

/// <summary>Runs harmless commands (sh, cat, sleep) and touches only a temporary directory.</summary>
public sealed class LocalHostTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("airgap-localhost-").FullName;
    private readonly LocalHost host = new("testnode");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task Captures_exit_code_both_streams_and_a_one_line_failure()
    {
        var result = await host.RunAsync(new CommandSpec("sh", "-c", "echo out; echo first >&2; echo 'last words' >&2; exit 3"), default);

        Assert.Equal(3, result.ExitCode);
        Assert.False(result.Succeeded);
        Assert.Equal(["out"], result.StdoutTail);
        Assert.Equal(["first", "last words"], result.StderrTail);
        Assert.Equal("out\n", result.Stdout);
        Assert.Equal("sh -c 'echo out; echo first >&2; echo '\\''last words'\\'' >&2; exit 3'", result.CommandLine);

        var error = Assert.Throws<CommandFailedException>(() => result.EnsureSuccess());
        Assert.StartsWith("testnode: `sh -c ", error.Message);
        Assert.Contains("` exited with code 3 after ", error.Message);
        Assert.EndsWith(": last words", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Same(result, error.Result);
    }

    [Fact]
    public async Task A_write_killed_before_its_rename_leaves_litter_the_next_write_of_that_file_removes()
    {
        var target = Path.Combine(dir, "config.toml");
        var stale = Path.Combine(dir, $".config.toml.{Guid.NewGuid():N}.airgap-tmp");
        var other = Path.Combine(dir, $".other.toml.{Guid.NewGuid():N}.airgap-tmp");
        await File.WriteAllTextAsync(stale, "half of a config");
        await File.WriteAllTextAsync(other, "another file's");

        await host.WriteTextAsync(target, "version = 2\n", HostExtensions.Mode0644, default);

        Assert.Equal("version = 2\n", await File.ReadAllTextAsync(target));
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(other), "only leftovers of the file written are its to remove");
    }

    [Fact]
    public async Task Feeds_stdin_and_passes_environment()
    {
        var spec = new CommandSpec("sh", "-c", "cat; echo \"$AIRGAP_TEST_VALUE\"")
        {
            Stdin = Encoding.UTF8.GetBytes("from stdin\n"),
            Env = new Dictionary<string, string> { ["AIRGAP_TEST_VALUE"] = "from env" },
        };

        var result = (await host.RunAsync(spec, default)).EnsureSuccess();

        Assert.Equal("from stdin\nfrom env\n", result.Stdout);
        Assert.StartsWith("AIRGAP_TEST_VALUE='from env' sh -c", result.CommandLine);
    }

    [Fact]
    public async Task Streams_stdin_from_a_writer_larger_than_any_pipe_buffer()
    {
        var spec = new CommandSpec("wc", "-c")
        {
            StdinFrom = async (stdin, ct) =>
            {
                var block = new byte[64 * 1024];
                for (var i = 0; i < 64; i++) await stdin.WriteAsync(block, ct);
            },
        };

        var result = (await host.RunAsync(spec, default)).EnsureSuccess();

        Assert.Equal((64 * 64 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture), result.Stdout.Trim());
    }

    [Fact]
    public async Task A_failing_stdin_writer_is_the_commands_failure()
    {
        var spec = new CommandSpec("cat")
        {
            StdinFrom = async (stdin, ct) =>
            {
                await stdin.WriteAsync("half of it"u8.ToArray(), ct);
                throw new AirgapException("bundle.tar is truncated inside images/blobs/sha256/abc; copy the bundle again");
            },
        };

        var e = await Assert.ThrowsAsync<AirgapException>(() => host.RunAsync(spec, default));

        Assert.Contains("is truncated", e.Message);
    }

    [Fact]
    public async Task Without_stdin_a_command_that_reads_it_gets_end_of_file_at_once()
    {
        var result = await host.RunAsync(new CommandSpec("cat") { Timeout = TimeSpan.FromSeconds(10) }, default);
        Assert.True(result.Succeeded);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task Streams_lines_as_they_come_and_keeps_only_the_tail()
    {
        var lines = new List<OutputLine>();
        var spec = new CommandSpec("sh", "-c", "i=1; while [ $i -le 100 ]; do echo line$i; i=$((i+1)); done; echo oops >&2")
        {
            // stdout and stderr are read side by side, so lines arrive from two readers and in no fixed order between them.
            OnOutput = line => { lock (lines) lines.Add(line); },
        };

        var result = await host.RunAsync(spec, default);

        Assert.Equal(101, lines.Count);
        Assert.Equal(new OutputLine(OutputStream.Stdout, "line1"), lines.First(l => l.Stream == OutputStream.Stdout));
        Assert.Contains(new OutputLine(OutputStream.Stderr, "oops"), lines);
        Assert.Equal(CommandResult.TailLines, result.StdoutTail.Count);
        Assert.Equal("line61", result.StdoutTail[0]);
        Assert.Equal("line100", result.StdoutTail[^1]);
    }

    [Fact]
    public async Task Streams_to_a_progress_sink()
    {
        var sink = new LinesSink();
        await host.RunAsync(new CommandSpec("sh", "-c", "echo one; echo two >&2").StreamTo(sink), default);
        Assert.Equal(["one", "two"], sink.Lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_daemon_left_holding_the_output_does_not_hang_the_command()
    {
        // As when a command starts a service that inherits its stdout: the command's own exit decides.
        var result = await host.RunAsync(new CommandSpec("sh", "-c", "(sleep 4) & echo started"), default);
        Assert.True(result.Succeeded);
        Assert.Equal(["started"], result.StdoutTail);
        Assert.True(result.Duration < TimeSpan.FromSeconds(3.5), result.Duration.ToString());
    }

    [Fact]
    public async Task A_timeout_kills_the_command_and_says_so()
    {
        var result = await host.RunAsync(new CommandSpec("sleep", "30") { Timeout = TimeSpan.FromMilliseconds(300) }, default);

        Assert.True(result.TimedOut);
        Assert.False(result.Succeeded);
        Assert.True(result.Duration < TimeSpan.FromSeconds(10));
        Assert.Contains("`sleep 30` timed out after", result.FailureMessage);
    }

    [Fact]
    public async Task Cancellation_kills_the_command_and_throws()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.RunAsync(new CommandSpec("sleep", "30"), cancel.Token));
    }

    [Fact]
    public async Task A_missing_program_is_exit_code_127_like_a_shell()
    {
        var result = await host.RunAsync(new CommandSpec("/nonexistent/airgap-no-such-tool", "x"), default);
        Assert.Equal(127, result.ExitCode);
        Assert.Contains("airgap-no-such-tool", result.FailureMessage);
    }

    [Fact]
    public async Task Sensitive_commands_are_redacted_in_command_line_stream_and_tails()
    {
        const string token = "abcdef.0123456789abcdef";
        const string key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        var streamed = new List<string>();
        // The key is printed alone on a line (as upload-certs does) without appearing whole in the command line.
        var spec = new CommandSpec("sh", "-c", $"echo kubeadm join x --token {token} --certificate-key {key}; printf '%s%s\\n' {key[..32]} {key[32..]}; echo secret-password >&2; exit 1", "secret-password")
        {
            Sensitive = true,
            Secrets = ["secret-password"],
            OnOutput = l => streamed.Add(l.Text),
        };

        var result = await host.RunAsync(spec, default);
        var everything = string.Join("\n", [result.CommandLine, result.Stdout, .. result.StdoutTail, .. result.StderrTail, .. streamed, result.FailureMessage]);

        Assert.DoesNotContain(token, everything);
        Assert.DoesNotContain(key, everything);
        Assert.DoesNotContain("secret-password", everything);
        Assert.Contains("--token <redacted> --certificate-key <redacted>", result.Stdout);
    }

    [Fact]
    public async Task Writes_atomically_with_the_mode_creating_directories_and_reads_back()
    {
        var path = Path.Combine(dir, "etc", "containerd", "config.toml");

        await host.WriteTextAsync(path, "version = 2\n", HostExtensions.Mode0600, default);
        await host.WriteTextAsync(path, "version = 3\n", HostExtensions.Mode0600, default);

        Assert.Equal("version = 3\n", await host.ReadTextAsync(path, default));
        Assert.Equal(HostExtensions.Mode0600, File.GetUnixFileMode(path));
        Assert.Equal(["config.toml"], await host.ListDirectoryAsync(Path.GetDirectoryName(path)!, default));
        Assert.True(await host.FileExistsAsync(path, default));
        Assert.True(await host.FileExistsAsync(dir, default));
    }

    [Fact]
    public async Task Missing_files_and_directories_read_as_null()
    {
        Assert.Null(await host.ReadFileAsync(Path.Combine(dir, "nope"), default));
        Assert.Null(await host.ReadFileAsync(Path.Combine(dir, "no", "such", "dir"), default));
        Assert.Null(await host.ReadFileAsync(dir, default));
        Assert.Null(await host.ListDirectoryAsync(Path.Combine(dir, "nope"), default));
        Assert.False(await host.FileExistsAsync(Path.Combine(dir, "nope"), default));
        Assert.False(await host.DeleteFileAsync(Path.Combine(dir, "nope"), default));
    }

    private sealed class LinesSink : IProgressSink
    {
        public System.Collections.Concurrent.ConcurrentBag<string> Lines { get; } = [];
        public void Info(string line) => Lines.Add(line);
        public void Warn(string line) => Lines.Add(line);
        public void TransferStarted(string id, string label, long size) { }
        public void TransferAdvanced(string id, long bytes) { }
        public void TransferFinished(string id, bool fromCache) { }
    }

    [Fact]
    public async Task Reads_procfs_files_whose_size_is_reported_as_zero()
    {
        var status = await host.ReadTextAsync("/proc/self/status", default);
        Assert.Contains("CapBnd:", status);
    }
}
