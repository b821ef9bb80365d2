using Airgap.Bundles;

namespace Airgap.Nodes;

/// <summary>
/// The node's own package manager, pointed at the bundle's unpacked repository and nothing else: no
/// network is tried, and no other source can offer a surprise version.
/// </summary>
public interface IBundlePackageSource
{
    Task ConfigureAsync(string repositoryDirectory, CancellationToken ct);

    /// <summary>Installs the packages at exactly the bundle's versions (downgrading if need be) and holds the Kubernetes ones.</summary>
    Task InstallAsync(IReadOnlyList<BundlePackage> packages, CancellationToken ct);

    /// <summary>The installed version in the bundle's spelling, or null when the package is not installed.</summary>
    Task<string?> InstalledVersionAsync(string package, CancellationToken ct);

    /// <summary>Orders two versions the way this package manager does (dpkg's or rpm's rules).</summary>
    int CompareVersions(string a, string b);
}

public static class BundlePackageSources
{
    /// <summary>The packages held at the bundle's version: the bundle is the version lock.</summary>
    public static readonly IReadOnlyList<string> Held = ["kubeadm", "kubelet", "kubectl"];

    /// <summary>The files that point a package manager at the bundle; airgap reset removes them.</summary>
    public static readonly IReadOnlyList<string> SourceFiles = [AptBundleSource.ListFile, DnfBundleSource.RepoFile];

    /// <summary>The package format of the bundle's repository for an OS: "deb" or "rpm".</summary>
    public static string FormatOf(IEnumerable<BundlePackage> packages) =>
        packages.Any(p => p.Path.EndsWith(".rpm", StringComparison.Ordinal)) ? "rpm" : "deb";

    public static async Task<IBundlePackageSource> ForAsync(IHost host, IProgressSink progress, PackageManagerKind kind, string format, string os, CancellationToken ct)
    {
        return (kind, format) switch
        {
            (PackageManagerKind.Dpkg, "deb") => new AptBundleSource(host, progress),
            (PackageManagerKind.Rpm, "rpm") => new DnfBundleSource(host, progress,
                await host.FileExistsAsync("/usr/bin/dnf", ct).ConfigureAwait(false) ? "dnf" : "yum"),
            _ => throw new AirgapException($"the bundle's {os} packages are .{format} but this node uses {(kind == PackageManagerKind.None ? "neither dpkg nor rpm" : kind.ToString().ToLowerInvariant())}; " +
                                           $"build the bundle with --os for this node's OS"),
        };
    }

    /// <summary>
    /// What to name to the package manager: the held Kubernetes packages at exactly the bundle's
    /// version (downgrading if need be), the other requested ones by name only, so a library or tool
    /// the node already has in a newer version is kept; dependencies come by themselves. A bundle
    /// written before requests were recorded names every package.
    /// </summary>
    internal static (IReadOnlyList<BundlePackage> Exact, IReadOnlyList<BundlePackage> ByName) Split(IReadOnlyList<BundlePackage> packages)
    {
        var recorded = packages.Any(p => p.Requested);
        var exact = packages.Where(p => Held.Contains(p.Name)).DistinctBy(p => p.Name).ToList();
        var byName = packages.Where(p => !Held.Contains(p.Name) && (p.Requested || !recorded)).DistinctBy(p => p.Name).ToList();
        return (exact, byName);
    }

    internal static async Task WarnAboutReplacementsAsync(IBundlePackageSource source, IProgressSink progress, IReadOnlyList<BundlePackage> packages, CancellationToken ct)
    {
        foreach (var p in packages.Where(p => Held.Contains(p.Name)))
        {
            var installed = await source.InstalledVersionAsync(p.Name, ct).ConfigureAwait(false);
            if (installed is null || installed == p.Version) continue;
            // Moving up to the bundle's version is what an upgrade asks for; moving down is the version
            // lock overriding something newer someone installed, which the operator should hear about.
            if (source.CompareVersions(installed, p.Version) < 0)
                progress.Info($"  {p.Name} {installed} → {p.Version} (the bundle's)");
            else
                progress.Warn($"{p.Name} {installed} is installed; replacing it with the bundle's older {p.Version} (the bundle is the version lock)");
        }
    }
}

/// <summary>apt with a file: source for the bundle's flat repository; held with apt-mark.</summary>
public sealed class AptBundleSource(IHost host, IProgressSink progress) : IBundlePackageSource
{
    public const string ListFile = "/etc/apt/sources.list.d/airgap.list";

    // apt sees only the bundle's repository: no network, and no surprise versions from other sources.
    private static readonly string[] OnlyBundle =
    [
        "-o", $"Dir::Etc::SourceList={ListFile}", "-o", "Dir::Etc::SourceParts=/dev/null",
        "-o", "APT::Get::List-Cleanup=0", "-o", "Acquire::Languages=none",
    ];

    private string? repository;

    public async Task ConfigureAsync(string repositoryDirectory, CancellationToken ct)
    {
        repository = repositoryDirectory;
        // trusted=yes: the repository's bytes were checked against the bundle's SHA256SUMS just before.
        await host.WriteTextAsync(ListFile, $"deb [trusted=yes] file:{repositoryDirectory} ./\n", HostExtensions.Mode0644, ct).ConfigureAwait(false);
        await host.RunCheckedAsync(new CommandSpec("apt-get", [.. OnlyBundle, "update"]) { Timeout = TimeSpan.FromMinutes(5) }, ct).ConfigureAwait(false);
    }

    public async Task InstallAsync(IReadOnlyList<BundlePackage> packages, CancellationToken ct)
    {
        await BundlePackageSources.WarnAboutReplacementsAsync(this, progress, packages, ct).ConfigureAwait(false);
        var (exact, byName) = BundlePackageSources.Split(packages);
        var held = exact.Select(p => p.Name).ToArray();
        // An install killed inside dpkg (power cut, kill -9) leaves its journal in updates/, and apt then
        // refuses everything until `dpkg --configure -a` has finished the job: do that first, as apt asks.
        // Its journal entries are numbered (0000, 0001…); tmp.i is dpkg's scratch file, not an interruption.
        if ((await host.ListDirectoryAsync("/var/lib/dpkg/updates", ct).ConfigureAwait(false))?.Any(n => n.Length > 0 && n.All(char.IsAsciiDigit)) == true)
        {
            progress.Info("  dpkg was interrupted (an install killed halfway): dpkg --configure -a first");
            await host.RunCheckedAsync(new CommandSpec("dpkg", "--configure", "-a")
            {
                Env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" },
                Timeout = TimeSpan.FromMinutes(15),
            }, ct).ConfigureAwait(false);
        }
        if (held.Length > 0) await host.RunAsync(new CommandSpec("apt-mark", ["unhold", .. held]), ct).ConfigureAwait(false);
        await ReinstallHalfInstalledAsync(packages, ct).ConfigureAwait(false);
        var spec = new CommandSpec("apt-get", [.. OnlyBundle, "install", "-y", "--no-install-recommends", "--allow-downgrades",
            "--allow-change-held-packages", .. exact.Select(p => $"{p.Name}={p.Version}"), .. byName.Select(p => p.Name)])
        {
            Env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" },
            Timeout = TimeSpan.FromMinutes(15),
        };
        await host.RunCheckedAsync(spec, ct).ConfigureAwait(false);
        if (held.Length > 0) await host.RunCheckedAsync(new CommandSpec("apt-mark", ["hold", .. held]), ct).ConfigureAwait(false);
    }

    public async Task<string?> InstalledVersionAsync(string package, CancellationToken ct)
    {
        var r = await host.RunAsync(new CommandSpec("dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}", package), ct).ConfigureAwait(false);
        if (r.ExitCode != 0) return null;
        var text = r.Stdout.Trim();
        return text.StartsWith("ii", StringComparison.Ordinal) || text.StartsWith("hi", StringComparison.Ordinal)
            ? text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Last()
            : null;
    }

    public int CompareVersions(string a, string b) => Packages.Apt.DebianVersion.Parse(a).CompareTo(Packages.Apt.DebianVersion.Parse(b));

    /// <summary>
    /// A kill inside dpkg's unpack can leave a package half-installed, marked for reinstallation at the
    /// version it replaced (the machine's newer kubectl, say), whose archive only its old source had: apt
    /// then refuses everything ("needs to be reinstalled, but I can't find an archive for it"), and
    /// dpkg --configure -a cannot help. dpkg -i of the bundle's own .deb for it finishes the job, as dpkg
    /// itself advises; apt-get install then configures whatever that left unconfigured.
    /// </summary>
    private async Task ReinstallHalfInstalledAsync(IReadOnlyList<BundlePackage> packages, CancellationToken ct)
    {
        if (repository is null) return;
        var r = await host.RunAsync(new CommandSpec("dpkg-query", "-W", "-f", "${db:Status-Abbrev}|${Package}\n"), ct).ConfigureAwait(false);
        if (r.ExitCode != 0) return;
        var broken = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('|'))
            .Where(f => f.Length == 2 && f[0].Length >= 2 && (f[0][1] == 'H' || (f[0].Length >= 3 && f[0][2] == 'R')))
            .Select(f => f[1].Split(':')[0])
            .ToHashSet(StringComparer.Ordinal);
        // The repository holds the bundle's packages/OS/ARCH/ tree, so a package's file is its bundle path below that.
        var debs = packages.Where(p => broken.Contains(p.Name)).DistinctBy(p => p.Name)
            .Select(p => (p.Name, File: $"{repository}/{string.Join('/', p.Path.Split('/').Skip(3))}")).ToList();
        if (debs.Count == 0) return;
        progress.Info($"  half-installed by an interrupted dpkg: {string.Join(", ", debs.Select(d => d.Name))}; dpkg -i the bundle's .deb first");
        await host.RunAsync(new CommandSpec("dpkg", ["-i", "--force-downgrade", .. debs.Select(d => d.File)])
        {
            Env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" },
            Timeout = TimeSpan.FromMinutes(15),
        }, ct).ConfigureAwait(false);
    }
}

/// <summary>
/// dnf (or yum on EL7) with a repository file for the bundle, every other repository disabled for the
/// call. Held the way the Kubernetes docs do it (exclude= on the repository, lifted only by airgap's own
/// calls), plus versionlock where its plugin is installed.
/// </summary>
public sealed class DnfBundleSource(IHost host, IProgressSink progress, string program) : IBundlePackageSource
{
    public const string RepoFile = "/etc/yum.repos.d/airgap.repo";
    private const string RepoId = "airgap-bundle";

    // install_weak_deps is dnf's; EL7's yum has no weak dependencies and warns about the option.
    private string[] OnlyBundle => program == "dnf"
        ? ["-y", "--disablerepo=*", $"--enablerepo={RepoId}", $"--disableexcludes={RepoId}", "--setopt=install_weak_deps=False"]
        : ["-y", "--disablerepo=*", $"--enablerepo={RepoId}", $"--disableexcludes={RepoId}"];

    public async Task ConfigureAsync(string repositoryDirectory, CancellationToken ct)
    {
        // gpgcheck=0: the repository's bytes were checked against the bundle's SHA256SUMS just before,
        // and the packages' signatures were checked against the vendor keys when the bundle was built.
        var text = $"""
            # Written by airgap install: the bundle's packages, the only source airgap's calls use.
            [{RepoId}]
            name=airgap bundle
            baseurl=file://{repositoryDirectory}
            enabled=0
            gpgcheck=0
            repo_gpgcheck=0
            module_hotfixes=1
            exclude={string.Join(' ', BundlePackageSources.Held)}

            """;
        await host.WriteTextAsync(RepoFile, text, HostExtensions.Mode0644, ct).ConfigureAwait(false);
        await host.RunCheckedAsync(new CommandSpec(program, [.. OnlyBundle, "makecache"]) { Timeout = TimeSpan.FromMinutes(5) }, ct).ConfigureAwait(false);
    }

    public async Task InstallAsync(IReadOnlyList<BundlePackage> packages, CancellationToken ct)
    {
        await RepairInterruptedTransactionAsync(packages, ct).ConfigureAwait(false);
        await BundlePackageSources.WarnAboutReplacementsAsync(this, progress, packages, ct).ConfigureAwait(false);
        var (exact, byName) = BundlePackageSources.Split(packages);
        var locking = exact.Count > 0 && await VersionlockAvailableAsync(ct).ConfigureAwait(false);
        if (locking)
            await host.RunAsync(new CommandSpec(program, ["versionlock", "delete", .. exact.Select(p => p.Name)]), ct).ConfigureAwait(false);

        // dnf install never goes down a version: held packages newer on the node than in the bundle are
        // downgraded; the others are only installed where missing (a newer one on the node is kept).
        var install = new List<string>();
        var downgrade = new List<string>();
        foreach (var p in exact)
        {
            var installed = await InstalledVersionAsync(p.Name, ct).ConfigureAwait(false);
            if (installed is null || CompareVersions(installed, p.Version) < 0) install.Add(Spec(p));
            else if (installed != p.Version) downgrade.Add(Spec(p));
        }
        foreach (var p in byName)
            if (await InstalledVersionAsync(p.Name, ct).ConfigureAwait(false) is null) install.Add(p.Name);
        if (install.Count > 0)
            await host.RunCheckedAsync(Command("install", install), ct).ConfigureAwait(false);
        if (downgrade.Count > 0)
            await host.RunCheckedAsync(Command("downgrade", downgrade), ct).ConfigureAwait(false);
        if (locking)
            await host.RunCheckedAsync(new CommandSpec(program, ["versionlock", "add", .. exact.Select(Spec)]), ct).ConfigureAwait(false);
        else
            progress.Info($"  {program} versionlock is not installed: {string.Join(", ", BundlePackageSources.Held)} are held by exclude= in {RepoFile} only");
    }

    private CommandSpec Command(string verb, IEnumerable<string> specs) =>
        new(program, [.. OnlyBundle, verb, .. specs]) { Timeout = TimeSpan.FromMinutes(15) };

    /// <summary>
    /// An rpm transaction killed halfway through an upgrade or downgrade (a power cut, kill -9) leaves
    /// both builds of a package in the rpm database, its files a mix of the two, and dnf refusing to
    /// go on. `dnf remove --duplicates` would reinstall the newer build, which an offline node does not
    /// have; so the database entries of the bundle's own packages that are duplicated are dropped
    /// (files stay) and the install below puts the bundle's exact build back, files and all.
    /// </summary>
    private async Task RepairInterruptedTransactionAsync(IReadOnlyList<BundlePackage> packages, CancellationToken ct)
    {
        var duplicated = new List<string>();
        foreach (var name in packages.Select(p => p.Name).Distinct(StringComparer.Ordinal))
            if ((await InstalledVersionsAsync(name, ct).ConfigureAwait(false)).Count > 1) duplicated.Add(name);
        if (duplicated.Count == 0) return;
        progress.Info($"  an rpm transaction was interrupted (two builds of {string.Join(", ", duplicated)} in the rpm database): dropping their entries and installing the bundle's builds again");
        await host.RunCheckedAsync(new CommandSpec("rpm", ["-e", "--justdb", "--nodeps", "--noscripts", "--allmatches", .. duplicated]), ct).ConfigureAwait(false);
    }

    /// <summary>name-[epoch:]version-release, the form dnf and yum take for one exact build.</summary>
    private static string Spec(BundlePackage p) => $"{p.Name}-{p.Version}";

    private async Task<bool> VersionlockAvailableAsync(CancellationToken ct) =>
        (await host.RunAsync(new CommandSpec(program, "-q", "versionlock", "list"), ct).ConfigureAwait(false)).ExitCode == 0;

    public async Task<string?> InstalledVersionAsync(string package, CancellationToken ct)
    {
        // Several installed builds (kernel-style installonly) print one line each; the newest counts.
        var versions = await InstalledVersionsAsync(package, ct).ConfigureAwait(false);
        return versions.Count == 0 ? null : versions.MaxBy(Packages.Rpm.RpmVersion.Parse);
    }

    public int CompareVersions(string a, string b) => Packages.Rpm.RpmVersion.Parse(a).CompareTo(Packages.Rpm.RpmVersion.Parse(b));

    private async Task<IReadOnlyList<string>> InstalledVersionsAsync(string package, CancellationToken ct)
    {
        var r = await host.RunAsync(new CommandSpec("rpm", "-q", "--qf", "%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n", package), ct).ConfigureAwait(false);
        if (r.ExitCode != 0) return [];
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => v.StartsWith("0:", StringComparison.Ordinal) ? v[2..] : v)
            .ToList();
    }
}
