namespace Airgap.Nodes;

public enum CgroupDriver { Systemd, Cgroupfs }

public enum PackageManagerKind { None, Dpkg, Rpm }

/// <summary>Where a kernel feature stands: usable now (loaded or built in), loadable as a module, or absent.</summary>
public enum KernelFeatureState { Missing, Loadable, Loaded }

public static class CgroupDriverNames
{
    /// <summary>The spelling kubelet and containerd use.</summary>
    public static string ToConfigValue(this CgroupDriver driver) => driver == CgroupDriver.Systemd ? "systemd" : "cgroupfs";
}

/// <summary>/etc/os-release, reduced to what picks an OS profile.</summary>
public sealed record OsRelease(string Id, string VersionId, string PrettyName)
{
    /// <summary>
    /// The bundle's OS profile name: debian-12, ubuntu-22.04, rhel-9, rocky-9. Ubuntu keeps its
    /// full version because its point releases are separate distributions; the others use the major.
    /// </summary>
    public string Profile
    {
        get
        {
            if (VersionId.Length == 0) return Id;
            var version = Id == "ubuntu" ? VersionId : VersionId.Split('.')[0];
            return $"{Id}-{version}";
        }
    }

    public static OsRelease Parse(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var eq = line.IndexOf('=');
            if (line.StartsWith('#') || eq <= 0) continue;
            var value = line[(eq + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
                value = value[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            values[line[..eq]] = value;
        }
        return new OsRelease(
            values.GetValueOrDefault("ID", "linux").ToLowerInvariant(),
            values.GetValueOrDefault("VERSION_ID", ""),
            values.GetValueOrDefault("PRETTY_NAME", ""));
    }
}

public sealed record NetworkInterfaceFacts(string Name, string Mac);

/// <summary>
/// What the install must adapt to on one node, read by <see cref="HostProbe"/>. Decisions that
/// follow from the facts (cgroup driver, OOM score handling) live here so preflight, the runtime
/// config and the kubelet config cannot disagree.
/// </summary>
public sealed record HostFacts
{
    public required string Hostname { get; init; }

    /// <summary>The command name of PID 1 (/proc/1/comm).</summary>
    public required string Pid1 { get; init; }

    public bool SystemdIsInit => Pid1 == "systemd";

    /// <summary>1 or 2.</summary>
    public required int CgroupVersion { get; init; }

    public required bool IsRoot { get; init; }

    /// <summary>CAP_SYS_RESOURCE is in the bounding set; without it containerd cannot lower OOM scores for pods.</summary>
    public required bool HasCapSysResource { get; init; }

    /// <summary>Active swap areas from /proc/swaps.</summary>
    public required IReadOnlyList<string> SwapAreas { get; init; }

    public bool SwapOn => SwapAreas.Count > 0;

    /// <summary>/etc/fstab as read, so turning swap off for good can be planned as a file write.</summary>
    public string? Fstab { get; init; }

    public required KernelFeatureState BrNetfilter { get; init; }

    /// <summary>net.bridge.bridge-nf-call-iptables, or null while br_netfilter is not loaded.</summary>
    public int? BridgeNfCallIptables { get; init; }

    public int? IpForward { get; init; }

    public required KernelFeatureState Overlay { get; init; }

    public required int CpuCount { get; init; }

    public required long MemoryMiB { get; init; }

    /// <summary>/sys/class/dmi/id/product_uuid, or null where there is none (containers, some VMs) or it is unreadable.</summary>
    public string? ProductUuid { get; init; }

    /// <summary>/etc/machine-id, or null where there is none; unique per installed system, so clones show up even without a product_uuid.</summary>
    public string? MachineId { get; init; }

    /// <summary>Interfaces with a MAC, loopback excluded.</summary>
    public required IReadOnlyList<NetworkInterfaceFacts> Interfaces { get; init; }

    public OsRelease? Os { get; init; }

    public required PackageManagerKind PackageManager { get; init; }

    public string KernelRelease { get; init; } = "";

    /// <summary>TCP ports in LISTEN state on any address, IPv4 or IPv6, ascending.</summary>
    public required IReadOnlyList<int> ListeningPorts { get; init; }

    /// <summary>Files an earlier kubeadm init or join left (static pod manifests, kubeconfigs, the cluster CA).</summary>
    public required IReadOnlyList<string> ExistingClusterFiles { get; init; }

    /// <summary>/var/lib/etcd exists and is not empty.</summary>
    public required bool EtcdDataPresent { get; init; }

    /// <summary>The time synchronisation daemon found running (chronyd, ntpd, systemd-timesyncd…), or null for none.</summary>
    public string? TimeSync { get; init; }

    /// <summary>
    /// Without systemd as PID 1 there is no systemd to delegate cgroups to, so both containerd and
    /// the kubelet must manage cgroupfs directly; with systemd, the single-writer rule asks for systemd.
    /// </summary>
    public CgroupDriver CgroupDriver => SystemdIsInit ? CgroupDriver.Systemd : CgroupDriver.Cgroupfs;

    /// <summary>containerd must not try to lower oom_score_adj below its own, or runc fails every sandbox.</summary>
    public bool RestrictOomScoreAdj => !HasCapSysResource;
}
