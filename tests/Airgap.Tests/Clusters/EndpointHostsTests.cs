using Airgap.Clusters;

namespace Airgap.Tests.Clusters;

public sealed class EndpointHostsTests
{
    private const string Hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n10.90.0.11\tnode1\n";

    [Fact]
    public void The_endpoint_line_is_added_once_and_replaced_keeping_every_other_line()
    {
        var first = EndpointHosts.Render(Hosts, "apiserver.cluster.local", "10.90.0.11");
        var second = EndpointHosts.Render(first, "apiserver.cluster.local", "127.0.0.1");

        Assert.Equal(Hosts + "10.90.0.11 apiserver.cluster.local # airgap: control-plane endpoint\n", first);
        Assert.Equal(Hosts + "127.0.0.1 apiserver.cluster.local # airgap: control-plane endpoint\n", second);
        Assert.Equal(first, EndpointHosts.Render(first, "apiserver.cluster.local", "10.90.0.11"));
    }

    [Fact]
    public void Removing_the_endpoint_gives_back_the_file_as_it_was()
    {
        var with = EndpointHosts.Render(Hosts, "apiserver.cluster.local", "10.90.0.11");

        Assert.Equal(Hosts, EndpointHosts.Render(with, "apiserver.cluster.local", null));
    }

    [Fact]
    public void The_proxy_unit_runs_the_node_s_airgap_on_every_api_server()
    {
        var unit = EndpointHosts.ProxyUnitText("127.0.0.1:6443", ["10.0.0.1:6443", "10.0.0.2:6443"]);

        Assert.Contains($"ExecStart={ClusterContext.RemoteAirgap} apiserver-proxy --listen 127.0.0.1:6443 --backend 10.0.0.1:6443 --backend 10.0.0.2:6443\n", unit);
        Assert.Contains("Before=kubelet.service", unit);
        Assert.Contains("Restart=always", unit);
    }

    [Fact]
    public void The_boot_unit_puts_the_line_back_before_the_kubelet_only_when_it_is_missing()
    {
        var unit = EndpointHosts.HostsUnitText("apiserver.cluster.local", "127.0.0.1");

        Assert.Contains("Before=kubelet.service airgap-apiserver-proxy.service", unit);
        Assert.Contains("ExecStart=/bin/sh -c 'grep -qF \"# airgap: control-plane endpoint\" /etc/hosts || echo \"127.0.0.1 apiserver.cluster.local # airgap: control-plane endpoint\" >> /etc/hosts'", unit);
        Assert.DoesNotContain('$', unit);
    }
}
