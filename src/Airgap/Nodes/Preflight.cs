using System.Text;
using System.Text.RegularExpressions;
using Airgap.Releases;

namespace Airgap.Nodes;

public enum PreflightStatus { Ok, Info, Warn, Error, Fixed }

/// <summary>
/// One check. <see cref="Name"/> is what --ignore-preflight-errors takes (kubeadm's own name where
/// kubeadm has the same check, so operators' habits carry over). <see cref="Fix"/> says what --fix
/// does or what to do by hand. <see cref="PreflightStatus.Fixed"/> means the repair is in the
/// report's fix plan, which the caller applies.
/// </summary>
public sealed record PreflightResult(string Name, PreflightStatus Status, string Message)
{
    public string? Fix { get; init; }
}

/// <summary>Another node of the same cluster, named as the operator knows it (address or host name).</summary>
public sealed record PeerFacts(string Name, HostFacts Facts);

public sealed record PreflightOptions
{
    public NodeRole Role { get; init; } = NodeRole.InitControlPlane;

    /// <summary>When known, checks that depend on the release (cgroup v2 support) use it.</summary>
    public KubernetesVersion? KubernetesVersion { get; init; }

    public IReadOnlyList<PeerFacts> Peers { get; init; } = [];
    public IgnoredPreflightErrors Ignore { get; init; } = IgnoredPreflightErrors.None;

    /// <summary>Plan repairs for what can be repaired instead of failing on it.</summary>
    public bool Fix { get; init; }

    /// <summary>
    /// Load overlay/br_netfilter and set the bridge and forwarding sysctls (persisted under
    /// /etc/modules-load.d and /etc/sysctl.d) without --fix: every kubeadm install needs them, and they
    /// change nothing else. Swap stays behind --fix, since turning it off changes how the machine runs.
    /// </summary>
    public bool FixKernelSettings { get; init; } = true;

    public int ApiServerPort { get; init; } = 6443;
}

/// <summary>--ignore-preflight-errors with kubeadm's semantics: case-insensitive names, "all" ignores every error and stands alone.</summary>
public sealed class IgnoredPreflightErrors
{
    private readonly HashSet<string> names;

    private IgnoredPreflightErrors(HashSet<string> names) => this.names = names;

    public static IgnoredPreflightErrors None { get; } = new([]);

    public bool All => names.Contains("all");

    public IReadOnlyCollection<string> Names => names;

    /// <summary>Each value may itself be a comma-separated list, as the flag is repeatable and comma-separated.</summary>
    public static IgnoredPreflightErrors Parse(IEnumerable<string> values)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
            foreach (var name in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                set.Add(name.ToLowerInvariant());
        if (set.Contains("all") && set.Count > 1)
            throw new AirgapException(
                $"--ignore-preflight-errors {string.Join(',', set.Order(StringComparer.Ordinal))}: don't name individual checks together with 'all'");
        return new IgnoredPreflightErrors(set);
    }

    public static IgnoredPreflightErrors Parse(string? value) => Parse(value is null ? [] : [value]);

    public bool Ignores(string check) => All || names.Contains(check.ToLowerInvariant());
}

public sealed record PreflightReport(IReadOnlyList<PreflightResult> Results, IReadOnlyList<FixStep> FixPlan)
{
    public IReadOnlyList<PreflightResult> Errors => Results.Where(r => r.Status == PreflightStatus.Error).ToList();

    public bool Passed => Errors.Count == 0;

    /// <summary>Throws one line naming every error, with how to repair or ignore them.</summary>
    public void EnsurePassed()
    {
        var errors = Errors;
        if (errors.Count == 0) return;
        var text = new StringBuilder($"preflight found {errors.Count} error{(errors.Count == 1 ? "" : "s")}: ");
        text.AppendJoin("; ", errors.Select(e => $"[{e.Name}] {e.Message}"));
        var fixable = errors.Where(e => e.Fix?.StartsWith(Preflight.FixPrefix, StringComparison.Ordinal) == true).Select(e => e.Name).ToList();
        if (fixable.Count > 0) text.Append($" (--fix repairs {string.Join(',', fixable)})");
        text.Append($"; to go on anyway: --ignore-preflight-errors={string.Join(',', errors.Select(e => e.Name))}");
        throw new AirgapException(text.ToString());
    }
}

/// <summary>
/// The checks kubeadm would fail on, run before anything is installed so the operator hears about
/// all of them at once, plus airgap's own (duplicates across peers, kernel features the runtime
/// needs). Pure: facts in, results and a repair plan out.
/// </summary>
public static partial class Preflight
{
    public const string SysctlFile = "/etc/sysctl.d/k8s.conf";
    public const string ModulesFile = "/etc/modules-load.d/k8s.conf";
    public const int MinControlPlaneCpus = 2;

    /// <summary>kubeadm's ControlPlaneMem, in MiB as /proc/meminfo counts it.</summary>
    public const long MinControlPlaneMemoryMiB = 1700;

    internal const string FixPrefix = "--fix: ";

    public const string SysctlContent =
        "net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n";

    public const string ModulesContent = "overlay\nbr_netfilter\n";

    // Interfaces whose MACs are made up per node (bridges, veths, tunnels) say nothing about clones.
    private static readonly string[] VirtualInterfacePrefixes =
        ["veth", "cni", "flannel", "docker", "br-", "virbr", "kube-ipvs", "cali", "tunl", "vxlan", "ifb", "dummy", "nodelocaldns", "weave"];

    public static PreflightReport Run(HostFacts facts, PreflightOptions options)
    {
        var run = new Checks(options);
        CheckUser(facts, run);
        CheckHostname(facts, run);
        CheckRuntimeAdaptations(facts, options, run);
        if (options.Role.IsControlPlane()) CheckResources(facts, run);
        CheckSwap(facts, run);
        CheckKernel(facts, run);
        CheckPorts(facts, options, run);
        CheckExistingCluster(facts, options, run);
        CheckPeers(facts, options, run);
        CheckOs(facts, run);
        CheckTimeSync(facts, run);
        return new PreflightReport(run.Results, run.Plan());
    }

    private static void CheckUser(HostFacts facts, Checks run)
    {
        if (facts.IsRoot) run.Ok("IsPrivilegedUser", "running as root");
        else run.Fail("IsPrivilegedUser", "not running as root: installing a node needs root", "run as root (sudo)");
    }

    private static void CheckHostname(HostFacts facts, Checks run)
    {
        // kubeadm names the node after the lowercased host name, which must be a DNS subdomain.
        var name = facts.Hostname.ToLowerInvariant();
        if (name.Length is > 0 and <= 253 && DnsSubdomain().IsMatch(name)) run.Ok("Hostname", $"node name {name}");
        else run.Fail("Hostname", $"host name \"{facts.Hostname}\" is not a valid node name (lowercase letters, digits, '-' and '.')",
            "set a valid host name (hostnamectl set-hostname NAME)");
    }

    private static void CheckRuntimeAdaptations(HostFacts facts, PreflightOptions options, Checks run)
    {
        run.Info("InitSystem", facts.SystemdIsInit
            ? "PID 1 is systemd: containerd and the kubelet use the systemd cgroup driver"
            : $"PID 1 is {(facts.Pid1.Length == 0 ? "unknown" : facts.Pid1)}, not systemd: containerd and the kubelet use the cgroupfs cgroup driver");
        run.Info("CapSysResource", facts.HasCapSysResource
            ? "CAP_SYS_RESOURCE is available"
            : "CAP_SYS_RESOURCE is missing from the bounding set: containerd gets restrict_oom_score_adj = true so pod sandboxes can start");
        if (facts.CgroupVersion == 2 && options.KubernetesVersion is { } version && version < KubernetesVersion.Create(1, 25, 0))
            run.Warn("CgroupsV2", $"cgroup v2 support is GA only from Kubernetes v1.25; {version} may misbehave on this host");
        else
            run.Info("CgroupsV2", $"cgroup v{facts.CgroupVersion}");
    }

    private static void CheckResources(HostFacts facts, Checks run)
    {
        if (facts.CpuCount >= MinControlPlaneCpus) run.Ok("NumCPU", $"{facts.CpuCount} CPUs");
        else run.Fail("NumCPU", $"{facts.CpuCount} CPU available, a control plane needs at least {MinControlPlaneCpus}", "give the node more CPUs");

        if (facts.MemoryMiB >= MinControlPlaneMemoryMiB) run.Ok("Mem", $"{facts.MemoryMiB} MiB memory");
        else run.Fail("Mem", $"{facts.MemoryMiB} MiB memory, a control plane needs at least {MinControlPlaneMemoryMiB} MiB", "give the node more memory");
    }

    private static void CheckSwap(HostFacts facts, Checks run)
    {
        if (!facts.SwapOn)
        {
            run.Ok("Swap", "swap is off");
            return;
        }
        var fstab = facts.Fstab is null ? null : CommentOutSwap(facts.Fstab);
        var persist = fstab is not null && fstab != facts.Fstab
            ? " and comment out swap in /etc/fstab"
            : " (swap is not in /etc/fstab: also disable the unit that enables it, e.g. zram)";
        run.Fixable("Swap", $"swap is on ({string.Join(", ", facts.SwapAreas)}): the kubelet refuses to start with swap",
            "swapoff -a" + persist,
            plan =>
            {
                plan.Swap.Add(new RunFixStep(new CommandSpec("swapoff", "-a")));
                if (fstab is not null && fstab != facts.Fstab) plan.Swap.Add(new WriteFixStep("/etc/fstab", fstab, HostExtensions.Mode0644));
            });
    }

    /// <summary>/etc/fstab with every active swap line commented out, everything else byte for byte.</summary>
    internal static string CommentOutSwap(string fstab)
    {
        var lines = fstab.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var fields = lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 3 && !fields[0].StartsWith('#') && fields[2] == "swap") lines[i] = "#" + lines[i];
        }
        return string.Join('\n', lines);
    }

    private static void CheckKernel(HostFacts facts, Checks run)
    {
        const string bridgeCheck = "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables";
        switch (facts.BrNetfilter)
        {
            case KernelFeatureState.Missing:
                run.Fail(bridgeCheck, $"the kernel ({facts.KernelRelease}) has no br_netfilter, built in or as a module: Service traffic across the pod bridge would bypass iptables",
                    "use a kernel with CONFIG_BRIDGE_NETFILTER");
                break;
            case KernelFeatureState.Loadable:
                run.Fixable(bridgeCheck, "br_netfilter is not loaded: Service traffic across the pod bridge would bypass iptables",
                    $"modprobe br_netfilter, persist in {ModulesFile}, set net.bridge.bridge-nf-call-iptables=1 in {SysctlFile}",
                    plan =>
                    {
                        plan.LoadModule("br_netfilter");
                        plan.SetSysctl("net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1");
                    }, kernelSetting: true);
                break;
            default:
                if (facts.BridgeNfCallIptables == 1) run.Ok(bridgeCheck, "net.bridge.bridge-nf-call-iptables = 1");
                else run.Fixable(bridgeCheck, $"net.bridge.bridge-nf-call-iptables is {facts.BridgeNfCallIptables?.ToString() ?? "unreadable"}, must be 1",
                    $"sysctl -w and persist in {SysctlFile}",
                    plan => plan.SetSysctl("net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1"), kernelSetting: true);
                break;
        }

        const string forwardCheck = "FileContent--proc-sys-net-ipv4-ip_forward";
        if (facts.IpForward == 1) run.Ok(forwardCheck, "net.ipv4.ip_forward = 1");
        else run.Fixable(forwardCheck, $"net.ipv4.ip_forward is {facts.IpForward?.ToString() ?? "unreadable"}, must be 1 for pod traffic to leave the node",
            $"sysctl -w and persist in {SysctlFile}",
            plan => plan.SetSysctl("net.ipv4.ip_forward=1"), kernelSetting: true);

        const string overlayCheck = "KernelModule-overlay";
        switch (facts.Overlay)
        {
            case KernelFeatureState.Loaded:
                run.Ok(overlayCheck, "overlay filesystem available");
                break;
            case KernelFeatureState.Loadable:
                run.Fixable(overlayCheck, "overlay is not loaded: containerd's overlayfs snapshotter needs it",
                    $"modprobe overlay, persist in {ModulesFile}", plan => plan.LoadModule("overlay"), kernelSetting: true);
                break;
            default:
                run.Fail(overlayCheck, $"the kernel ({facts.KernelRelease}) has no overlay filesystem: containerd's overlayfs snapshotter needs it",
                    "use a kernel with CONFIG_OVERLAY_FS");
                break;
        }
    }

    private static void CheckPorts(HostFacts facts, PreflightOptions options, Checks run)
    {
        // A worker runs only the kubelet; a control plane runs everything kubeadm puts there.
        IEnumerable<(int Port, string Owner)> ports = options.Role.IsControlPlane()
            ? HostProbe.KubernetesPorts.Select(p => (p.Key == 6443 ? options.ApiServerPort : p.Key, p.Value))
            : [(10250, HostProbe.KubernetesPorts[10250])];
        foreach (var (port, owner) in ports.OrderBy(p => p.Port))
        {
            if (facts.ListeningPorts.Contains(port))
                run.Fail($"Port-{port}", $"port {port} ({owner}) is in use",
                    "stop what listens there (ss -ltnp), or run airgap reset if it is an earlier cluster");
            else
                run.Ok($"Port-{port}", $"port {port} is free");
        }
    }

    private static void CheckExistingCluster(HostFacts facts, PreflightOptions options, Checks run)
    {
        foreach (var path in facts.ExistingClusterFiles)
            run.Fail("FileAvailable-" + path.Replace('/', '-'), $"{path} already exists: kubeadm ran on this node before",
                "run airgap reset first");
        if (options.Role.IsControlPlane() && facts.EtcdDataPresent)
            run.Fail("DirAvailable--var-lib-etcd", $"{HostProbe.EtcdDataDirectory} is not empty: an earlier etcd's data is there",
                "run airgap reset first");
    }

    private static void CheckPeers(HostFacts facts, PreflightOptions options, Checks run)
    {
        if (options.Peers.Count == 0) return;

        var sameName = options.Peers.Where(p => string.Equals(p.Facts.Hostname, facts.Hostname, StringComparison.OrdinalIgnoreCase)).ToList();
        if (sameName.Count > 0)
            run.Fail("DuplicateHostname", $"host name {facts.Hostname} is also the host name of {Names(sameName)}: node names must be unique",
                "give each node its own host name");
        else
            run.Ok("DuplicateHostname", "host name is unique among peers");

        var macs = RealMacs(facts);
        var sameMac = options.Peers.Where(p => RealMacs(p.Facts).Overlaps(macs)).ToList();
        if (sameMac.Count > 0)
        {
            var shared = sameMac.SelectMany(p => RealMacs(p.Facts).Intersect(macs)).Distinct().Order(StringComparer.Ordinal);
            run.Fail("DuplicateMAC", $"MAC {string.Join(", ", shared)} is also on {Names(sameMac)}: cloned machines need new MACs",
                "regenerate the network interfaces' MAC addresses");
        }
        else
        {
            run.Ok("DuplicateMAC", "MAC addresses are unique among peers");
        }

        if (facts.ProductUuid is { } uuid)
        {
            var sameUuid = options.Peers.Where(p => string.Equals(p.Facts.ProductUuid, uuid, StringComparison.OrdinalIgnoreCase)).ToList();
            if (sameUuid.Count > 0)
                run.Fail("DuplicateProductUUID", $"product_uuid {uuid} is also that of {Names(sameUuid)}: cloned machines need new ones",
                    "give each VM its own UUID");
            else
                run.Ok("DuplicateProductUUID", "product_uuid is unique among peers");
        }

        if (facts.MachineId is { } machineId)
        {
            var sameId = options.Peers.Where(p => string.Equals(p.Facts.MachineId, machineId, StringComparison.OrdinalIgnoreCase)).ToList();
            if (sameId.Count > 0)
                run.Fail("DuplicateMachineID", $"/etc/machine-id {machineId} is also that of {Names(sameId)}: cloned machines need new ones",
                    "rm /etc/machine-id && systemd-machine-id-setup, then reboot");
            else
                run.Ok("DuplicateMachineID", "/etc/machine-id is unique among peers");
        }

        static string Names(IEnumerable<PeerFacts> peers) => string.Join(", ", peers.Select(p => p.Name));
    }

    private static HashSet<string> RealMacs(HostFacts facts) =>
        facts.Interfaces
            .Where(i => !VirtualInterfacePrefixes.Any(p => i.Name.StartsWith(p, StringComparison.Ordinal)))
            .Select(i => i.Mac)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

    private static void CheckOs(HostFacts facts, Checks run)
    {
        var os = facts.Os is null ? "unknown OS (no /etc/os-release)" : $"{facts.Os.PrettyName}: profile {facts.Os.Profile}";
        if (facts.PackageManager == PackageManagerKind.None)
            run.Warn("OsProfile", $"{os}, no dpkg or rpm: binaries and systemd units are installed instead of packages");
        else
            run.Info("OsProfile", $"{os}, packages with {facts.PackageManager.ToString().ToLowerInvariant()}");
    }

    private static void CheckTimeSync(HostFacts facts, Checks run)
    {
        if (facts.TimeSync is { } daemon)
            run.Ok("TimeSync", $"{daemon} keeps the clock in step");
        else
            run.Warn("TimeSync", "no time synchronisation daemon runs (chronyd, ntpd, systemd-timesyncd); certificates and etcd need node clocks in step: point one at an NTP server inside the isolated network");
    }

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    /// <summary>Collects results and the repair plan; applies --ignore-preflight-errors and --fix.</summary>
    private sealed class Checks(PreflightOptions options)
    {
        public List<PreflightResult> Results { get; } = [];
        private readonly FixPlan plan = new();

        public void Ok(string name, string message) => Results.Add(new PreflightResult(name, PreflightStatus.Ok, message));
        public void Info(string name, string message) => Results.Add(new PreflightResult(name, PreflightStatus.Info, message));
        public void Warn(string name, string message) => Results.Add(new PreflightResult(name, PreflightStatus.Warn, message));

        /// <summary>An error, unless ignored; kubeadm turns ignored errors into warnings, and so do we.</summary>
        public void Fail(string name, string message, string fix)
        {
            var ignored = options.Ignore.Ignores(name);
            Results.Add(new PreflightResult(name, ignored ? PreflightStatus.Warn : PreflightStatus.Error,
                ignored ? message + " (ignored)" : message) { Fix = fix });
        }

        /// <summary>Repaired (planned) under --fix; otherwise an error that says --fix repairs it.</summary>
        public void Fixable(string name, string message, string fix, Action<FixPlan> addSteps, bool kernelSetting = false)
        {
            if (!options.Fix && !(kernelSetting && options.FixKernelSettings))
            {
                Fail(name, message, FixPrefix + fix);
                return;
            }
            addSteps(plan);
            Results.Add(new PreflightResult(name, PreflightStatus.Fixed, message) { Fix = fix });
        }

        public IReadOnlyList<FixStep> Plan() => plan.Steps();
    }

    /// <summary>
    /// Fix steps in the order they must run: modules before the sysctls they create, runtime
    /// settings before the files that keep them across reboots; each file written once.
    /// </summary>
    private sealed class FixPlan
    {
        private readonly SortedSet<string> modules = new(StringComparer.Ordinal);
        private readonly SortedSet<string> sysctls = new(StringComparer.Ordinal);
        public List<FixStep> Swap { get; } = [];

        public void LoadModule(string name) => modules.Add(name);

        public void SetSysctl(params string[] settings)
        {
            foreach (var s in settings) sysctls.Add(s);
        }

        public IReadOnlyList<FixStep> Steps()
        {
            var steps = new List<FixStep>();
            foreach (var module in modules) steps.Add(new RunFixStep(new CommandSpec("modprobe", module)));
            if (modules.Count > 0) steps.Add(new WriteFixStep(ModulesFile, ModulesContent, HostExtensions.Mode0644));
            if (sysctls.Count > 0)
            {
                steps.Add(new RunFixStep(new CommandSpec("sysctl", ["-w", .. sysctls])));
                steps.Add(new WriteFixStep(SysctlFile, SysctlContent, HostExtensions.Mode0644));
            }
            steps.AddRange(Swap);
            return steps;
        }
    }
}
