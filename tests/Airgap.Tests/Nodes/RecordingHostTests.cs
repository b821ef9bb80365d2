using System.Text;
using Airgap.Nodes;

namespace Airgap.Tests.Nodes;

public sealed class RecordingHostTests
{
    [Fact]
    public async Task Records_commands_writes_and_deletes_in_order_and_passes_them_on()
    {
        var inner = new FakeHost().File("/etc/old", "x");
        var host = new RecordingHost(inner);

        await host.RunAsync(new CommandSpec("systemctl", "restart", "containerd"), default);
        await host.WriteTextAsync("/etc/containerd/config.toml", "version = 2\n", HostExtensions.Mode0644, default);
        await host.DeleteFileAsync("/etc/old", default);
        await host.DeleteFileAsync("/etc/never-there", default);

        Assert.Equal(
        [
            "systemctl restart containerd",
            "write /etc/containerd/config.toml (12 bytes, mode 0644)",
            "delete /etc/old",
        ], host.Actions.Select(a => a.Text));
        Assert.NotNull(host.Actions[0].Result);
        Assert.Single(inner.Commands);
        Assert.Equal("version = 2\n", inner.Text("/etc/containerd/config.toml"));
    }

    [Fact]
    public async Task A_dry_run_records_the_plan_changes_nothing_and_reads_the_real_node()
    {
        var inner = new FakeHost().File("/proc/sys/net/ipv4/ip_forward", "0\n").File("/etc/kubernetes/admin.conf", "old");
        var host = new DryRunHost(inner);

        var result = await host.RunAsync(new CommandSpec("kubeadm", "init", "--config", "/etc/kubernetes/airgap/kubeadm.yaml"), default);
        await host.WriteTextAsync("/etc/containerd/config.toml", "version = 2\n", HostExtensions.Mode0644, default);
        await host.DeleteFileAsync("/etc/kubernetes/admin.conf", default);

        Assert.True(result.Succeeded);
        Assert.True(result.DryRun);
        Assert.Empty(inner.Commands);
        Assert.Null(inner.Text("/etc/containerd/config.toml"));
        Assert.Equal("old", inner.Text("/etc/kubernetes/admin.conf"));
        Assert.Equal(
        [
            "kubeadm init --config /etc/kubernetes/airgap/kubeadm.yaml",
            "write /etc/containerd/config.toml (12 bytes, mode 0644)",
            "delete /etc/kubernetes/admin.conf",
        ], host.PlanLines);
        Assert.Equal("version = 2\n", Encoding.UTF8.GetString(host.Plan[1].Content!));

        // Later reads see the plan: the written file is there, the deleted one is gone, the rest is real.
        Assert.Equal("0\n", await host.ReadTextAsync("/proc/sys/net/ipv4/ip_forward", default));
        Assert.Equal("version = 2\n", await host.ReadTextAsync("/etc/containerd/config.toml", default));
        Assert.False(await host.FileExistsAsync("/etc/kubernetes/admin.conf", default));
        Assert.Equal(["config.toml"], await host.ListDirectoryAsync("/etc/containerd", default));
        Assert.Equal([], await host.ListDirectoryAsync("/etc/kubernetes", default));
        Assert.Null(await host.ListDirectoryAsync("/etc/nothing", default));
    }

    [Fact]
    public async Task A_dry_run_of_a_sensitive_command_plans_it_redacted()
    {
        var host = new DryRunHost(new FakeHost());
        await host.RunAsync(new CommandSpec("kubeadm", "join", "10.0.0.1:6443", "--token", "abcdef.0123456789abcdef") { Sensitive = true }, default);
        Assert.Equal("kubeadm join 10.0.0.1:6443 --token <redacted>", Assert.Single(host.PlanLines));
    }
}
