using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Tests.Nodes;

public sealed class JoinCommandLineTests
{
    private const string Hash = "sha256:0fa866b996cd350290c5ec37fad5acf5fec176ab5494f476240139e4bb34ac3e";

    [Fact]
    public void Reads_what_kubeadm_token_create_prints()
    {
        var (join, key) = JoinCommandLine.Parse($"kubeadm join 192.0.2.2:6443 --token abcdef.0123456789abcdef \\\n    --discovery-token-ca-cert-hash {Hash} \n", "join.txt");
        Assert.Equal("192.0.2.2:6443", join.ApiServerEndpoint);
        Assert.Equal("abcdef.0123456789abcdef", join.Token);
        Assert.Equal([Hash], join.CaCertHashes);
        Assert.False(join.ControlPlane);
        Assert.Null(key);
    }

    [Fact]
    public void Reads_a_control_plane_join_with_its_certificate_key()
    {
        var (join, key) = JoinCommandLine.Parse($"kubeadm join lb.example:6443 --token=abcdef.0123456789abcdef --discovery-token-ca-cert-hash={Hash} --control-plane --certificate-key 0123abcd", "f");
        Assert.True(join.ControlPlane);
        Assert.Equal("lb.example:6443", join.ApiServerEndpoint);
        Assert.Equal("0123abcd", key);
    }

    [Theory]
    [InlineData("kubeadm init")]
    [InlineData("kubeadm join 10.0.0.1:6443 --token bad --discovery-token-ca-cert-hash " + Hash)]
    [InlineData("kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef")]
    [InlineData("kubeadm join 10.0.0.1 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash " + Hash)]
    public void Refuses_lines_that_cannot_join_safely(string line)
    {
        var e = Assert.Throws<AirgapException>(() => JoinCommandLine.Parse(line, "join.txt"));
        Assert.StartsWith("join.txt", e.Message);
    }

    [Fact]
    public void A_worker_plan_skips_kubeconfig_and_has_no_cni_phase()
    {
        var plan = InstallPlan.Create(new InstallOptions { KubernetesVersion = Airgap.Releases.KubernetesVersion.Parse("v1.20.2"), Role = NodeRole.Worker, Cni = CniChoice.None });
        Assert.Same(NodeWorkflows.Join, plan.Workflow);
        Assert.True(plan["kubeconfig"].Skipped);
        Assert.DoesNotContain("cni", plan.Phases.Select(p => p.Name));
        Assert.False(plan["kubeadm"].Skipped);
        Assert.Contains("kubeadm join", plan["kubeadm"].Description);
    }
}
