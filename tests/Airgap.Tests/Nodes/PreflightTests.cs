using Airgap.Nodes;
using Airgap.Releases;

namespace Airgap.Tests.Nodes;

public sealed class PreflightTests
{
    private static PreflightResult Result(PreflightReport report, string name) => report.Results.Single(r => r.Name == name);

    [Fact]
    public void A_healthy_node_passes_with_no_fix_plan()
    {
        var report = Preflight.Run(NodeFixtures.Healthy(), new PreflightOptions());

        Assert.True(report.Passed);
        Assert.Empty(report.FixPlan);
        Assert.DoesNotContain(report.Results, r => r.Status is PreflightStatus.Error or PreflightStatus.Warn);
        report.EnsurePassed();
    }

    [Fact]
    public void A_node_without_a_time_daemon_gets_a_warning_not_an_error()
    {
        var report = Preflight.Run(NodeFixtures.Healthy() with { TimeSync = null }, new PreflightOptions());

        Assert.True(report.Passed);
        var warning = Assert.Single(report.Results, r => r.Status == PreflightStatus.Warn);
        Assert.Equal("TimeSync", warning.Name);
        Assert.Contains("NTP server inside the isolated network", warning.Message);
    }

    [Fact]
    public async Task A_running_time_daemon_is_found_by_its_process_name()
    {
        var host = NodeFixtures.LabHost().File("/proc/812/comm", "systemd-timesyn\n").File("/proc/77/comm", "bash\n");
        Assert.Equal("systemd-timesyncd", (await HostProbe.ProbeAsync(host, default)).TimeSync);
        Assert.Null((await HostProbe.ProbeAsync(NodeFixtures.LabHost(), default)).TimeSync);
    }

    [Fact]
    public async Task Kernel_settings_are_repaired_by_default_but_swap_only_with_fix()
    {
        var facts = await HostProbe.ProbeAsync(NodeFixtures.LabHost(), default);
        var report = Preflight.Run(facts, new PreflightOptions { KubernetesVersion = KubernetesVersion.Parse("v1.20.2") });
        Assert.True(report.Passed);
        Assert.Equal(PreflightStatus.Fixed, Result(report, "FileContent--proc-sys-net-ipv4-ip_forward").Status);
        Assert.Contains(report.FixPlan, s => s.Text.Contains("net.ipv4.ip_forward=1"));
        Assert.DoesNotContain(report.FixPlan, s => s.Text.Contains("swapoff"));
    }

    [Fact]
    public async Task The_lab_host_needs_ip_forward_and_says_why_it_uses_cgroupfs_and_restrict_oom_score_adj()
    {
        var facts = await HostProbe.ProbeAsync(NodeFixtures.LabHost(), default);
        var report = Preflight.Run(facts, new PreflightOptions { KubernetesVersion = KubernetesVersion.Parse("v1.20.2"), FixKernelSettings = false });

        Assert.Equal(["FileContent--proc-sys-net-ipv4-ip_forward"], report.Errors.Select(e => e.Name));
        Assert.Equal(PreflightStatus.Info, Result(report, "InitSystem").Status);
        Assert.Contains("cgroupfs", Result(report, "InitSystem").Message);
        Assert.Contains("process_api", Result(report, "InitSystem").Message);
        Assert.Contains("restrict_oom_score_adj = true", Result(report, "CapSysResource").Message);
        Assert.Contains("profile debian-12", Result(report, "OsProfile").Message);

        var error = Assert.Throws<AirgapException>(report.EnsurePassed);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("[FileContent--proc-sys-net-ipv4-ip_forward] net.ipv4.ip_forward is 0, must be 1", error.Message);
        Assert.Contains("--fix repairs FileContent--proc-sys-net-ipv4-ip_forward", error.Message);
        Assert.Contains("--ignore-preflight-errors=FileContent--proc-sys-net-ipv4-ip_forward", error.Message);
    }

    [Fact]
    public async Task A_used_server_reports_each_kubeadm_leftover_port_and_resource_problem()
    {
        var facts = await HostProbe.ProbeAsync(NodeFixtures.UsedServer(), default);
        var report = Preflight.Run(facts, new PreflightOptions { KubernetesVersion = KubernetesVersion.Parse("v1.20.2"), FixKernelSettings = false });

        Assert.Equal(
        [
            "IsPrivilegedUser",
            "Mem",
            "Swap",
            "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables",
            "Port-2379",
            "Port-6443",
            "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml",
            "FileAvailable--etc-kubernetes-admin.conf",
            "DirAvailable--var-lib-etcd",
        ], report.Errors.Select(e => e.Name));
        Assert.Contains("run airgap reset", Result(report, "DirAvailable--var-lib-etcd").Fix);
        Assert.Equal("port 6443 (kube-apiserver) is in use", Result(report, "Port-6443").Message);
        Assert.Equal(PreflightStatus.Warn, Result(report, "CgroupsV2").Status);
        Assert.Equal(PreflightStatus.Ok, Result(report, "NumCPU").Status);
    }

    [Fact]
    public void Control_plane_minimums_are_two_cpus_and_1700_mib_and_do_not_apply_to_workers()
    {
        var small = NodeFixtures.Healthy() with { CpuCount = 1, MemoryMiB = 1699 };

        var controlPlane = Preflight.Run(small, new PreflightOptions());
        Assert.Equal(["NumCPU", "Mem"], controlPlane.Errors.Select(e => e.Name));

        var worker = Preflight.Run(small, new PreflightOptions { Role = NodeRole.Worker });
        Assert.True(worker.Passed);

        var enough = Preflight.Run(small with { CpuCount = 2, MemoryMiB = 1700 }, new PreflightOptions());
        Assert.True(enough.Passed);
    }

    [Fact]
    public void Workers_check_only_the_kubelet_port_and_not_etcd_data()
    {
        var busy = NodeFixtures.Healthy() with { ListeningPorts = [6443, 2379, 10250], EtcdDataPresent = true };

        var worker = Preflight.Run(busy, new PreflightOptions { Role = NodeRole.Worker });
        Assert.Equal(["Port-10250"], worker.Errors.Select(e => e.Name));

        var joining = Preflight.Run(busy, new PreflightOptions { Role = NodeRole.JoinControlPlane, ApiServerPort = 8443 });
        Assert.Equal(["Port-2379", "Port-10250", "DirAvailable--var-lib-etcd"], joining.Errors.Select(e => e.Name));
        Assert.Contains(joining.Results, r => r.Name == "Port-8443" && r.Status == PreflightStatus.Ok);
    }

    [Fact]
    public void Ignored_errors_become_warnings_case_insensitively()
    {
        var facts = NodeFixtures.Healthy() with { ListeningPorts = [6443], CpuCount = 1 };
        var report = Preflight.Run(facts, new PreflightOptions { Ignore = IgnoredPreflightErrors.Parse("port-6443, NUMCPU") });

        Assert.True(report.Passed);
        Assert.Equal(PreflightStatus.Warn, Result(report, "Port-6443").Status);
        Assert.EndsWith("(ignored)", Result(report, "NumCPU").Message);
    }

    [Fact]
    public void All_ignores_every_error_and_must_stand_alone()
    {
        var facts = NodeFixtures.Healthy() with { ListeningPorts = [6443], IsRoot = false, SwapAreas = ["/swapfile"] };
        var report = Preflight.Run(facts, new PreflightOptions { Ignore = IgnoredPreflightErrors.Parse(["all"]) });
        Assert.True(report.Passed);
        Assert.Equal(3, report.Results.Count(r => r.Status == PreflightStatus.Warn));

        var error = Assert.Throws<AirgapException>(() => IgnoredPreflightErrors.Parse(["all,Swap"]));
        Assert.Contains("don't name individual checks together with 'all'", error.Message);
    }

    [Fact]
    public void Fix_plans_module_loads_sysctls_and_swap_off_in_order_and_marks_them_fixed()
    {
        var facts = NodeFixtures.Healthy() with
        {
            BrNetfilter = KernelFeatureState.Loadable,
            BridgeNfCallIptables = null,
            IpForward = 0,
            Overlay = KernelFeatureState.Loadable,
            SwapAreas = ["/dev/sda3"],
            Fstab = "UUID=abc / ext4 defaults 0 1\nUUID=def none swap sw 0 0\n# UUID=old none swap sw 0 0\n",
        };

        var report = Preflight.Run(facts, new PreflightOptions { Fix = true });

        Assert.True(report.Passed);
        Assert.Equal(4, report.Results.Count(r => r.Status == PreflightStatus.Fixed));
        Assert.Equal(
        [
            "modprobe br_netfilter",
            "modprobe overlay",
            "write /etc/modules-load.d/k8s.conf (0644): overlay; br_netfilter",
            "sysctl -w net.bridge.bridge-nf-call-ip6tables=1 net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1",
            "write /etc/sysctl.d/k8s.conf (0644): net.bridge.bridge-nf-call-iptables = 1; net.bridge.bridge-nf-call-ip6tables = 1; net.ipv4.ip_forward = 1",
            "swapoff -a",
            "write /etc/fstab (0644): UUID=abc / ext4 defaults 0 1; #UUID=def none swap sw 0 0; # UUID=old none swap sw 0 0",
        ], report.FixPlan.Select(s => s.Text));
    }

    [Fact]
    public async Task The_fix_plan_runs_through_the_host()
    {
        var facts = NodeFixtures.Healthy() with { IpForward = 0 };
        var report = Preflight.Run(facts, new PreflightOptions { Fix = true });
        var host = new FakeHost();

        foreach (var step in report.FixPlan) await step.ApplyAsync(host, default);

        Assert.Equal("sysctl -w net.ipv4.ip_forward=1", Assert.Single(host.Commands).DisplayLine);
        Assert.Equal(Preflight.SysctlContent, host.Text(Preflight.SysctlFile));
    }

    [Fact]
    public void Without_fix_a_fixable_failure_is_an_error_that_names_the_fix()
    {
        var report = Preflight.Run(NodeFixtures.Healthy() with { SwapAreas = ["/swapfile"], Fstab = null }, new PreflightOptions());

        var swap = Result(report, "Swap");
        Assert.Equal(PreflightStatus.Error, swap.Status);
        Assert.StartsWith("--fix: swapoff -a (swap is not in /etc/fstab", swap.Fix);
        Assert.Empty(report.FixPlan);
    }

    [Fact]
    public void Missing_kernel_features_are_errors_even_with_fix()
    {
        var facts = NodeFixtures.Healthy() with { BrNetfilter = KernelFeatureState.Missing, BridgeNfCallIptables = null, Overlay = KernelFeatureState.Missing };
        var report = Preflight.Run(facts, new PreflightOptions { Fix = true });

        Assert.Equal(["FileContent--proc-sys-net-bridge-bridge-nf-call-iptables", "KernelModule-overlay"], report.Errors.Select(e => e.Name));
        Assert.Empty(report.FixPlan);
    }

    [Fact]
    public void Duplicates_across_peers_are_named_with_the_peer()
    {
        var me = NodeFixtures.Healthy();
        var clone = me with { Hostname = "NODE1", Interfaces = [new NetworkInterfaceFacts("ens3", "52:54:00:00:00:01"), new NetworkInterfaceFacts("cni0", "aa:bb:cc:dd:ee:ff")] };
        var other = me with
        {
            Hostname = "node2",
            ProductUuid = "99999999-2222-3333-4444-555555555555",
            // Same bridge MAC as mine would be meaningless: virtual interfaces are not compared.
            Interfaces = [new NetworkInterfaceFacts("eth0", "52:54:00:00:00:02"), new NetworkInterfaceFacts("cni0", "aa:bb:cc:dd:ee:ff")],
        };
        me = me with { Interfaces = [.. me.Interfaces, new NetworkInterfaceFacts("cni0", "aa:bb:cc:dd:ee:ff")] };

        var report = Preflight.Run(me, new PreflightOptions { Peers = [new PeerFacts("10.0.0.2", clone), new PeerFacts("10.0.0.3", other)] });

        Assert.Equal(["DuplicateHostname", "DuplicateMAC", "DuplicateProductUUID"], report.Errors.Select(e => e.Name));
        Assert.Contains("10.0.0.2", Result(report, "DuplicateHostname").Message);
        Assert.DoesNotContain("10.0.0.3", Result(report, "DuplicateMAC").Message);
        Assert.Contains("52:54:00:00:00:01", Result(report, "DuplicateMAC").Message);
    }

    [Fact]
    public void Host_names_must_make_valid_node_names()
    {
        var report = Preflight.Run(NodeFixtures.Healthy() with { Hostname = "my_node" }, new PreflightOptions());
        Assert.Equal(["Hostname"], report.Errors.Select(e => e.Name));
        Assert.True(Preflight.Run(NodeFixtures.Healthy() with { Hostname = "Node-1.example" }, new PreflightOptions()).Passed);
    }

    [Fact]
    public void A_host_without_dpkg_or_rpm_gets_a_warning_not_an_error()
    {
        var report = Preflight.Run(NodeFixtures.Healthy() with { PackageManager = PackageManagerKind.None }, new PreflightOptions());
        Assert.True(report.Passed);
        Assert.Equal(PreflightStatus.Warn, Result(report, "OsProfile").Status);
    }

    [Fact]
    public void Fstab_swap_lines_are_commented_and_everything_else_kept()
    {
        const string fstab = "# /etc/fstab\nUUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n\n#/old none swap sw 0 0";
        Assert.Equal("# /etc/fstab\nUUID=1 / ext4 defaults 0 1\n#/swapfile none swap sw 0 0\n\n#/old none swap sw 0 0", Preflight.CommentOutSwap(fstab));
    }
}
