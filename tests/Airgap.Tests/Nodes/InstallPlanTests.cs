using Airgap.Nodes;
using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Tests.Nodes;

public sealed class InstallPlanTests
{
    private static InstallOptions Options(string version = "v1.20.2") => new() { KubernetesVersion = KubernetesVersion.Parse(version) };

    private static IEnumerable<string> Running(InstallPlan plan) => plan.ToRun.Select(p => p.Name);

    [Fact]
    public void Phases_run_in_a_fixed_order()
    {
        var plan = InstallPlan.Create(Options());
        Assert.Equal(["verify", "preflight", "runtime", "packages", "images", "kubeadm", "kubeconfig", "cni", "finalize"], plan.Phases.Select(p => p.Name));
        Assert.Equal(NodeWorkflows.Install.Names, plan.Phases.Select(p => p.Name));
    }

    [Fact]
    public void The_lab_single_node_with_bridge_runs_every_phase()
    {
        var plan = InstallPlan.Create(Options() with { SingleNode = true, Cni = CniChoice.Bridge });

        Assert.Equal(NodeWorkflows.Install.Names, Running(plan));
        Assert.Equal(KubeadmApiVersion.V1Beta2, plan.KubeadmApiVersion);
        Assert.Contains("kubeadm.k8s.io/v1beta2", plan["kubeadm"].Description);
        Assert.Contains("kubeadm init", plan["kubeadm"].Description);
        Assert.Contains(BridgeCniConfig.FileName, plan["cni"].Description);
        Assert.Contains("untainted", plan["finalize"].Description);
    }

    [Fact]
    public void Workers_skip_the_admin_kubeconfig_and_the_network_add_on()
    {
        var plan = InstallPlan.Create(Options("v1.28.4") with { Role = NodeRole.Worker });

        Assert.Equal(["verify", "preflight", "runtime", "packages", "images", "kubeadm", "finalize"], Running(plan));
        Assert.Equal("workers get no admin kubeconfig", plan["kubeconfig"].SkipReason);
        // The network add-on is the first control plane's: joining nodes have no cni phase at all.
        Assert.DoesNotContain("cni", plan.Phases.Select(p => p.Name));
        Assert.Contains("first control plane", new CniPhase().SkipReason(Options() with { Role = NodeRole.Worker }));
        Assert.Contains("kubeadm join", plan["kubeadm"].Description);
        Assert.Contains("v1beta3", plan["kubeadm"].Description);
    }

    [Fact]
    public void Joining_control_planes_get_a_kubeconfig_but_do_not_apply_the_cni()
    {
        var plan = InstallPlan.Create(Options("v1.31.2") with { Role = NodeRole.JoinControlPlane });

        Assert.Equal(["verify", "preflight", "runtime", "packages", "images", "kubeadm", "kubeconfig", "finalize"], Running(plan));
        Assert.Equal(KubeadmApiVersion.V1Beta4, plan.KubeadmApiVersion);
        Assert.Contains("as a control plane", plan["kubeadm"].Description);
    }

    [Fact]
    public void Cni_none_skips_the_cni_phase()
    {
        var plan = InstallPlan.Create(Options() with { Cni = CniChoice.None });
        Assert.StartsWith("--cni none", plan["cni"].SkipReason);
        Assert.Contains("Flannel", InstallPlan.Create(Options())["cni"].Description);
    }

    [Fact]
    public void Skip_phases_take_names_case_insensitively_and_comma_lists()
    {
        var plan = InstallPlan.Create(Options() with { SkipPhases = ["Preflight,images", " packages "] });

        Assert.Equal(["verify", "runtime", "kubeadm", "kubeconfig", "cni", "finalize"], Running(plan));
        Assert.Equal("--skip-phases", plan["images"].SkipReason);
    }

    [Fact]
    public void Unknown_skip_phases_are_refused_with_the_valid_names()
    {
        var error = Assert.Throws<AirgapException>(() => InstallPlan.Create(Options() with { SkipPhases = ["network"] }));
        Assert.Equal("--skip-phases: \"network\" is not a phase of install; phases are verify, preflight, runtime, packages, images, kubeadm, kubeconfig, cni, finalize", error.Message);
    }

    [Fact]
    public void Impossible_combinations_are_refused_before_anything_runs()
    {
        Assert.Contains("--single-node", Assert.Throws<AirgapException>(() => InstallPlan.Create(Options() with { SingleNode = true, Role = NodeRole.Worker })).Message);
        Assert.Contains("needs --single-node", Assert.Throws<AirgapException>(() => InstallPlan.Create(Options() with { Cni = CniChoice.Bridge })).Message);
        Assert.Contains("dockershim", Assert.Throws<AirgapException>(() => InstallPlan.Create(Options("v1.24.0") with { Runtime = ContainerRuntimeKind.Docker })).Message);
        Assert.Contains("v1.15 and later", Assert.Throws<AirgapException>(() => InstallPlan.Create(Options("v1.14.0"))).Message);
    }

    [Fact]
    public void Docker_before_1_24_is_planned_through_the_engine()
    {
        var plan = InstallPlan.Create(Options("v1.23.17") with { Runtime = ContainerRuntimeKind.Docker });
        Assert.Contains("Docker", plan["runtime"].Description);
        Assert.Contains("Docker", plan["images"].Description);
    }
}
