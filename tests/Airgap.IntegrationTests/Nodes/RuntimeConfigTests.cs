using Airgap.Nodes;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Nodes;

/// <summary>The runtime phase's containerd config, given to a real containerd (Debian's) with its own root and socket.</summary>
public sealed class RuntimeConfigTests
{
    [Fact]
    public async Task Containerd_accepts_the_rendered_config_with_the_cri_plugin_running()
    {
        var facts = await HostProbe.ProbeAsync(new LocalHost(), default);
        await using var containerd = await ContainerdServer.StartAsync(work =>
            ContainerdConfig.Render(new ContainerdSettings
            {
                SandboxImage = "k8s.gcr.io/pause:3.2",
                CgroupDriver = facts.CgroupDriver,
                RestrictOomScoreAdj = facts.RestrictOomScoreAdj,
                Root = Path.Combine(work, "root"),
                State = Path.Combine(work, "state"),
                GrpcAddress = Path.Combine(work, "containerd.sock"),
            }) + $"""

                [ttrpc]
                  address = "{Path.Combine(work, "containerd.sock.ttrpc")}"

                [plugins."io.containerd.internal.v1.opt"]
                  path = "{Path.Combine(work, "opt")}"
                """);

        var plugins = await containerd.CtrAsync("plugins", "ls");
        Assert.Equal(0, plugins.exit);
        var cri = plugins.stdout.Split('\n').Single(l => l.Contains("io.containerd.grpc.v1") && l.Contains(" cri "));
        Assert.EndsWith("ok", cri.Trim());
        Assert.DoesNotContain("level=error", File.ReadAllText(containerd.LogPath).Split('\n').Where(l => l.Contains("cri")).FirstOrDefault() ?? "");
    }
}
