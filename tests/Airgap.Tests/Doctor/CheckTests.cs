using Airgap.Doctor;
using Airgap.Doctor.Checks;
using Airgap.Nodes;

namespace Airgap.Tests.Doctor;

/// <summary>Checks and parsers on their own, on recorded output changed only where the lab cannot produce the state (swap, a full disk).</summary>
public sealed class CheckTests
{
    private static Task<CheckResult> Run(IDoctorCheck check, IHost host, DoctorBundle? bundle = null, TimeProvider? clock = null) =>
        check.RunAsync(new DoctorContext(host, bundle, clock), CancellationToken.None);

    [Fact]
    public async Task Swap_on_fails_and_the_repair_turns_it_off_and_comments_it_out_of_fstab()
    {
        var host = RecordedNode.Load("healthy")
            .File("/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/swapfile                               file\t\t2097148\t0\t-2\n")
            .File("/etc/fstab", "UUID=abc / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n");
        var result = await Run(new SwapCheck(), host);
        Assert.Equal(CheckStatus.Fail, result.Status);
        Assert.Contains("/swapfile", result.Message);
        foreach (var step in result.Repair) await step.ApplyAsync(host, CancellationToken.None);
        Assert.Equal("swapoff -a", host.Commands.Last().DisplayLine);
        Assert.Equal("UUID=abc / ext4 defaults 0 1\n#/swapfile none swap sw 0 0\n", host.Text("/etc/fstab"));
    }

    [Fact]
    public async Task Bridge_netfilter_and_forwarding_off_fail_with_the_sysctl_repair()
    {
        var host = RecordedNode.Load("healthy").File("/proc/sys/net/bridge/bridge-nf-call-iptables", "0\n").File("/proc/sys/net/ipv4/ip_forward", "0\n");
        var bridge = await Run(new BridgeNetfilterCheck(), host);
        var forward = await Run(new IpForwardCheck(), host);
        Assert.Equal((CheckStatus.Fail, CheckStatus.Fail), (bridge.Status, forward.Status));
        Assert.Contains(forward.Repair, s => s.Text.StartsWith("sysctl -w", StringComparison.Ordinal) && s.Text.Contains("net.ipv4.ip_forward=1", StringComparison.Ordinal));
        Assert.Contains(forward.Repair, s => s is WriteFixStep { Path: Preflight.SysctlFile });
    }

    [Fact]
    public async Task Recorded_kernel_settings_of_the_lab_node_pass()
    {
        var host = RecordedNode.Load("healthy");
        Assert.Equal(CheckStatus.Ok, (await Run(new SwapCheck(), host)).Status);
        Assert.Equal(CheckStatus.Ok, (await Run(new BridgeNetfilterCheck(), host)).Status);
        Assert.Equal(CheckStatus.Ok, (await Run(new IpForwardCheck(), host)).Status);
    }

    [Fact]
    public void Disabled_plugins_are_read_and_cri_removed_keeping_the_others()
    {
        const string toml = "version = 2\ndisabled_plugins = [\"cri\", \"io.containerd.internal.v1.opt\"]\n\n[plugins]\n  x = 1\n";
        var (plugins, line) = ContainerdConfigFile.DisabledPlugins(toml);
        Assert.Equal(["cri", "io.containerd.internal.v1.opt"], plugins);
        Assert.Equal("disabled_plugins = [\"cri\", \"io.containerd.internal.v1.opt\"]", line);
        Assert.Equal("version = 2\ndisabled_plugins = [\"io.containerd.internal.v1.opt\"]\n\n[plugins]\n  x = 1\n", ContainerdConfigFile.EnableCri(toml));
        // Inside a table the key belongs to that table, not to containerd's top level.
        Assert.Empty(ContainerdConfigFile.DisabledPlugins("[plugins]\ndisabled_plugins = [\"cri\"]\n").Plugins);
    }

    [Fact]
    public void Docker_packages_config_with_cri_disabled_is_recognised()
    {
        // What containerd.io from Docker's repository installs as /etc/containerd/config.toml.
        const string toml = "#   Copyright 2018-2022 Docker Inc.\n\n#   Licensed under the Apache License\n\ndisabled_plugins = [\"cri\"]\n\n#root = \"/var/lib/containerd\"\n";
        Assert.Contains(ContainerdConfigFile.DisabledPlugins(toml).Plugins, ContainerdConfigFile.IsCri);
        Assert.Equal(CgroupDriver.Cgroupfs, ContainerdConfigFile.CgroupDriver(toml).Driver);
    }

    [Fact]
    public void Cgroup_drivers_are_read_from_the_recorded_configs()
    {
        Assert.Equal(CgroupDriver.Cgroupfs, KubeletConfigFile.CgroupDriver(RecordedNode.Read("healthy", "kubelet-config.yaml")).Driver);
        Assert.Equal(CgroupDriver.Systemd, KubeletConfigFile.CgroupDriver(RecordedNode.Read("cgroup-driver", "kubelet-config.yaml")).Driver);
        var (runtime, line) = ContainerdConfigFile.CgroupDriver(RecordedNode.Read("healthy", "containerd-config.toml"));
        Assert.Equal((CgroupDriver.Cgroupfs, "SystemdCgroup = false"), (runtime, line));
        Assert.Contains("SystemdCgroup = true", ContainerdConfigFile.SetCgroupDriver(RecordedNode.Read("healthy", "containerd-config.toml"), CgroupDriver.Systemd));
    }

    [Fact]
    public async Task Under_systemd_a_runtime_on_cgroupfs_is_the_one_changed()
    {
        var host = RecordedNode.Load("healthy").File("/proc/1/comm", "systemd\n")
            .File("/var/lib/kubelet/config.yaml", KubeletConfigFile.SetCgroupDriver(RecordedNode.Read("healthy", "kubelet-config.yaml"), CgroupDriver.Systemd));
        var result = await Run(new CgroupDriverCheck(), host);
        Assert.Equal(CheckStatus.Fail, result.Status);
        Assert.Contains("the kubelet uses systemd, containerd uses cgroupfs", result.Message);
        Assert.Contains(result.Repair, s => s is EditFixStep { Path: ContainerdConfig.DefaultPath, Change: "SystemdCgroup = true" });
        Assert.DoesNotContain(result.Repair, s => s is EditFixStep { Path: DoctorContext.KubeletConfig });
    }

    [Fact]
    public void Df_output_is_read()
    {
        var usage = ImageDiskCheck.ParseDf(RecordedNode.Read("healthy", "df.txt"));
        Assert.NotNull(usage);
        Assert.InRange(usage.Percent, 0, 100);
        Assert.Equal("/", usage.Mount);
    }

    [Fact]
    public async Task A_full_image_filesystem_fails()
    {
        var df = RecordedNode.Read("healthy", "df.txt");
        var usage = ImageDiskCheck.ParseDf(df)!;
        var full = df.Replace($" {usage.Percent}% ", " 91% ", StringComparison.Ordinal);
        var host = RecordedNode.Load("healthy");
        var inner = host.OnRun!;
        host.OnRun = spec => spec.File == "df" ? new CommandResult("vm", spec.DisplayLine, 0, TimeSpan.Zero, [], []) { Stdout = full } : inner(spec);
        var result = await Run(new ImageDiskCheck(), host);
        Assert.Equal(CheckStatus.Fail, result.Status);
        Assert.Contains("91% full", result.Message);
    }

    [Fact]
    public void Dpkg_query_lines_are_read_with_the_hold_flag()
    {
        var packages = PackagesCheck.Parse(RecordedNode.Read("healthy", "dpkg-query.txt"));
        Assert.Equal(new PackagesCheck.InstalledPackage("1.20.2-00", true), packages["kubelet"]);
        Assert.Equal(new PackagesCheck.InstalledPackage("1.20.2-00", true), packages["kubectl"]);
    }

    [Fact]
    public void Kubeadm_certificate_table_is_read()
    {
        var certs = CertificatesCheck.Parse(RecordedNode.Read("healthy", "kubeadm-certs.txt"));
        Assert.Contains(certs, c => c.Name == "apiserver");
        Assert.Contains(certs, c => c.Name == "ca");
        Assert.True(certs.Count >= 10);
    }

    [Fact]
    public void Link_names_come_from_ip_o_link()
    {
        var names = CniLeftoversCheck.LinkNames(RecordedNode.Read("healthy", "ip-link.txt"));
        Assert.Contains("lo", names);
        Assert.Contains("cni0", names);
        Assert.Contains("flannel.1", names);
    }

    [Fact]
    public void Pods_waiting_for_images_are_found_on_their_node_only()
    {
        var pods = System.Text.Json.Nodes.JsonNode.Parse(RecordedNode.Read("image-missing", "kubectl-get-pods.json"))!;
        var node = (string)System.Text.Json.Nodes.JsonNode.Parse(RecordedNode.Read("image-missing", "kubectl-get-nodes.json"))!["items"]![0]!["metadata"]!["name"]!;
        var waiting = MissingImagesCheck.WaitingForImages(pods, node);
        var web = Assert.Single(waiting);
        Assert.Equal(RecordedStateTests.WorkloadImage, web.Image);
        Assert.True(web.Owned);
        Assert.Empty(MissingImagesCheck.WaitingForImages(pods, "another-node"));
    }

    [Fact]
    public void Flannel_network_is_rewritten_keeping_the_backend()
    {
        var map = System.Text.Json.Nodes.JsonNode.Parse(RecordedNode.Read("healthy", "flannel-cm.json"))!;
        Assert.Equal("10.244.0.0/16", ClusterNetwork.FlannelNetwork(map));
        var patched = ClusterNetwork.WithNetwork((string)map["data"]!["net-conf.json"]!, "10.50.0.0/16");
        Assert.Contains("\"Network\": \"10.50.0.0/16\"", patched);
        Assert.Contains("vxlan", patched);
    }

    [Fact]
    public async Task A_node_without_a_pod_cidr_fails_as_flannel_would_pod_cidr_not_assigned()
    {
        var nodes = System.Text.Json.Nodes.JsonNode.Parse(RecordedNode.Read("healthy", "kubectl-get-nodes.json"))!;
        nodes["items"]![0]!["spec"]!.AsObject().Remove("podCIDR");
        nodes["items"]![0]!["spec"]!.AsObject().Remove("podCIDRs");
        var host = RecordedNode.Load("healthy");
        var inner = host.OnRun!;
        host.OnRun = spec => spec.File == "kubectl" && spec.Args.Contains("nodes")
            ? new CommandResult("vm", spec.DisplayLine, 0, TimeSpan.Zero, [], []) { Stdout = nodes.ToJsonString() } : inner(spec);
        var result = await Run(new PodCidrCheck(), host);
        Assert.Equal(CheckStatus.Fail, result.Status);
        Assert.Contains("has no podCIDR although the cluster's pod CIDR is 10.244.0.0/16", result.Message);
        Assert.Contains("--allocate-node-cidrs=true", result.Fix);
        Assert.Equal(CheckStatus.Ok, (await Run(new PodCidrCheck(), RecordedNode.Load("healthy"))).Status);
    }

    [Theory]
    [InlineData("10.244.0.0/16", "10.244.3.0/24", true)]
    [InlineData("10.244.0.0/16", "10.99.0.0/24", false)]
    [InlineData("10.244.0.0/16", "10.244.0.0/8", false)]
    public void Node_cidr_inside_the_cluster_cidr(string cluster, string node, bool inside) =>
        Assert.Equal(inside, PodCidrCheck.Contains(cluster, node));

    [Fact]
    public void Clock_offset_is_the_reading_against_the_middle_of_the_round_trip()
    {
        var before = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var offset = ClockOffset.FromReading("1800000045.500000000", before, before.AddSeconds(1))!;
        Assert.Equal(45.0, offset.Seconds!.Value, 3);
        Assert.Equal(0.5, offset.Uncertainty, 3);
        Assert.Null(ClockOffset.FromReading("date: invalid", before, before));
    }

    [Fact]
    public void Clocks_apart_between_nodes_warn_then_fail()
    {
        CheckResult Skew(double a, double b) => ClusterDoctor.ClockSkew([("node1", new ClockOffset(a, 0.01)), ("node2", new ClockOffset(b, 0.01))]);
        Assert.Equal(CheckStatus.Ok, Skew(0.1, -0.2).Status);
        Assert.Equal(CheckStatus.Warn, Skew(0, 5).Status);
        var apart = Skew(-20, 40);
        Assert.Equal(CheckStatus.Fail, apart.Status);
        Assert.Contains("node2 is 60.0 s ahead of node1", apart.Message);
        Assert.Equal(CheckStatus.Skip, ClusterDoctor.ClockSkew([("node1", new ClockOffset(null, 0, "no answer"))]).Status);
    }

    [Fact]
    public async Task A_check_that_throws_is_reported_not_fatal()
    {
        var doctor = new NodeDoctor(RecordedNode.Load("healthy"), null, [new Throwing(), new SwapCheck()]);
        var results = await doctor.CheckAsync(CancellationToken.None);
        Assert.Equal(CheckStatus.Warn, results[0].Status);
        Assert.Contains("could not check: boom", results[0].Message);
        Assert.Equal(CheckStatus.Ok, results[1].Status);
    }

    private sealed class Throwing : IDoctorCheck
    {
        public string Name => "throws";
        public string Description => "";
        public Task<CheckResult> RunAsync(DoctorContext context, CancellationToken ct) => throw new AirgapException("boom");
    }
}
