using System.Diagnostics;

namespace Airgap.IntegrationTests.Packages.Apt;

/// <summary>
/// A minimal Debian of the host's release, made by debootstrap --variant=minbase from the host's mirror
/// and kept as a tarball under /var/cache/airgap-tests so later runs start from it in seconds. Each
/// test extracts its own copy: apt's answer for a request on a bare system is the reference the
/// resolver is compared with, and the bundle's repository is installed into it with the network cut.
/// </summary>
public sealed class DebootstrapChroot : IAsyncLifetime
{
    public const string CacheDirectory = "/var/cache/airgap-tests";

    // A point release changes the base system; a month-old chroot is rebuilt so apt's answer stays comparable.
    private static readonly TimeSpan MaxAge = TimeSpan.FromDays(30);

    internal HostDebianMirror Mirror { get; } = HostDebianMirror.Find();

    public string Architecture { get; private set; } = "";

    public string Tarball => Path.Combine(CacheDirectory, $"debootstrap-{Mirror.Codename}-minbase-{Architecture}.tar");

    /// <summary>How long making (or finding) the tarball took; reported by the tests.</summary>
    public TimeSpan PrepareTime { get; private set; }

    public bool Rebuilt { get; private set; }

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        var ct = cts.Token;
        var watch = Stopwatch.StartNew();
        await AptTestTools.EnsureInstalledAsync(ct, ("debootstrap", "/usr/sbin/debootstrap"), ("util-linux", "/usr/bin/unshare"));
        Architecture = (await AptTestTools.RunAsync(["dpkg", "--print-architecture"], ct)).Trim();
        var info = new FileInfo(Tarball);
        if (!info.Exists || DateTime.UtcNow - info.LastWriteTimeUtc > MaxAge)
        {
            Directory.CreateDirectory(CacheDirectory);
            var root = Path.Combine(CacheDirectory, $"build-{Environment.ProcessId}");
            try
            {
                if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
                await AptTestTools.RunAsync(["debootstrap", "--variant=minbase", Mirror.Codename, root, Mirror.Url.AbsoluteUri], ct);
                // Services must not start inside the chroot (invoke-rc.d asks policy-rc.d; 101 = "not allowed").
                await File.WriteAllTextAsync(Path.Combine(root, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", ct);
                File.SetUnixFileMode(Path.Combine(root, "usr/sbin/policy-rc.d"), (UnixFileMode)0b111_101_101);
                await AptTestTools.RunAsync(["chroot", root, "apt-get", "clean"], ct);
                await AptTestTools.RunAsync(["tar", "--numeric-owner", "-cpf", Tarball + ".tmp", "-C", root, "."], ct);
                File.Move(Tarball + ".tmp", Tarball, overwrite: true);
                Rebuilt = true;
            }
            finally
            {
                if (Directory.Exists(root)) await AptTestTools.RunAsync(["rm", "-rf", "--one-file-system", root], CancellationToken.None);
                if (File.Exists(Tarball + ".tmp")) File.Delete(Tarball + ".tmp");
            }
        }
        PrepareTime = watch.Elapsed;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>A fresh copy of the base system under <paramref name="parent"/>; its apt sources still point at the host's mirror.</summary>
    public async Task<Chroot> ExtractAsync(string parent, CancellationToken ct)
    {
        var root = Path.Combine(parent, "chroot");
        Directory.CreateDirectory(root);
        await AptTestTools.RunAsync(["tar", "--numeric-owner", "-xpf", Tarball, "-C", root], ct);
        return new Chroot(root);
    }
}

/// <summary>One extracted chroot.</summary>
public sealed class Chroot(string root)
{
    public string Root { get; } = root;

    public Task<string> RunAsync(CancellationToken ct, params string[] argv) =>
        AptTestTools.RunAsync(["chroot", Root, .. argv], ct);

    /// <summary>Runs with no network at all: a fresh network namespace has only a downed loopback.</summary>
    public Task<string> RunOfflineAsync(CancellationToken ct, params string[] argv) =>
        AptTestTools.RunAsync(["unshare", "--net", "chroot", Root, .. argv], ct);

    /// <summary>apt-get install --simulate's "Inst name (version …)" lines as name → version (new installs, not upgrades).</summary>
    public async Task<(Dictionary<string, string> Installs, List<string> Upgrades)> SimulateInstallAsync(IEnumerable<string> packages, CancellationToken ct)
    {
        var output = await RunAsync(ct, ["apt-get", "install", "--simulate", "--no-install-recommends", "-q", .. packages]);
        var installs = new Dictionary<string, string>(StringComparer.Ordinal);
        var upgrades = new List<string>();
        foreach (var line in output.Split('\n'))
        {
            if (!line.StartsWith("Inst ", StringComparison.Ordinal)) continue;
            // "Inst libssl3 (3.0.15-1 Debian:12.9/stable [amd64])" or, for an upgrade, "Inst libc6 [2.36-9] (2.36-9+deb12u9 …)".
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var name = parts[1].Split(':')[0];
            if (parts[2].StartsWith('[')) { upgrades.Add(line); continue; }
            installs[name] = parts[2].TrimStart('(');
        }
        return (installs, upgrades);
    }

    public async Task<Dictionary<string, string>> InstalledAsync(CancellationToken ct)
    {
        var output = await RunAsync(ct, "dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            // "ii" installed, "hi" installed and held.
            .Where(p => p.Length >= 3 && p[2] is ['i' or 'h', 'i', ..])
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
    }

    /// <summary>Where <see cref="CopyRepositoryAsync"/> puts the repository, as seen inside the chroot.</summary>
    public const string RepositoryInChroot = "/var/lib/airgap/repo/debian-12";

    /// <summary>Copies an airgap-written repository into the chroot, where the bundle's installer unpacks it on a node.</summary>
    public async Task CopyRepositoryAsync(IReadOnlyDictionary<string, byte[]> indexFiles, IReadOnlyDictionary<string, string> debs, CancellationToken ct)
    {
        var repo = Root + RepositoryInChroot;
        Directory.CreateDirectory(repo);
        foreach (var (name, content) in indexFiles) await File.WriteAllBytesAsync(Path.Combine(repo, name), content, ct);
        foreach (var (name, path) in debs) File.Copy(path, Path.Combine(repo, name), overwrite: true);
    }

    public Task DeleteAsync() => AptTestTools.RunAsync(["rm", "-rf", "--one-file-system", Root], CancellationToken.None);
}
