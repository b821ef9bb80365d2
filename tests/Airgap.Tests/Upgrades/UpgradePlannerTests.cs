using Airgap.Nodes;
using Airgap.Releases;
using Airgap.Upgrades;

namespace Airgap.Tests.Upgrades;

public sealed class UpgradePlannerTests
{
    private static KubernetesVersion V(string v) => KubernetesVersion.Parse(v);

    private static NodeState ControlPlane(string name, string version, string arch = "amd64", string os = "ubuntu-22.04") =>
        new(name, UpgradeNodeRole.ControlPlane, arch, os, V(version), V(version), V(version), V(version));

    private static NodeState Worker(string name, string version, string arch = "amd64", string os = "ubuntu-22.04") =>
        new(name, UpgradeNodeRole.Worker, arch, os, V(version), V(version), V(version));

    private static UpgradeBundle Bundle(string version, string arch = "amd64", bool binaries = true, params string[] oses) =>
        new(V(version), arch, oses.Length == 0 ? ["ubuntu-22.04"] : oses, binaries);

    /// <summary>Three control planes and two workers, all at one version: the shape of the lab's cluster.</summary>
    private static ClusterState Cluster(string version) => new(
    [
        ControlPlane("cp1", version), ControlPlane("cp2", version), ControlPlane("cp3", version),
        Worker("w1", version), Worker("w2", version),
    ]);

    private static UpgradePlan PlanOf(ClusterState cluster, params UpgradeBundle[] bundles)
    {
        var decision = UpgradePlanner.Plan(cluster, bundles, ReleaseTable.BuiltIn);
        Assert.Null(decision.Refusal);
        return decision.Plan!;
    }

    private static string RefusalOf(ClusterState cluster, params UpgradeBundle[] bundles)
    {
        var decision = UpgradePlanner.Plan(cluster, bundles, ReleaseTable.BuiltIn);
        Assert.Null(decision.Plan);
        Assert.DoesNotContain('\n', decision.Refusal!.Message);
        return $"{decision.Refusal.Rule}: {decision.Refusal.Message}";
    }

    /// <summary>Each minor of 1.18–1.31 at its last patch, to the next minor's first release.</summary>
    public static TheoryData<string, string> MinorSteps()
    {
        var data = new TheoryData<string, string>();
        var known = ReleaseTable.BuiltIn.Known;
        for (var minor = 18; minor <= 31; minor++)
        {
            var last = known.Where(r => r.First.Minor == minor).Max(r => r.Last)!;
            data.Add(last.ToString(), $"v1.{minor + 1}.0");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(MinorSteps))]
    public void One_minor_at_a_time_runs_in_kubeadm_order(string from, string to)
    {
        var plan = PlanOf(Cluster(from), Bundle(to));

        Assert.Equal((V(from), V(to), UpgradeKind.Minor), (plan.From, plan.To, plan.Kind));
        Assert.Equal(
            [
                "1 cp1 ApplyControlPlane", "2 cp2 UpgradeControlPlane", "3 cp3 UpgradeControlPlane",
                "4 cp1 UpgradeKubelet", "5 cp2 UpgradeKubelet", "6 cp3 UpgradeKubelet",
                "7 w1 UpgradeWorker", "8 w2 UpgradeWorker",
            ],
            plan.Steps.Select(s => $"{s.Order} {s.Node} {s.Action}"));
        Assert.Equal($"kubeadm {from} → {to}, kube-apiserver {from} → {to}", string.Join(", ", plan.Steps[0].Changes));
        Assert.Equal($"kubelet {from} → {to}, kubectl {from} → {to}", string.Join(", ", plan.Steps[3].Changes));
        Assert.Equal($"kubeadm {from} → {to}, kubelet {from} → {to}, kubectl {from} → {to}", string.Join(", ", plan.Steps[6].Changes));
        Assert.All(plan.Steps, s => Assert.Equal("packages for ubuntu-22.04", s.Source.ToString()));
        Assert.Contains(ReleaseTable.BuiltIn.Get(V(to)).Canonical(ReleaseTable.BuiltIn.Get(V(to)).Images[0]), plan.Images.Added);
        Assert.Empty(plan.Notes);
    }

    [Theory]
    [InlineData("v1.20.2", "v1.20.15")]
    [InlineData("v1.27.0", "v1.27.6")]
    public void A_patch_upgrade_changes_only_the_kubernetes_images_when_kubeadm_s_constants_stay(string from, string to)
    {
        var plan = PlanOf(Cluster(from), Bundle(to));

        Assert.Equal(UpgradeKind.Patch, plan.Kind);
        Assert.Equal(8, plan.Steps.Count);
        Assert.Equal(4, plan.Images.Added.Count);
        Assert.All(plan.Images.Added, i => Assert.EndsWith(":" + to, i, StringComparison.Ordinal));
        Assert.All(plan.Images.Removed, i => Assert.EndsWith(":" + from, i, StringComparison.Ordinal));
        Assert.False(plan.Images.SandboxChanges);
        Assert.False(plan.Config.Changes);
    }

    [Theory]
    [InlineData("v1.27.6", "v1.27.7", "registry.k8s.io/etcd:3.5.9-0")]
    [InlineData("v1.31.13", "v1.31.14", "registry.k8s.io/etcd:3.5.24-0")]
    public void A_patch_that_moves_etcd_adds_its_image(string from, string to, string etcd)
    {
        Assert.Contains(etcd, PlanOf(Cluster(from), Bundle(to)).Images.Added);
    }

    [Theory]
    [InlineData("v1.20.2", "v1.22.0", "SkipsMinor: refusing: v1.20.2 → v1.22.0 skips minor 1.21; kubeadm upgrades one minor at a time — build a v1.21.x bundle first")]
    [InlineData("v1.18.20", "v1.21.0", "SkipsMinor: refusing: v1.18.20 → v1.21.0 skips minor 1.19 and 1.20; kubeadm upgrades one minor at a time — build a v1.19.x bundle first")]
    [InlineData("v1.30.14", "v1.32.0", "SkipsMinor: refusing: v1.30.14 → v1.32.0 skips minor 1.31; kubeadm upgrades one minor at a time — build a v1.31.x bundle first")]
    [InlineData("v1.21.0", "v1.20.2", "Downgrade: refusing: v1.21.0 → v1.20.2 is a downgrade (cp1 runs v1.21.0); kubeadm does not downgrade a cluster — restore an etcd backup instead")]
    [InlineData("v1.20.15", "v1.20.2", "Downgrade: refusing: v1.20.15 → v1.20.2 is a downgrade (cp1 runs v1.20.15); kubeadm does not downgrade a cluster — restore an etcd backup instead")]
    [InlineData("v1.32.13", "v2.0.0", "UnsupportedVersion: refusing: v1.32.13 → v2.0.0: airgap upgrades Kubernetes 1.x clusters from v1.15 on")]
    public void Version_steps_kubeadm_cannot_take_are_refused_naming_the_rule(string from, string to, string refusal)
    {
        Assert.Equal(refusal, RefusalOf(Cluster(from), Bundle(to)));
    }

    [Fact]
    public void A_node_of_another_arch_is_named()
    {
        var cluster = new ClusterState([ControlPlane("cp1", "v1.20.2"), Worker("pi4", "v1.20.2", arch: "arm64")]);

        Assert.Equal(
            "ArchMismatch: refusing: node pi4 is arm64 but the bundle is for amd64; build one with --arch arm64",
            RefusalOf(cluster, Bundle("v1.21.14")));
        // With a bundle for each architecture it plans.
        Assert.Equal(["cp1", "cp1", "pi4"], PlanOf(cluster, Bundle("v1.21.14"), Bundle("v1.21.14", "arm64")).Steps.Select(s => s.Node));
    }

    [Fact]
    public void A_node_whose_OS_the_bundle_lacks_takes_binaries_or_is_refused()
    {
        var cluster = new ClusterState([ControlPlane("cp1", "v1.20.2"), Worker("w1", "v1.20.2", os: "rocky-9")]);

        var plan = PlanOf(cluster, Bundle("v1.21.14", binaries: true));
        Assert.Equal(["packages for ubuntu-22.04", "packages for ubuntu-22.04", "binaries"], plan.Steps.Select(s => s.Source.ToString()));
        Assert.Equal(
            "OsMismatch: refusing: node w1 runs rocky-9 but the amd64 bundle has packages for ubuntu-22.04 and no binaries; build it with --os rocky-9",
            RefusalOf(cluster, Bundle("v1.21.14", binaries: false)));
    }

    [Fact]
    public void A_kubelet_newer_than_the_API_server_is_refused()
    {
        var cluster = new ClusterState([ControlPlane("cp1", "v1.20.2"), Worker("w1", "v1.20.2") with { Kubelet = V("v1.20.15") }]);

        Assert.Equal(
            "KubeletNewerThanApiServer: refusing: node w1's kubelet v1.20.15 is newer than the API server v1.20.2 (cp1); the skew policy forbids it — bring the control plane to v1.20.15 first",
            RefusalOf(cluster, Bundle("v1.21.0")));
    }

    [Theory]
    // Before 1.25 a kubelet may trail the API server by two minors: one at 1.18 cannot meet a 1.21 API server.
    [InlineData("v1.20.15", "v1.18.20", "v1.21.0", "KubeletSkew: refusing: node w1's kubelet v1.18.20 would be 3 minors behind the API server v1.21.0 while the control plane goes first (a kubelet before 1.25 may trail by 2); upgrade its kubelet to the control plane's 1.20 first")]
    [InlineData("v1.26.15", "v1.24.17", "v1.27.0", "KubeletSkew: refusing: node w1's kubelet v1.24.17 would be 3 minors behind the API server v1.27.0 while the control plane goes first (a kubelet before 1.25 may trail by 2); upgrade its kubelet to the control plane's 1.26 first")]
    [InlineData("v1.29.15", "v1.26.15", "v1.30.0", "KubeletSkew: refusing: node w1's kubelet v1.26.15 would be 4 minors behind the API server v1.30.0 while the control plane goes first (a kubelet from 1.25 may trail by 3); upgrade its kubelet to the control plane's 1.29 first")]
    public void Kubelets_that_the_new_API_server_would_leave_too_far_behind_are_refused(string apiServer, string kubelet, string to, string refusal)
    {
        var cluster = new ClusterState([ControlPlane("cp1", apiServer), Worker("w1", apiServer) with { Kubelet = V(kubelet) }]);

        Assert.Equal(refusal, RefusalOf(cluster, Bundle(to)));
    }

    [Theory]
    [InlineData("v1.19.16", "v1.18.20", "v1.20.0")]
    [InlineData("v1.27.16", "v1.25.16", "v1.28.0")]
    [InlineData("v1.31.14", "v1.29.15", "v1.32.0")]
    public void Kubelets_within_the_skew_are_upgraded_after_the_control_plane(string apiServer, string kubelet, string to)
    {
        var cluster = new ClusterState([ControlPlane("cp1", apiServer), Worker("w1", apiServer) with { Kubelet = V(kubelet) }]);

        var plan = PlanOf(cluster, Bundle(to));

        Assert.Equal($"kubelet {kubelet} → {to}", plan.Steps[^1].Changes.Single(c => c.Component == "kubelet").ToString());
    }

    [Fact]
    public void A_kubectl_the_new_API_server_would_leave_two_minors_away_is_refused()
    {
        var cluster = new ClusterState([ControlPlane("cp1", "v1.20.2") with { Kubectl = V("v1.19.16") }]);

        Assert.Equal(
            "KubectlSkew: refusing: node cp1's kubectl v1.19.16 would be 2 minors from the API server v1.21.0 (kubectl works within one minor of it); bring it to 1.20 first",
            RefusalOf(cluster, Bundle("v1.21.0")));
    }

    [Theory]
    [InlineData("v1.22.17", "v1.20.15", "v1.22.17", "ControlPlanesMixed: refusing: control planes run v1.22.17 (cp1) and v1.20.15 (cp2), 2 minors apart where the skew policy allows one; repair the control plane before upgrading")]
    [InlineData("v1.21.14", "v1.20.15", "v1.22.0", "ControlPlanesMixed: refusing: control planes run v1.21.14 (cp1) and v1.20.15 (cp2): an upgrade to 1.21 is under way; finish it with a 1.21 bundle first")]
    public void Control_planes_at_mixed_minors_are_refused_unless_resuming_to_the_newer(string cp1, string cp2, string to, string refusal)
    {
        var cluster = new ClusterState([ControlPlane("cp1", cp1) with { Kubelet = V(cp2) }, ControlPlane("cp2", cp2)]);

        Assert.Equal(refusal, RefusalOf(cluster, Bundle(to)));
    }

    [Fact]
    public void An_interrupted_upgrade_plans_only_what_is_left()
    {
        // cp1 ran kubeadm upgrade apply; the upgrade stopped before cp2.
        var cluster = new ClusterState(
        [
            ControlPlane("cp1", "v1.20.15") with { ApiServer = V("v1.21.14"), Kubeadm = V("v1.21.14") },
            ControlPlane("cp2", "v1.20.15"),
            Worker("w1", "v1.20.15"),
        ]);

        var plan = PlanOf(cluster, Bundle("v1.21.14"));

        Assert.Equal(
            ["1 cp2 UpgradeControlPlane", "2 cp1 UpgradeKubelet", "3 cp2 UpgradeKubelet", "4 w1 UpgradeWorker"],
            plan.Steps.Select(s => $"{s.Order} {s.Node} {s.Action}"));
        Assert.Equal(UpgradeKind.Minor, plan.Kind);
    }

    [Fact]
    public void The_same_version_everywhere_is_nothing_to_do_but_check()
    {
        var plan = PlanOf(Cluster("v1.20.2"), Bundle("v1.20.2"));

        Assert.True(plan.NothingToDo);
        Assert.Equal(UpgradeKind.SameVersion, plan.Kind);
        Assert.Empty(plan.Images.Added);
        Assert.Equal(["every node already runs v1.20.2: nothing to do but check"], plan.Notes);
    }

    [Fact]
    public void Only_the_lagging_worker_is_planned_when_the_rest_is_at_the_target()
    {
        var cluster = new ClusterState([ControlPlane("cp1", "v1.21.14"), Worker("w1", "v1.21.14"), Worker("w2", "v1.20.15")]);

        var plan = PlanOf(cluster, Bundle("v1.21.14"));

        var step = Assert.Single(plan.Steps);
        Assert.Equal(("w2", UpgradeAction.UpgradeWorker), (step.Node, step.Action));
    }

    [Theory]
    [InlineData("v1.21.14", "v1.22.0", KubeadmApiVersion.V1Beta2, KubeadmApiVersion.V1Beta3)]
    [InlineData("v1.30.14", "v1.31.0", KubeadmApiVersion.V1Beta3, KubeadmApiVersion.V1Beta4)]
    [InlineData("v1.20.15", "v1.21.0", KubeadmApiVersion.V1Beta2, KubeadmApiVersion.V1Beta2)]
    [InlineData("v1.26.15", "v1.27.0", KubeadmApiVersion.V1Beta3, KubeadmApiVersion.V1Beta3)]
    [InlineData("v1.31.14", "v1.32.0", KubeadmApiVersion.V1Beta4, KubeadmApiVersion.V1Beta4)]
    public void The_plan_says_when_the_kubeadm_config_API_changes(string from, string to, KubeadmApiVersion before, KubeadmApiVersion after)
    {
        var config = PlanOf(Cluster(from), Bundle(to)).Config;

        Assert.Equal((before, after, before != after, false), (config.From, config.To, config.Changes, config.MigrateFirst));
    }

    [Fact]
    public void A_v1beta2_config_file_must_be_migrated_before_kubeadm_1_27_reads_it()
    {
        var cluster = Cluster("v1.26.15") with { ConfigFileApi = KubeadmApiVersion.V1Beta2 };

        var config = PlanOf(cluster, Bundle("v1.27.0")).Config;

        Assert.Equal((KubeadmApiVersion.V1Beta2, KubeadmApiVersion.V1Beta3, true), (config.From, config.To, config.MigrateFirst));
    }

    private const string Gcr = "k8s.gcr.io";
    private const string K8s = "registry.k8s.io";

    [Theory]
    [InlineData("v1.22.16", "v1.22.17", Gcr, K8s)]
    [InlineData("v1.23.14", "v1.23.15", Gcr, K8s)]
    [InlineData("v1.23.14", "v1.24.9", Gcr, K8s)]
    [InlineData("v1.24.8", "v1.24.9", Gcr, K8s)]
    [InlineData("v1.24.8", "v1.25.0", Gcr, K8s)]
    // v1.23.0 came out before the backport, so leaving v1.22.17 for it goes back to k8s.gcr.io.
    [InlineData("v1.22.17", "v1.23.0", K8s, Gcr)]
    [InlineData("v1.22.17", "v1.23.15", null, null)]
    [InlineData("v1.24.9", "v1.25.0", null, null)]
    [InlineData("v1.21.14", "v1.22.0", null, null)]
    public void The_plan_reports_crossing_the_registry_switch(string from, string to, string? before, string? after)
    {
        var images = PlanOf(Cluster(from), Bundle(to)).Images;

        Assert.Equal(before is null ? null : new RegistrySwitch(before, after!), images.Registry);
        if (before is not null)
        {
            Assert.Equal($"{before}/kube-apiserver:{from}", images.Removed[0]);
            Assert.Equal($"{after}/kube-apiserver:{to}", images.Added[0]);
            Assert.True(images.SandboxChanges);
            Assert.StartsWith($"{after}/pause:", images.SandboxTo, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("v1.20.15", "v1.21.0", "k8s.gcr.io/pause:3.2", "k8s.gcr.io/pause:3.4.1")]
    [InlineData("v1.30.14", "v1.31.0", "registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.10")]
    public void A_new_pause_image_is_reported_for_containerd_s_sandbox(string from, string to, string before, string after)
    {
        var images = PlanOf(Cluster(from), Bundle(to)).Images;

        Assert.Equal((before, after, true), (images.SandboxFrom, images.SandboxTo, images.SandboxChanges));
        Assert.Contains(after, images.Added);
        Assert.Contains(before, images.Removed);
    }

    [Fact]
    public void The_bundle_s_own_image_list_wins_over_the_table()
    {
        var bundle = Bundle("v1.21.14") with { Images = ["k8s.gcr.io/kube-apiserver:v1.21.14", "quay.io/coreos/flannel:v0.13.0"] };

        var images = PlanOf(Cluster("v1.20.15"), bundle).Images;

        Assert.Equal(["k8s.gcr.io/kube-apiserver:v1.21.14", "quay.io/coreos/flannel:v0.13.0"], images.Added);
    }

    [Fact]
    public void A_version_the_table_lacks_is_noted_not_guessed()
    {
        var plan = PlanOf(Cluster("v1.18.6"), Bundle("v1.18.7") with { Images = ["k8s.gcr.io/kube-apiserver:v1.18.7"] });

        Assert.Null(plan.Images.Registry);
        Assert.Null(plan.Images.SandboxTo);
        Assert.Equal(["k8s.gcr.io/kube-apiserver:v1.18.7"], plan.Images.Added);
        Assert.Equal(["the release table does not know v1.18.7: a registry or sandbox image change cannot be worked out"], plan.Notes);
    }

    [Fact]
    public void Bundles_and_cluster_shape_are_checked_first()
    {
        Assert.Equal("NoBundle: refusing: no bundle given; pass the bundle of the version to upgrade to", RefusalOf(Cluster("v1.20.2")));
        Assert.Equal(
            "BundlesDisagree: refusing: the bundles are for v1.21.0 (amd64) and v1.21.1 (arm64); give bundles of one version",
            RefusalOf(Cluster("v1.20.2"), Bundle("v1.21.0"), Bundle("v1.21.1", "arm64")));
        Assert.Equal(
            "NoControlPlane: refusing: the cluster has no control-plane node; name them in cluster.yaml",
            RefusalOf(new ClusterState([Worker("w1", "v1.20.2")]), Bundle("v1.21.0")));
        Assert.Equal(
            "ApiServerUnknown: refusing: control plane cp1 reports no kube-apiserver version; is its API server running?",
            RefusalOf(new ClusterState([ControlPlane("cp1", "v1.20.2") with { ApiServer = null }]), Bundle("v1.21.0")));
        Assert.Equal(
            "Downgrade: refusing: w1's kubectl is v1.21.1, newer than the bundle's v1.21.0; that would be a downgrade",
            RefusalOf(new ClusterState([ControlPlane("cp1", "v1.20.2"), Worker("w1", "v1.20.2") with { Kubectl = V("v1.21.1") }]), Bundle("v1.21.0")));
    }
}
