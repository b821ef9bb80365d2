using Airgap.Clusters;
using Airgap.Clusters.Phases;

namespace Airgap.Tests.Clusters;

public sealed class SettlePhaseTests
{
    private static readonly ClusterHost[] Planes = new[] { "node1", "node2", "node3", "node4", "node5" }.Select(n => new ClusterHost { Name = n, Address = n }).ToArray();

    [Fact]
    public void A_first_deploy_restarts_every_control_plane_but_the_last_one_joined()
    {
        var restarted = SettlePhase.RanWhileEtcdGrew(Planes[..3], [Planes[1], Planes[2]]);

        Assert.Equal(["node1", "node2"], restarted.Select(h => h.Name));
    }

    [Fact]
    public void Control_planes_added_later_restart_the_ones_that_were_there_before()
    {
        var restarted = SettlePhase.RanWhileEtcdGrew(Planes, [Planes[3], Planes[4]]);

        Assert.Equal(["node1", "node2", "node3", "node4"], restarted.Select(h => h.Name));
    }

    [Fact]
    public void When_etcd_did_not_grow_nothing_restarts()
    {
        Assert.Empty(SettlePhase.RanWhileEtcdGrew(Planes[..3], []));
    }
}
