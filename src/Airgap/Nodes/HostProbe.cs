using System.Globalization;

namespace Airgap.Nodes;

/// <summary>
/// Reads <see cref="HostFacts"/> from a node using file reads only (procfs, sysfs, /etc), so it
/// works the same through any <see cref="IHost"/> and changes nothing.
/// </summary>
public static class HostProbe
{
    /// <summary>The kubeadm ports, with the component that needs each.</summary>
    public static IReadOnlyDictionary<int, string> KubernetesPorts { get; } = new Dictionary<int, string>
    {
        [6443] = "kube-apiserver",
        [2379] = "etcd",
        [2380] = "etcd peers",
        [10250] = "kubelet",
        [10257] = "kube-controller-manager",
        [10259] = "kube-scheduler",
    };

    /// <summary>What a finished or half-finished kubeadm run leaves, besides static pod manifests.</summary>
    public static IReadOnlyList<string> ClusterFiles { get; } =
    [
        "/etc/kubernetes/admin.conf",
        "/etc/kubernetes/kubelet.conf",
        "/etc/kubernetes/bootstrap-kubelet.conf",
        "/etc/kubernetes/pki/ca.crt",
    ];

    public const string ManifestsDirectory = "/etc/kubernetes/manifests";
    public const string EtcdDataDirectory = "/var/lib/etcd";

    private const int CapSysResource = 24;

    public static async Task<HostFacts> ProbeAsync(IHost host, CancellationToken ct)
    {
        async Task<string?> Read(string path) => await host.ReadTextAsync(path, ct).ConfigureAwait(false);
        async Task<bool> Exists(string path) => await host.FileExistsAsync(path, ct).ConfigureAwait(false);

        var status = ParseStatus(await Read("/proc/self/status").ConfigureAwait(false) ?? "");
        var kernel = (await Read("/proc/sys/kernel/osrelease").ConfigureAwait(false))?.Trim() ?? "";
        var modules = await ReadModulesAsync(host, kernel, ct).ConfigureAwait(false);
        var bridgeLoaded = await Exists("/proc/sys/net/bridge").ConfigureAwait(false);
        var filesystems = await Read("/proc/filesystems").ConfigureAwait(false) ?? "";
        var osRelease = await Read("/etc/os-release").ConfigureAwait(false) ?? await Read("/usr/lib/os-release").ConfigureAwait(false);

        return new HostFacts
        {
            Hostname = (await Read("/proc/sys/kernel/hostname").ConfigureAwait(false))?.Trim() ?? host.Name,
            Pid1 = (await Read("/proc/1/comm").ConfigureAwait(false))?.Trim() ?? "",
            CgroupVersion = await Exists("/sys/fs/cgroup/cgroup.controllers").ConfigureAwait(false) ? 2 : 1,
            IsRoot = status.EffectiveUid == 0,
            HasCapSysResource = (status.CapBnd >> CapSysResource & 1) == 1,
            SwapAreas = ParseSwaps(await Read("/proc/swaps").ConfigureAwait(false)),
            Fstab = await Read("/etc/fstab").ConfigureAwait(false),
            BrNetfilter = bridgeLoaded ? KernelFeatureState.Loaded : modules.State("br_netfilter"),
            BridgeNfCallIptables = ParseInt(await Read("/proc/sys/net/bridge/bridge-nf-call-iptables").ConfigureAwait(false)),
            IpForward = ParseInt(await Read("/proc/sys/net/ipv4/ip_forward").ConfigureAwait(false)),
            Overlay = HasFilesystem(filesystems, "overlay") ? KernelFeatureState.Loaded : modules.State("overlay"),
            CpuCount = status.AllowedCpus ?? CountCpus(await Read("/sys/devices/system/cpu/online").ConfigureAwait(false))
                       ?? CountProcessors(await Read("/proc/cpuinfo").ConfigureAwait(false)),
            MemoryMiB = ParseMemTotalMiB(await Read("/proc/meminfo").ConfigureAwait(false)),
            ProductUuid = await ReadProductUuidAsync(host, ct).ConfigureAwait(false),
            MachineId = (await host.ReadTextAsync("/etc/machine-id", ct).ConfigureAwait(false))?.Trim() is { Length: > 0 } id ? id : null,
            Interfaces = await ReadInterfacesAsync(host, ct).ConfigureAwait(false),
            Os = osRelease is null ? null : OsRelease.Parse(osRelease),
            PackageManager = await DetectPackageManagerAsync(host, ct).ConfigureAwait(false),
            KernelRelease = kernel,
            ListeningPorts = ParseListeningPorts(
                (await Read("/proc/net/tcp").ConfigureAwait(false) ?? "") + "\n" + (await Read("/proc/net/tcp6").ConfigureAwait(false) ?? "")),
            ExistingClusterFiles = await FindClusterFilesAsync(host, ct).ConfigureAwait(false),
            EtcdDataPresent = (await host.ListDirectoryAsync(EtcdDataDirectory, ct).ConfigureAwait(false))?.Count > 0,
            TimeSync = await FindTimeSyncAsync(host, ct).ConfigureAwait(false),
        };
    }

    // Process names as /proc/PID/comm shows them (15 characters at most).
    private static readonly string[] TimeDaemons = ["chronyd", "ntpd", "systemd-timesyn", "openntpd", "timesyncd", "ptp4l", "phc2sys"];

    /// <summary>A running time daemon by name; certificates and etcd leases go wrong when node clocks drift apart.</summary>
    private static async Task<string?> FindTimeSyncAsync(IHost host, CancellationToken ct)
    {
        var pids = (await host.ListDirectoryAsync("/proc", ct).ConfigureAwait(false) ?? []).Where(n => n.All(char.IsAsciiDigit));
        var found = new System.Collections.Concurrent.ConcurrentBag<string>();
        // Many small reads at once: one round trip's worth of waiting over SSH instead of one per process.
        await Parallel.ForEachAsync(pids, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (pid, token) =>
        {
            string? comm;
            try
            {
                comm = (await host.ReadTextAsync($"/proc/{pid}/comm", token).ConfigureAwait(false))?.Trim();
            }
            catch (Exception e) when (e is IOException or Renci.SshNet.Common.SshException)
            {
                // The process ended between the listing and the read (SFTP says only "Failure" for that): it is not a daemon that runs.
                return;
            }
            if (comm is not null && TimeDaemons.Contains(comm)) found.Add(comm == "systemd-timesyn" ? "systemd-timesyncd" : comm);
        }).ConfigureAwait(false);
        return found.Order(StringComparer.Ordinal).FirstOrDefault();
    }

    internal sealed record ProcessStatus(int? EffectiveUid, ulong CapBnd, int? AllowedCpus);

    /// <summary>/proc/self/status: effective uid, the capability bounding set, and the CPUs this process may use (what Go's NumCPU counts).</summary>
    internal static ProcessStatus ParseStatus(string text)
    {
        int? uid = null;
        ulong capBnd = 0;
        int? cpus = null;
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon < 0) continue;
            var value = line[(colon + 1)..].Trim();
            switch (line[..colon])
            {
                case "Uid":
                    var fields = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length > 1 && int.TryParse(fields[1], CultureInfo.InvariantCulture, out var euid)) uid = euid;
                    break;
                case "CapBnd":
                    ulong.TryParse(value, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out capBnd);
                    break;
                case "Cpus_allowed_list":
                    cpus = CountCpus(value);
                    break;
            }
        }
        return new ProcessStatus(uid, capBnd, cpus);
    }

    /// <summary>Counts a kernel CPU list such as "0-3,8,10-11".</summary>
    internal static int? CountCpus(string? list)
    {
        if (string.IsNullOrWhiteSpace(list)) return null;
        var count = 0;
        foreach (var part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var dash = part.IndexOf('-');
            if (dash < 0)
            {
                if (!int.TryParse(part, CultureInfo.InvariantCulture, out _)) return null;
                count++;
            }
            else
            {
                if (!int.TryParse(part[..dash], CultureInfo.InvariantCulture, out var first) ||
                    !int.TryParse(part[(dash + 1)..], CultureInfo.InvariantCulture, out var last) || last < first) return null;
                count += last - first + 1;
            }
        }
        return count > 0 ? count : null;
    }

    private static int CountProcessors(string? cpuinfo) =>
        Math.Max(1, (cpuinfo ?? "").Split('\n').Count(l => l.StartsWith("processor", StringComparison.Ordinal)));

    internal static long ParseMemTotalMiB(string? meminfo)
    {
        foreach (var line in (meminfo ?? "").Split('\n'))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
            var fields = line["MemTotal:".Length..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 0 && long.TryParse(fields[0], CultureInfo.InvariantCulture, out var kib)) return kib / 1024;
        }
        return 0;
    }

    internal static IReadOnlyList<string> ParseSwaps(string? swaps) =>
        (swaps ?? "").Split('\n')
            .Skip(1) // header: Filename Type Size Used Priority
            .Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length > 0)
            .Select(f => f[0])
            .ToList();

    /// <summary>LISTEN (state 0A) local ports from /proc/net/tcp and /proc/net/tcp6 text.</summary>
    internal static IReadOnlyList<int> ParseListeningPorts(string text)
    {
        var ports = new SortedSet<int>();
        foreach (var line in text.Split('\n'))
        {
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            // sl local_address rem_address st ...; the header line has "local_address" here.
            if (fields.Length < 4 || fields[3] != "0A") continue;
            var colon = fields[1].LastIndexOf(':');
            if (colon < 0) continue;
            if (int.TryParse(fields[1][(colon + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var port))
                ports.Add(port);
        }
        return ports.ToList();
    }

    private static int? ParseInt(string? text) =>
        int.TryParse(text?.Trim(), CultureInfo.InvariantCulture, out var value) ? value : null;

    private static bool HasFilesystem(string filesystems, string name) =>
        filesystems.Split('\n').Any(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).LastOrDefault() == name);

    /// <summary>Module names from modules.dep (loadable) and modules.builtin (compiled in) of the running kernel.</summary>
    private sealed record KernelModules(IReadOnlySet<string> Loadable, IReadOnlySet<string> Builtin)
    {
        public KernelFeatureState State(string module) =>
            Builtin.Contains(module) ? KernelFeatureState.Loaded
            : Loadable.Contains(module) ? KernelFeatureState.Loadable
            : KernelFeatureState.Missing;
    }

    private static async Task<KernelModules> ReadModulesAsync(IHost host, string kernel, CancellationToken ct)
    {
        if (kernel.Length == 0) return new KernelModules(new HashSet<string>(), new HashSet<string>());
        var dep = await host.ReadTextAsync($"/lib/modules/{kernel}/modules.dep", ct).ConfigureAwait(false);
        var builtin = await host.ReadTextAsync($"/lib/modules/{kernel}/modules.builtin", ct).ConfigureAwait(false);
        return new KernelModules(ModuleNames(dep, depFormat: true), ModuleNames(builtin, depFormat: false));
    }

    internal static HashSet<string> ModuleNames(string? text, bool depFormat)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in (text ?? "").Split('\n'))
        {
            var path = depFormat ? raw.Split(':')[0] : raw;
            var file = path.Trim();
            if (file.Length == 0) continue;
            var name = file[(file.LastIndexOf('/') + 1)..];
            var ko = name.IndexOf(".ko", StringComparison.Ordinal);
            if (ko <= 0) continue;
            // The kernel treats - and _ in module names alike.
            names.Add(name[..ko].Replace('-', '_'));
        }
        return names;
    }

    private static async Task<string?> ReadProductUuidAsync(IHost host, CancellationToken ct)
    {
        try
        {
            var text = (await host.ReadTextAsync("/sys/class/dmi/id/product_uuid", ct).ConfigureAwait(false))?.Trim();
            return string.IsNullOrEmpty(text) ? null : text.ToLowerInvariant();
        }
        catch (AirgapException)
        {
            // Readable by root only; a non-root probe reports it unknown and preflight reports the user.
            return null;
        }
    }

    private static async Task<IReadOnlyList<NetworkInterfaceFacts>> ReadInterfacesAsync(IHost host, CancellationToken ct)
    {
        var result = new List<NetworkInterfaceFacts>();
        foreach (var name in await host.ListDirectoryAsync("/sys/class/net", ct).ConfigureAwait(false) ?? [])
        {
            if (name == "lo") continue;
            var mac = (await host.ReadTextAsync($"/sys/class/net/{name}/address", ct).ConfigureAwait(false))?.Trim().ToLowerInvariant();
            if (string.IsNullOrEmpty(mac) || mac.All(c => c is '0' or ':')) continue;
            result.Add(new NetworkInterfaceFacts(name, mac));
        }
        return result;
    }

    private static async Task<PackageManagerKind> DetectPackageManagerAsync(IHost host, CancellationToken ct)
    {
        if (await host.FileExistsAsync("/var/lib/dpkg/status", ct).ConfigureAwait(false)) return PackageManagerKind.Dpkg;
        foreach (var path in new[] { "/var/lib/rpm", "/usr/lib/sysimage/rpm" })
            if (await host.FileExistsAsync(path, ct).ConfigureAwait(false)) return PackageManagerKind.Rpm;
        return PackageManagerKind.None;
    }

    private static async Task<IReadOnlyList<string>> FindClusterFilesAsync(IHost host, CancellationToken ct)
    {
        var found = new List<string>();
        foreach (var name in await host.ListDirectoryAsync(ManifestsDirectory, ct).ConfigureAwait(false) ?? [])
            if (name.EndsWith(".yaml", StringComparison.Ordinal) || name.EndsWith(".yml", StringComparison.Ordinal))
                found.Add($"{ManifestsDirectory}/{name}");
        foreach (var path in ClusterFiles)
            if (await host.FileExistsAsync(path, ct).ConfigureAwait(false)) found.Add(path);
        return found;
    }
}
