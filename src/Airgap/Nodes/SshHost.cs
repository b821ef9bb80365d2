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
/// trusts a key on first sight, because the install hands the node cluster secrets.
/// </summary>
public sealed class SshHost : IHost, IDisposable
{
    private readonly SshClient ssh;
    private readonly SftpClient sftp;

    private SshHost(SshTarget target, SshClient ssh, SftpClient sftp)
    {
        Target = target;
        this.ssh = ssh;
        this.sftp = sftp;
    }

    public SshTarget Target { get; }

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
            e.CanTrust = verdict is null;
            refused ??= verdict is null ? null : $"{verdict} (its {e.HostKeyName} key is SHA256:{e.FingerPrintSHA256})";
        }
        ssh.HostKeyReceived += Check;
        sftp.HostKeyReceived += Check;
        try
        {
            await ssh.ConnectAsync(ct).ConfigureAwait(false);
            await sftp.ConnectAsync(ct).ConfigureAwait(false);
            return new SshHost(target, ssh, sftp);
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
    }

    public async Task<CommandResult> RunAsync(CommandSpec spec, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var feedsStdin = spec.Stdin is not null || spec.StdinFrom is not null;
        // Without input the command reads /dev/null, as LocalHost closes stdin: nothing waits on input that never comes.
        using var command = ssh.CreateCommand(feedsStdin ? spec.ShellLine : spec.ShellLine + " </dev/null", Encoding.UTF8);
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

    public Task<bool> FileExistsAsync(string path, CancellationToken ct) => sftp.ExistsAsync(path, ct);

    /// <summary>The size of a regular file, or null when there is none.</summary>
    public async Task<long?> FileSizeAsync(string path, CancellationToken ct)
    {
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
    /// Streams <paramref name="source"/> onto the end of <paramref name="path"/> over SFTP (created if
    /// missing), so an upload cut short continues from the bytes that arrived instead of from zero.
    /// </summary>
    public async Task AppendAsync(Stream source, string path, Action<long>? advanced, CancellationToken ct)
    {
        await this.RunCheckedAsync(new CommandSpec("mkdir", "-p", Path.GetDirectoryName(path) ?? "/"), ct).ConfigureAwait(false);
        try
        {
            await using var target = await sftp.OpenAsync(path, FileMode.Append, FileAccess.Write, ct).ConfigureAwait(false);
            var buffer = new byte[1 << 20];
            int read;
            while ((read = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                await target.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                advanced?.Invoke(read);
            }
            await target.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (SftpPermissionDeniedException e)
        {
            throw new AirgapException($"{Name}: cannot write {path}: permission denied; log in as root", e);
        }
    }

    public async Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken ct)
    {
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

    /// <summary>Null when the key is known for this host; otherwise why it is not trusted, naming what to do.</summary>
    public string? Check(string host, int port, string keyType, byte[] key)
    {
        var name = port == 22 ? host : $"[{host}]:{port}";
        var forHost = entries.Where(e => Matches(e.Pattern, name)).ToList();
        if (forHost.Any(e => e.Revoked && e.Key.AsSpan().SequenceEqual(key)))
            return $"the host key of {name} is marked @revoked in {file}";
        if (forHost.Any(e => !e.Revoked && e.KeyType == keyType && e.Key.AsSpan().SequenceEqual(key)))
            return null;
        if (forHost.Any(e => !e.Revoked && e.KeyType == keyType))
            return $"the host key of {name} does NOT match the one in {file}: someone may be impersonating it, or it was reinstalled; check, then fix that line";
        return $"{name} is not in {file}; check its host key and add it (ssh-keyscan{(port == 22 ? "" : $" -p {port}")} {host} >> {file}), or pass --ssh-known-hosts FILE";
    }

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
