using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Airgap.Nodes;

/// <summary>user@host[:port], as ssh takes it; the user defaults to root, the port to 22.</summary>
public sealed record SshTarget(string User, string Host, int Port)
{
    public static SshTarget Parse(string text)
    {
        var value = text.Trim();
        var at = value.LastIndexOf('@');
        if (at == 0) throw Bad(text);
        var user = at > 0 ? value[..at] : "root";
        var rest = at >= 0 ? value[(at + 1)..] : value;
        var port = 22;
        string host;
        if (rest.StartsWith('['))
        {
            // [::1]:2222 or [fe80::1]
            var close = rest.IndexOf(']');
            if (close < 0) throw Bad(text);
            host = rest[1..close];
            if (close + 1 < rest.Length && (rest[close + 1] != ':' || !TryPort(rest[(close + 2)..], out port))) throw Bad(text);
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            if (colon >= 0 && rest.IndexOf(':') == colon)
            {
                if (!TryPort(rest[(colon + 1)..], out port)) throw Bad(text);
                host = rest[..colon];
            }
            else host = rest;
        }
        if (host.Length == 0 || user.Length == 0 || host.Any(char.IsWhiteSpace)) throw Bad(text);
        return new SshTarget(user, host, port);
    }

    public override string ToString() => Port == 22 ? $"{User}@{Host}" : $"{User}@{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port}";

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and < 65536;

    private static AirgapException Bad(string text) =>
        new($"\"{text}\" is not an SSH target; write it as [user@]host[:port], e.g. root@10.0.0.2 or admin@node2:2222");
}

/// <summary>How airgap logs in to other nodes: private keys, and the known_hosts that vouches for their host keys.</summary>
public sealed record SshSettings
{
    /// <summary>Private key files; empty means the usual ~/.ssh/id_ed25519, id_ecdsa and id_rsa that exist.</summary>
    public IReadOnlyList<string> KeyFiles { get; init; } = [];

    /// <summary>known_hosts to check host keys against; null means ~/.ssh/known_hosts.</summary>
    public string? KnownHostsFile { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Password login, where the site uses it instead of keys; never printed (see <see cref="ToString"/>).</summary>
    public string? Password { get; init; }

    /// <summary>
    /// Run everything as root through passwordless sudo; null means: when the login user is not root.
    /// </summary>
    public bool? Sudo { get; init; }

    /// <summary>
    /// OpenSSH's StrictHostKeyChecking=accept-new: a host missing from known_hosts has its key recorded
    /// there (and announced through <see cref="HostKeyRecorded"/>); a key that differs is still refused.
    /// </summary>
    public bool AcceptNewHostKeys { get; init; }

    /// <summary>Told, in one line naming the key's fingerprint, of every host key recorded under <see cref="AcceptNewHostKeys"/>.</summary>
    public Action<string>? HostKeyRecorded { get; init; }

    public override string ToString() => $"keys {string.Join(", ", KeyFiles)}; known_hosts {KnownHosts}{(Password is null ? "" : "; password <redacted>")}";

    internal string KnownHosts => KnownHostsFile ?? Path.Combine(Home, ".ssh", "known_hosts");

    internal IReadOnlyList<string> Keys => KeyFiles.Count > 0
        ? KeyFiles
        : new[] { "id_ed25519", "id_ecdsa", "id_rsa" }.Select(k => Path.Combine(Home, ".ssh", k)).Where(File.Exists).ToList();

    private static string Home => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
}

/// <summary>
/// A node reached over SSH (SSH.NET): commands run through the login shell, files move over SFTP.
/// The host key must already be in known_hosts, as with ssh's StrictHostKeyChecking: airgap never
/// trusts a key on first sight unless told to (<see cref="SshSettings.AcceptNewHostKeys"/>), because
/// the install hands the node cluster secrets. A login user other than root works through
/// passwordless sudo: commands are wrapped in `sudo -n`, and files that root owns are read and
/// written by commands under sudo, since SFTP runs with the login user's rights.
/// </summary>
public sealed class SshHost : IHost, IDisposable
{
    private readonly SshClient ssh;
    private readonly SftpClient sftp;

    private SshHost(SshTarget target, SshClient ssh, SftpClient sftp, bool sudo)
    {
        Target = target;
        this.ssh = ssh;
        this.sftp = sftp;
        Sudo = sudo;
    }

    public SshTarget Target { get; }

    /// <summary>True when commands and file access go through sudo (a login user other than root).</summary>
    public bool Sudo { get; }

    public string Name => Target.ToString();

    public static async Task<SshHost> ConnectAsync(SshTarget target, SshSettings settings, CancellationToken ct)
    {
        var keyFiles = settings.Keys;
        if (keyFiles.Count == 0 && settings.Password is null)
            throw new AirgapException($"{target}: no SSH private key (~/.ssh/id_ed25519, id_ecdsa or id_rsa); pass --ssh-key FILE");
        var keys = new List<IPrivateKeySource>();
        foreach (var file in keyFiles)
        {
            try
            {
                keys.Add(new PrivateKeyFile(file));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or SshException or InvalidOperationException or ArgumentException)
            {
                throw new AirgapException($"--ssh-key {file} cannot be used ({e.Message.Split('\n')[0]}); give an unencrypted OpenSSH private key");
            }
        }
        var known = KnownHosts.Load(settings.KnownHosts);
        ConnectionInfo Info() => new(target.Host, target.Port, target.User, [
            .. keys.Count > 0 ? new AuthenticationMethod[] { new PrivateKeyAuthenticationMethod(target.User, [.. keys]) } : [],
            .. settings.Password is { } password ? new AuthenticationMethod[] { new PasswordAuthenticationMethod(target.User, password) } : []])
        {
            Timeout = settings.ConnectTimeout,
        };
        var ssh = new SshClient(Info());
        var sftp = new SftpClient(Info());
        string? refused = null;
        void Check(object? sender, HostKeyEventArgs e)
        {
            var verdict = known.Check(target.Host, target.Port, e.HostKeyName, e.HostKey);
            if (verdict is KnownHosts.Verdict.Unknown && settings.AcceptNewHostKeys)
            {
                known.Record(target.Host, target.Port, e.HostKeyName, e.HostKey);
                settings.HostKeyRecorded?.Invoke($"{target}: recorded its new host key {e.HostKeyName} SHA256:{e.FingerPrintSHA256} in {settings.KnownHosts} (--accept-new-host-keys); check that fingerprint against the node's console");
                verdict = KnownHosts.Verdict.Known;
            }
            e.CanTrust = verdict is KnownHosts.Verdict.Known;
            refused ??= e.CanTrust ? null : $"{known.Explain(verdict, target.Host, target.Port, e.HostKeyName)} (its {e.HostKeyName} key is SHA256:{e.FingerPrintSHA256})";
        }
        ssh.HostKeyReceived += Check;
        sftp.HostKeyReceived += Check;
        try
        {
            await ssh.ConnectAsync(ct).ConfigureAwait(false);
            await sftp.ConnectAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SshException or SocketException or ProxyException or IOException or TimeoutException)
        {
            ssh.Dispose();
            sftp.Dispose();
            var why = refused ?? e switch
            {
                SshAuthenticationException when keyFiles.Count == 0 => $"the password was refused for {target.User}",
                SshAuthenticationException => $"the key{(keyFiles.Count > 1 ? "s" : "")} {string.Join(", ", keyFiles)}{(settings.Password is null ? "" : " and the password")} {(keyFiles.Count > 1 || settings.Password is not null ? "were" : "was")} refused for {target.User}",
                SocketException s => s.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => $"connection refused on port {target.Port}",
                    SocketError.HostNotFound or SocketError.TryAgain => "no such host",
                    _ => s.Message,
                },
                SshOperationTimeoutException or TimeoutException => $"no answer within {settings.ConnectTimeout.TotalSeconds:0} s",
                _ => e.Message.Split('\n')[0],
            };
            throw new AirgapException($"cannot log in to {target} over SSH: {why}", e);
        }
        catch
        {
            ssh.Dispose();
            sftp.Dispose();
            throw;
        }
        var host = new SshHost(target, ssh, sftp, settings.Sudo ?? target.User != "root");
        try
        {
            await host.CheckSudoAsync(ct).ConfigureAwait(false);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Fails early, in one line with the fix, when the login user cannot become root without a password.</summary>
    private async Task CheckSudoAsync(CancellationToken ct)
    {
        if (!Sudo) return;
        var r = await RunAsync(new CommandSpec("id", "-u") { Timeout = TimeSpan.FromSeconds(30) }, ct).ConfigureAwait(false);
        if (r.ExitCode == 0 && r.Stdout.Trim() == "0") return;
        var said = r.StderrTail.LastOrDefault(l => l.Length > 0) ?? r.Stdout.Trim();
        var why = said.Contains("not found", StringComparison.Ordinal) ? "sudo is not installed there"
            : said.Length > 0 ? $"sudo -n said \"{said}\"" : $"sudo -n id -u exited with code {r.ExitCode}";
        throw new AirgapException($"cannot run as root on {Target}: {why}; allow {Target.User} passwordless sudo " +
                                  $"(\"{Target.User} ALL=(ALL) NOPASSWD: ALL\" in /etc/sudoers.d/airgap) or log in as root");
    }

    public async Task<CommandResult> RunAsync(CommandSpec spec, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var feedsStdin = spec.Stdin is not null || spec.StdinFrom is not null;
        var line = CommandLine(spec);
        // Without input the command reads /dev/null, as LocalHost closes stdin: nothing waits on input that never comes.
        using var command = ssh.CreateCommand(feedsStdin ? line : line + " </dev/null", Encoding.UTF8);
        using var timeout = spec.Timeout is { } limit ? new CancellationTokenSource(limit) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        var output = new OutputCollector(spec);
        var execution = command.ExecuteAsync(linked.Token);
        var pumps = Task.WhenAll(
            output.PumpAsync(new StreamReader(command.OutputStream, Encoding.UTF8), OutputStream.Stdout),
            output.PumpAsync(new StreamReader(command.ExtendedOutputStream, Encoding.UTF8), OutputStream.Stderr));
        Exception? fed = null;
        if (feedsStdin)
        {
            try
            {
                await using var input = command.CreateInputStream();
                if (spec.Stdin is not null) await input.WriteAsync(spec.Stdin, linked.Token).ConfigureAwait(false);
                if (spec.StdinFrom is not null) await spec.StdinFrom(input, linked.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SshException or IOException)
            {
                // The command ended without reading all its input; its exit status tells the story.
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                fed = e;
            }
        }
        var timedOut = false;
        try
        {
            await execution.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            ct.ThrowIfCancellationRequested();
            timedOut = true;
        }
        await Task.WhenAny(pumps, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false);
        if (fed is not null) throw fed;
        var exit = command.ExitStatus ?? (command.ExitSignal is null ? 255 : 128);
        return output.Result(Name, spec.DisplayLine, exit, Stopwatch.GetElapsedTime(start)) with { TimedOut = timedOut };
    }

    public async Task<byte[]?> ReadFileAsync(string path, CancellationToken ct)
    {
        if (Sudo)
        {
            var (exit, bytes, error) = await RunForBytesAsync(
                Script("[ -d \"$1\" ] && exit 3; [ -e \"$1\" ] || exit 4; exec cat -- \"$1\"", path), ct).ConfigureAwait(false);
            return exit switch
            {
                0 => bytes,
                3 or 4 => null,
                _ => throw new AirgapException($"{Name}: cannot read {path} under sudo: {error}"),
            };
        }
        try
        {
            var attributes = await sftp.GetAttributesAsync(path, ct).ConfigureAwait(false);
            if (attributes.IsDirectory) return null;
            // Read to the end rather than to the stated size: /proc files say they are empty.
            await using var stream = await sftp.OpenAsync(path, FileMode.Open, FileAccess.Read, ct).ConfigureAwait(false);
            using var memory = new MemoryStream();
            await stream.CopyToAsync(memory, ct).ConfigureAwait(false);
            return memory.ToArray();
        }
        catch (SftpPathNotFoundException)
        {
            return null;
        }
        catch (SftpPermissionDeniedException e)
        {
            throw new AirgapException($"{Name}: cannot read {path}: permission denied; log in as root", e);
        }
    }

    public async Task WriteFileAsync(string path, byte[] content, UnixFileMode mode, CancellationToken ct)
    {
        var directory = Path.GetDirectoryName(path) ?? "/";
        if (Sudo)
        {
            // The bytes go through sudo's stdin into a private temporary file beside the target, then one rename,
            // so root owns the file and readers see old or new, as with SFTP below.
            await this.RunCheckedAsync(Script(
                "set -e; mkdir -p \"$1\"; t=\"$2.airgap-$$\"; trap 'rm -f \"$t\"' EXIT; (umask 077; cat >\"$t\"); chmod \"$3\" \"$t\"; mv -f \"$t\" \"$2\"; trap - EXIT",
                directory, path, HostExtensions.FormatMode(mode)) with { Stdin = content }, ct).ConfigureAwait(false);
            return;
        }
        await this.RunCheckedAsync(new CommandSpec("mkdir", "-p", directory), ct).ConfigureAwait(false);
        var temporary = $"{path}.airgap-{Guid.NewGuid():N}";
        try
        {
            using (var source = new MemoryStream(content, writable: false))
                await sftp.UploadFileAsync(source, temporary, ct).ConfigureAwait(false);
            var attributes = await sftp.GetAttributesAsync(temporary, ct).ConfigureAwait(false);
            // SSH.NET takes the mode as its octal digits read as a decimal number (0600 → 600).
            attributes.SetPermissions(short.Parse(Convert.ToString((int)mode, 8), CultureInfo.InvariantCulture));
            await Task.Run(() => sftp.SetAttributes(temporary, attributes), ct).ConfigureAwait(false);
            // posix-rename replaces the target in one step, as rename(2) does locally.
            await Task.Run(() => sftp.RenameFile(temporary, path, isPosix: true), ct).ConfigureAwait(false);
        }
        catch (SftpPermissionDeniedException e)
        {
            throw new AirgapException($"{Name}: cannot write {path}: permission denied; log in as root", e);
        }
        finally
        {
            if (await sftp.ExistsAsync(temporary, CancellationToken.None).ConfigureAwait(false))
                await sftp.DeleteFileAsync(temporary, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public async Task<bool> FileExistsAsync(string path, CancellationToken ct) => Sudo
        ? (await RunAsync(new CommandSpec("test", "-e", path), ct).ConfigureAwait(false)).ExitCode == 0
        : await sftp.ExistsAsync(path, ct).ConfigureAwait(false);

    /// <summary>The size of a regular file, or null when there is none.</summary>
    public async Task<long?> FileSizeAsync(string path, CancellationToken ct)
    {
        if (Sudo)
        {
            var r = await RunAsync(Script("[ -f \"$1\" ] && exec stat -c %s -- \"$1\"", path), ct).ConfigureAwait(false);
            return r.ExitCode == 0 && long.TryParse(r.Stdout.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null;
        }
        try
        {
            var attributes = await sftp.GetAttributesAsync(path, ct).ConfigureAwait(false);
            return attributes.IsRegularFile ? attributes.Size : null;
        }
        catch (SftpPathNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Streams <paramref name="source"/> onto the end of <paramref name="path"/> (created if missing), so an
    /// upload cut short continues from the bytes that arrived instead of from zero.
    /// </summary>
    public async Task AppendAsync(Stream source, string path, Action<long>? advanced, CancellationToken ct)
    {
        await this.RunCheckedAsync(new CommandSpec("mkdir", "-p", Path.GetDirectoryName(path) ?? "/"), ct).ConfigureAwait(false);
        if (Sudo)
        {
            // SFTP writes with the login user's rights, so under sudo the bytes stream through a root shell's stdin instead.
            await this.RunCheckedAsync(Script("exec cat >>\"$1\"", path) with
            {
                StdinFrom = (stdin, c) => CopyAsync(source, stdin, advanced, c),
            }, ct).ConfigureAwait(false);
            return;
        }
        try
        {
            await using var target = await sftp.OpenAsync(path, FileMode.Append, FileAccess.Write, ct).ConfigureAwait(false);
            await CopyAsync(source, target, advanced, ct).ConfigureAwait(false);
            await target.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (SftpPermissionDeniedException e)
        {
            throw new AirgapException($"{Name}: cannot write {path}: permission denied; log in as root", e);
        }
    }

    public async Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken ct)
    {
        if (Sudo)
        {
            var r = await RunAsync(Script("[ -d \"$1\" ] || exit 4; exec find \"$1\" -mindepth 1 -maxdepth 1 -printf '%f\\n'", path), ct).ConfigureAwait(false);
            if (r.ExitCode == 4) return null;
            r.EnsureSuccess();
            return [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
        }
        try
        {
            if (!(await sftp.GetAttributesAsync(path, ct).ConfigureAwait(false)).IsDirectory) return null;
            var names = new List<string>();
            await foreach (var entry in sftp.ListDirectoryAsync(path, ct).ConfigureAwait(false))
                if (entry.Name is not ("." or "..")) names.Add(entry.Name);
            names.Sort(StringComparer.Ordinal);
            return names;
        }
        catch (SftpPathNotFoundException)
        {
            return null;
        }
    }

    public async Task<bool> DeleteFileAsync(string path, CancellationToken ct)
    {
        if (Sudo)
        {
            var r = await RunAsync(Script("[ -e \"$1\" ] || [ -L \"$1\" ] || exit 4; exec rm -f -- \"$1\"", path), ct).ConfigureAwait(false);
            if (r.ExitCode == 4) return false;
            r.EnsureSuccess();
            return true;
        }
        try
        {
            await sftp.DeleteFileAsync(path, ct).ConfigureAwait(false);
            return true;
        }
        catch (SftpPathNotFoundException)
        {
            return false;
        }
    }

    private static async Task CopyAsync(Stream source, Stream target, Action<long>? advanced, CancellationToken ct)
    {
        var buffer = new byte[1 << 20];
        int read;
        while ((read = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            await target.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
            advanced?.Invoke(read);
        }
    }

    /// <summary>
    /// What the login shell is given. Under sudo the whole line (environment assignments too) runs in a
    /// root shell; sudo's secure_path also brings /usr/sbin, which a non-root login's PATH often lacks.
    /// </summary>
    private string CommandLine(CommandSpec spec) => Sudo ? $"sudo -n -- sh -c {CommandSpec.ShellQuote(spec.ShellLine)}" : spec.ShellLine;

    /// <summary>A short sh script with its arguments as $1, $2…: paths reach it unparsed, whatever they hold.</summary>
    private static CommandSpec Script(string script, params string[] args) => new("sh", ["-c", script, "sh", .. args]);

    /// <summary>Runs a command (under sudo when that is the mode) and keeps its stdout as bytes: files are not always text.</summary>
    private async Task<(int Exit, byte[] Stdout, string Stderr)> RunForBytesAsync(CommandSpec spec, CancellationToken ct)
    {
        using var command = ssh.CreateCommand(CommandLine(spec) + " </dev/null", Encoding.UTF8);
        using var stdout = new MemoryStream();
        var execution = command.ExecuteAsync(ct);
        var copy = command.OutputStream.CopyToAsync(stdout, ct);
        await execution.ConfigureAwait(false);
        await copy.ConfigureAwait(false);
        return (command.ExitStatus ?? 255, stdout.ToArray(), command.Error.Trim().Split('\n')[^1]);
    }

    public void Dispose()
    {
        ssh.Dispose();
        sftp.Dispose();
    }
}

/// <summary>
/// OpenSSH's known_hosts: plain and hashed (|1|salt|hash) host patterns, [host]:port for other ports,
/// @revoked keys refused. Wildcard patterns and @cert-authority lines are not used for trust.
/// </summary>
public sealed class KnownHosts
{
    private readonly List<(string Pattern, string KeyType, byte[] Key, bool Revoked)> entries = [];
    private readonly string file;

    private KnownHosts(string file) => this.file = file;

    public static KnownHosts Load(string file)
    {
        var known = new KnownHosts(file);
        if (!File.Exists(file)) return known;
        foreach (var raw in File.ReadAllLines(file))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var revoked = false;
            if (fields[0].StartsWith('@'))
            {
                if (fields[0] != "@revoked") continue;
                revoked = true;
                fields = fields[1..];
            }
            if (fields.Length < 3) continue;
            byte[] key;
            try
            {
                key = Convert.FromBase64String(fields[2]);
            }
            catch (FormatException)
            {
                continue;
            }
            foreach (var pattern in fields[0].Split(','))
                known.entries.Add((pattern, fields[1], key, revoked));
        }
        return known;
    }

    public enum Verdict { Known, Unknown, Mismatch, OtherType, Revoked }

    /// <summary>Whether known_hosts vouches for this key of this host.</summary>
    public Verdict Check(string host, int port, string keyType, byte[] key)
    {
        var name = NameOf(host, port);
        lock (entries)
        {
            var forHost = entries.Where(e => Matches(e.Pattern, name)).ToList();
            if (forHost.Any(e => e.Revoked && e.Key.AsSpan().SequenceEqual(key))) return Verdict.Revoked;
            if (forHost.Any(e => !e.Revoked && e.KeyType == keyType && e.Key.AsSpan().SequenceEqual(key))) return Verdict.Known;
            if (forHost.Any(e => !e.Revoked && e.KeyType == keyType)) return Verdict.Mismatch;
            // Known only by keys of other types: not new, so never recorded on first sight, but no proof of an impostor either.
            return forHost.Any(e => !e.Revoked) ? Verdict.OtherType : Verdict.Unknown;
        }
    }

    /// <summary>Why a key is not trusted, naming what to do.</summary>
    public string Explain(Verdict verdict, string host, int port, string keyType)
    {
        var name = NameOf(host, port);
        return verdict switch
        {
            Verdict.Revoked => $"the host key of {name} is marked @revoked in {file}",
            Verdict.Mismatch => $"the host key of {name} does NOT match the one in {file}: someone may be impersonating it, or it was reinstalled; check, then fix that line",
            Verdict.OtherType => $"{name} is in {file} only with keys of other types than the {keyType} key it offers; check it and add that key (ssh-keyscan -t {keyType}{(port == 22 ? "" : $" -p {port}")} {host} >> {file})",
            Verdict.Unknown => $"{name} is not in {file}; check its host key and add it (ssh-keyscan{(port == 22 ? "" : $" -p {port}")} {host} >> {file}), " +
                               "or pass --accept-new-host-keys to record it, or --ssh-known-hosts FILE",
            _ => $"{name} is known",
        };
    }

    /// <summary>Appends the key for this host to the file (and to what this instance knows), as ssh's accept-new does.</summary>
    public void Record(string host, int port, string keyType, byte[] key)
    {
        var line = $"{NameOf(host, port)} {keyType} {Convert.ToBase64String(key)}\n";
        lock (entries)
        {
            // Nodes connect in parallel, each with its own KnownHosts: appends from one process go one at a time.
            lock (FileWrites)
            {
                var directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
                if (!Directory.Exists(directory)) Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                var needsNewline = File.Exists(file) && new FileInfo(file).Length > 0 && !File.ReadAllText(file).EndsWith('\n');
                File.AppendAllText(file, (needsNewline ? "\n" : "") + line);
            }
            entries.Add((NameOf(host, port), keyType, key, false));
        }
    }

    private static readonly object FileWrites = new();

    private static string NameOf(string host, int port) => port == 22 ? host : $"[{host}]:{port}";

    private static bool Matches(string pattern, string name)
    {
        if (!pattern.StartsWith("|1|", StringComparison.Ordinal)) return string.Equals(pattern, name, StringComparison.OrdinalIgnoreCase);
        var parts = pattern.Split('|');
        if (parts.Length != 4) return false;
        try
        {
            using var hmac = new HMACSHA1(Convert.FromBase64String(parts[2]));
            return Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(name))) == parts[3];
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
