using System.Text.Json.Nodes;
using Airgap.Nodes;
using Airgap.Releases;

namespace Airgap.Tests.Nodes;

public sealed class DockerDaemonConfigTests
{
    [Fact]
    public void A_new_config_sets_only_the_cgroup_driver()
    {
        var json = JsonNode.Parse(DockerDaemonConfig.Render(null, CgroupDriver.Systemd, restrictOomScoreAdj: false))!.AsObject();

        Assert.Equal(["exec-opts"], json.Select(p => p.Key));
        Assert.Equal(["native.cgroupdriver=systemd"], json["exec-opts"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public void An_operators_settings_are_kept_and_only_the_driver_is_replaced()
    {
        const string existing = """{ "registry-mirrors": ["https://mirror.example"], "exec-opts": ["native.cgroupdriver=systemd", "native.umask=normal"], "log-opts": { "max-size": "10m" } }""";

        var json = JsonNode.Parse(DockerDaemonConfig.Render(existing, CgroupDriver.Cgroupfs, restrictOomScoreAdj: true))!.AsObject();

        Assert.Equal(["native.umask=normal", "native.cgroupdriver=cgroupfs"], json["exec-opts"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("https://mirror.example", json["registry-mirrors"]![0]!.GetValue<string>());
        Assert.Equal("10m", json["log-opts"]!["max-size"]!.GetValue<string>());
        Assert.Equal(0, json["oom-score-adjust"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("[1, 2]")]
    public void A_damaged_daemon_json_is_named_not_overwritten(string existing)
    {
        var e = Assert.Throws<AirgapException>(() => DockerDaemonConfig.Render(existing, CgroupDriver.Systemd, false));

        Assert.StartsWith("/etc/docker/daemon.json is not", e.Message);
        Assert.Contains("fix or remove it", e.Message);
    }

    [Fact]
    public void Kubeadm_uses_the_dockershim_socket_for_docker()
    {
        var yaml = KubeadmConfig.Render(new KubeadmSettings
        {
            KubernetesVersion = KubernetesVersion.Parse("v1.20.2"),
            CgroupDriver = CgroupDriver.Cgroupfs,
            CriSocket = DockerDaemonConfig.DockershimSocket,
            PodSubnet = "10.244.0.0/16",
        });

        Assert.Contains("criSocket: \"unix:///var/run/dockershim.sock\"", yaml);
        Assert.Contains("cgroupDriver: cgroupfs", yaml);
    }
}
