using Airgap.Nodes;

namespace Airgap.Tests.Nodes;

public sealed class HostProbeTests
{
    [Fact]
    public async Task Reads_the_lab_shape_pid1_not_systemd_no_cap_sys_resource_cgroup_v1()
    {
        var facts = await HostProbe.ProbeAsync(NodeFixtures.LabHost(), default);

        Assert.Equal("vm", facts.Hostname);
        Assert.Equal("process_api", facts.Pid1);
        Assert.False(facts.SystemdIsInit);
        Assert.Equal(CgroupDriver.Cgroupfs, facts.CgroupDriver);
        Assert.Equal(1, facts.CgroupVersion);
        Assert.True(facts.IsRoot);
        Assert.False(facts.HasCapSysResource);
        Assert.True(facts.RestrictOomScoreAdj);
        Assert.False(facts.SwapOn);
        Assert.Equal(KernelFeatureState.Loaded, facts.BrNetfilter);
        Assert.Equal(1, facts.BridgeNfCallIptables);
        Assert.Equal(0, facts.IpForward);
        Assert.Equal(KernelFeatureState.Loaded, facts.Overlay);
        Assert.Equal(2, facts.CpuCount);
        Assert.Equal(24105, facts.MemoryMiB);
        Assert.Null(facts.ProductUuid);
        Assert.Equal(["eth0", "ifb0"], facts.Interfaces.Select(i => i.Name));
        Assert.Equal("02:fc:00:00:00:01", facts.Interfaces[0].Mac);
        Assert.Equal("debian-12", facts.Os!.Profile);
        Assert.Equal(PackageManagerKind.Dpkg, facts.PackageManager);
        Assert.Equal([2024, 39579], facts.ListeningPorts);
        Assert.Empty(facts.ExistingClusterFiles);
        Assert.False(facts.EtcdDataPresent);
    }

    [Fact]
    public async Task Reads_a_used_systemd_server()
    {
        var facts = await HostProbe.ProbeAsync(NodeFixtures.UsedServer(), default);

        Assert.Equal("Node-1", facts.Hostname);
        Assert.True(facts.SystemdIsInit);
        Assert.Equal(CgroupDriver.Systemd, facts.CgroupDriver);
        Assert.Equal(2, facts.CgroupVersion);
        Assert.False(facts.IsRoot);
        Assert.True(facts.HasCapSysResource);
        Assert.False(facts.RestrictOomScoreAdj);
        Assert.Equal(["/dev/sda3"], facts.SwapAreas);
        Assert.Equal(KernelFeatureState.Loadable, facts.BrNetfilter);
        Assert.Null(facts.BridgeNfCallIptables);
        Assert.Equal(KernelFeatureState.Loaded, facts.Overlay); // built in
        Assert.Equal(5, facts.CpuCount);
        Assert.Equal(1494, facts.MemoryMiB);
        Assert.Equal("4c4c4544-0042-3510-8052-b4c04f4e4b32", facts.ProductUuid);
        Assert.Equal("rocky-9", facts.Os!.Profile);
        Assert.Equal(PackageManagerKind.Rpm, facts.PackageManager);
        Assert.Equal([2379, 6443], facts.ListeningPorts);
        Assert.Equal(["/etc/kubernetes/manifests/kube-apiserver.yaml", "/etc/kubernetes/admin.conf"], facts.ExistingClusterFiles);
        Assert.True(facts.EtcdDataPresent);
    }

    [Fact]
    public async Task A_bare_host_yields_conservative_facts()
    {
        var facts = await HostProbe.ProbeAsync(new FakeHost("bare"), default);

        Assert.Equal("bare", facts.Hostname);
        Assert.False(facts.SystemdIsInit);
        Assert.False(facts.IsRoot);
        Assert.False(facts.HasCapSysResource);
        Assert.Equal(KernelFeatureState.Missing, facts.BrNetfilter);
        Assert.Equal(KernelFeatureState.Missing, facts.Overlay);
        Assert.Null(facts.IpForward);
        Assert.Equal(1, facts.CpuCount);
        Assert.Null(facts.Os);
        Assert.Equal(PackageManagerKind.None, facts.PackageManager);
        Assert.Empty(facts.ListeningPorts);
    }

    [Theory]
    [InlineData("0-3", 4)]
    [InlineData("0", 1)]
    [InlineData("0-1,4-5,8", 5)]
    [InlineData("", null)]
    [InlineData("x", null)]
    public void Counts_kernel_cpu_lists(string list, int? expected) => Assert.Equal(expected, HostProbe.CountCpus(list));

    [Fact]
    public void Module_names_are_read_from_dep_and_builtin_with_compression_and_dashes()
    {
        var dep = HostProbe.ModuleNames("kernel/net/bridge/br_netfilter.ko.zst: kernel/net/bridge/bridge.ko.zst\nkernel/drivers/foo-bar.ko:\n", depFormat: true);
        Assert.Equal(["br_netfilter", "foo_bar"], dep.Order(StringComparer.Ordinal));
        var builtin = HostProbe.ModuleNames("kernel/fs/overlayfs/overlay.ko\n", depFormat: false);
        Assert.Equal(["overlay"], builtin);
    }

    [Theory]
    [InlineData("ID=ubuntu\nVERSION_ID=\"22.04\"\n", "ubuntu-22.04")]
    [InlineData("ID=debian\nVERSION_ID=\"11\"\n", "debian-11")]
    [InlineData("ID=\"rhel\"\nVERSION_ID=\"8.9\"\n", "rhel-8")]
    [InlineData("ID='centos'\nVERSION_ID='7'\n", "centos-7")]
    [InlineData("ID=debian\n# testing has no VERSION_ID\n", "debian")]
    public void Os_profiles(string osRelease, string profile) => Assert.Equal(profile, OsRelease.Parse(osRelease).Profile);

    [Fact]
    public async Task Probes_this_machine_through_LocalHost_without_error()
    {
        // Read-only: the same reads the install does, against the real procfs and sysfs.
        var facts = await HostProbe.ProbeAsync(new LocalHost(), default);
        Assert.True(facts.CpuCount >= 1);
        Assert.True(facts.MemoryMiB > 0);
        Assert.NotEmpty(facts.Hostname);
        Assert.NotEmpty(facts.Pid1);
    }
}
