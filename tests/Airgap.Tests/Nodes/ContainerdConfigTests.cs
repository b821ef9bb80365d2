using Airgap.Nodes;

namespace Airgap.Tests.Nodes;

public sealed class ContainerdConfigTests
{
    [Fact]
    public void Version_2_for_the_lab_host_cgroupfs_and_restricted_oom_score()
    {
        var toml = ContainerdConfig.Render(new ContainerdSettings
        {
            SandboxImage = "k8s.gcr.io/pause:3.2",
            CgroupDriver = CgroupDriver.Cgroupfs,
            RestrictOomScoreAdj = true,
        });

        Assert.Equal("""
            # Written by airgap for containerd 1.4-1.7. The CRI plugin must stay enabled: kubelet talks to it.
            version = 2
            disabled_plugins = []

            [plugins]
              [plugins."io.containerd.grpc.v1.cri"]
                sandbox_image = "k8s.gcr.io/pause:3.2"
                restrict_oom_score_adj = true
                [plugins."io.containerd.grpc.v1.cri".containerd]
                  snapshotter = "overlayfs"
                  default_runtime_name = "runc"
                  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                    runtime_type = "io.containerd.runc.v2"
                    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                      SystemdCgroup = false
                [plugins."io.containerd.grpc.v1.cri".cni]
                  bin_dir = "/opt/cni/bin"
                  conf_dir = "/etc/cni/net.d"

            """, toml);
    }

    [Fact]
    public void Version_2_on_a_systemd_server_with_its_own_root_state_and_socket()
    {
        var toml = ContainerdConfig.Render(new ContainerdSettings
        {
            SandboxImage = "registry.k8s.io/pause:3.9",
            CgroupDriver = CgroupDriver.Systemd,
            Root = "/tmp/ctd/root",
            State = "/tmp/ctd/state",
            GrpcAddress = "/tmp/ctd/containerd.sock",
        });

        Assert.StartsWith("""
            # Written by airgap for containerd 1.4-1.7. The CRI plugin must stay enabled: kubelet talks to it.
            version = 2
            root = "/tmp/ctd/root"
            state = "/tmp/ctd/state"
            disabled_plugins = []

            [grpc]
              address = "/tmp/ctd/containerd.sock"

            [plugins]
            """, toml);
        Assert.Contains("restrict_oom_score_adj = false\n", toml);
        Assert.Contains("SystemdCgroup = true\n", toml);
        Assert.Contains("sandbox_image = \"registry.k8s.io/pause:3.9\"\n", toml);
        Assert.DoesNotContain("\"cri\"", toml);
    }

    [Fact]
    public void Version_3_for_containerd_2()
    {
        var toml = ContainerdConfig.Render(new ContainerdSettings
        {
            SandboxImage = "registry.k8s.io/pause:3.10",
            CgroupDriver = CgroupDriver.Systemd,
            ConfigVersion = 3,
        });

        Assert.Equal("""
            # Written by airgap for containerd 2.x. The CRI plugin must stay enabled: kubelet talks to it.
            version = 3
            disabled_plugins = []

            [plugins]
              [plugins."io.containerd.cri.v1.images"]
                snapshotter = "overlayfs"
                [plugins."io.containerd.cri.v1.images".pinned_images]
                  sandbox = "registry.k8s.io/pause:3.10"
              [plugins."io.containerd.cri.v1.runtime"]
                restrict_oom_score_adj = false
                [plugins."io.containerd.cri.v1.runtime".containerd]
                  default_runtime_name = "runc"
                  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
                    runtime_type = "io.containerd.runc.v2"
                    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
                      SystemdCgroup = true
                [plugins."io.containerd.cri.v1.runtime".cni]
                  bin_dir = "/opt/cni/bin"
                  conf_dir = "/etc/cni/net.d"

            """, toml);
    }

    [Theory]
    [InlineData("1.4.3", 2)]
    [InlineData("1.6.20~ds1", 2)]
    [InlineData("v1.7.24", 2)]
    [InlineData("2.0.2", 3)]
    [InlineData("v2.1.0-rc.1", 3)]
    public void Picks_the_config_version_from_the_containerd_version(string version, int expected) =>
        Assert.Equal(expected, ContainerdConfig.ConfigVersionFor(version));

    [Theory]
    [InlineData("1.3.9")]
    [InlineData("3.0.0")]
    [InlineData("latest")]
    public void Refuses_versions_it_does_not_configure(string version) =>
        Assert.Throws<AirgapException>(() => ContainerdConfig.ConfigVersionFor(version));

    [Fact]
    public void Quotes_toml_strings() =>
        Assert.Equal("\"a\\\"b\\\\c\\n\"", ContainerdConfig.Quote("a\"b\\c\n"));
}
