using Airgap.Nodes;

namespace Airgap.Tests.Nodes;

/// <summary>Hosts as procfs/sysfs/etc files, copied in shape from real machines.</summary>
internal static class NodeFixtures
{
    /// <summary>Shaped like the lab machine: Debian 12, PID 1 not systemd, no CAP_SYS_RESOURCE, cgroup v1, br_netfilter built in, ip_forward off.</summary>
    public static FakeHost LabHost() => new FakeHost("lab")
        .File("/proc/1/comm", "process_api\n")
        .File("/proc/self/status", """
            Name:	cat
            Umask:	0022
            State:	R (running)
            Uid:	0	0	0	0
            Gid:	0	0	0	0
            CapInh:	0000000000000000
            CapPrm:	000001fffeffffff
            CapEff:	000001fffeffffff
            CapBnd:	000001fffeffffff
            CapAmb:	0000000000000000
            Cpus_allowed:	3
            Cpus_allowed_list:	0-1
            """)
        .File("/proc/sys/kernel/hostname", "vm\n")
        .File("/proc/sys/kernel/osrelease", "6.18.44-fc-v595\n")
        .File("/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")
        .File("/etc/fstab", "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n")
        .File("/proc/sys/net/bridge/bridge-nf-call-iptables", "1\n")
        .File("/proc/sys/net/bridge/bridge-nf-call-ip6tables", "1\n")
        .File("/proc/sys/net/ipv4/ip_forward", "0\n")
        .File("/proc/filesystems", "nodev\tsysfs\nnodev\ttmpfs\n\text4\nnodev\toverlay\n")
        .File("/sys/devices/system/cpu/online", "0-1\n")
        .File("/proc/meminfo", "MemTotal:       24684096 kB\nMemFree:        20000000 kB\n")
        .File("/sys/class/net/eth0/address", "02:fc:00:00:00:01\n")
        .File("/sys/class/net/ifb0/address", "36:d8:41:36:9b:41\n")
        .File("/sys/class/net/lo/address", "00:00:00:00:00:00\n")
        .File("/etc/os-release", """
            PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
            NAME="Debian GNU/Linux"
            VERSION_ID="12"
            VERSION="12 (bookworm)"
            VERSION_CODENAME=bookworm
            ID=debian
            """)
        .File("/var/lib/dpkg/status", "Package: base-files\n")
        .File("/proc/net/tcp", """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:9A9B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 45534 1 0000000060afa335 100 0 0 10 0
               3: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 35 1 00000000a51cb061 100 0 0 10 0
               4: 0100007F:07E8 0100007F:9A9B 01 00000000:00000000 00:00000000 00000000     0        0 36 1 00000000a51cb061 100 0 0 10 0
            """)
        .File("/proc/net/tcp6", """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0000000000000000FFFF00000100007F:CCE2 0000000000000000FFFF00000100007F:8F19 06 00000000:00000000 03:00000B80 00000000     0        0 0 3 000000002a5fea3f
            """);

    /// <summary>A systemd server that ran kubeadm before: cgroup v2, swap on, br_netfilter only as a module, 6443 and 2379 taken, Rocky 9.</summary>
    public static FakeHost UsedServer() => new FakeHost("server")
        .File("/proc/1/comm", "systemd\n")
        .File("/proc/self/status", "Uid:\t1000\t1000\t1000\t1000\nCapBnd:\t000001ffffffffff\nCpus_allowed_list:\t0-3,6\n")
        .File("/proc/sys/kernel/hostname", "Node-1\n")
        .File("/proc/sys/kernel/osrelease", "5.14.0-362.el9.x86_64\n")
        .File("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n")
        .File("/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda3                               partition\t4194300\t\t0\t\t-2\n")
        .File("/etc/fstab", "UUID=abc /     xfs  defaults 0 0\nUUID=def none  swap defaults 0 0\n#UUID=old none swap defaults 0 0\n")
        .File("/lib/modules/5.14.0-362.el9.x86_64/modules.dep",
            "kernel/net/bridge/br_netfilter.ko.xz: kernel/net/bridge/bridge.ko.xz kernel/net/802/stp.ko.xz\nkernel/net/bridge/bridge.ko.xz: kernel/net/802/stp.ko.xz\n")
        .File("/lib/modules/5.14.0-362.el9.x86_64/modules.builtin", "kernel/fs/overlayfs/overlay.ko\nkernel/fs/ext4/ext4.ko\n")
        .File("/proc/sys/net/ipv4/ip_forward", "1\n")
        .File("/proc/filesystems", "nodev\tsysfs\n\txfs\n")
        .File("/proc/meminfo", "MemTotal:        1530000 kB\n")
        .File("/sys/class/dmi/id/product_uuid", "4C4C4544-0042-3510-8052-B4C04F4E4B32\n")
        .File("/sys/class/net/eth0/address", "52:54:00:12:34:56\n")
        .File("/sys/class/net/cni0/address", "0a:58:0a:f4:00:01\n")
        .File("/usr/lib/os-release", "NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n")
        .Directory("/var/lib/rpm")
        .File("/proc/net/tcp", """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:094B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 45534 1 0000000060afa335 100 0 0 10 0
            """)
        .File("/proc/net/tcp6", """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000000000000000000000000000:192B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 000000002a5fea3f
            """)
        .File("/etc/kubernetes/manifests/kube-apiserver.yaml", "apiVersion: v1\nkind: Pod\n")
        .File("/etc/kubernetes/manifests/.kube-apiserver.yaml.swp", "")
        .File("/etc/kubernetes/admin.conf", "apiVersion: v1\n")
        .Directory("/var/lib/etcd/member");

    /// <summary>A node with nothing to complain about, for checks to be broken one at a time.</summary>
    public static HostFacts Healthy() => new()
    {
        Hostname = "node1",
        TimeSync = "chronyd",
        Pid1 = "systemd",
        CgroupVersion = 2,
        IsRoot = true,
        HasCapSysResource = true,
        SwapAreas = [],
        Fstab = "UUID=abc / ext4 defaults 0 1\n",
        BrNetfilter = KernelFeatureState.Loaded,
        BridgeNfCallIptables = 1,
        IpForward = 1,
        Overlay = KernelFeatureState.Loaded,
        CpuCount = 4,
        MemoryMiB = 8000,
        ProductUuid = "11111111-2222-3333-4444-555555555555",
        Interfaces = [new NetworkInterfaceFacts("eth0", "52:54:00:00:00:01")],
        Os = new OsRelease("debian", "12", "Debian GNU/Linux 12 (bookworm)"),
        PackageManager = PackageManagerKind.Dpkg,
        KernelRelease = "6.1.0-18-amd64",
        ListeningPorts = [22],
        ExistingClusterFiles = [],
        EtcdDataPresent = false,
    };
}
