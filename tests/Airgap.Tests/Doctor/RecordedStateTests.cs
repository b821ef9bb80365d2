using Airgap.Bundles;
using Airgap.Doctor;
using Airgap.Doctor.Checks;
using Airgap.Nodes;

namespace Airgap.Tests.Doctor;

/// <summary>
/// The whole check list against states recorded on the lab's real kubeadm v1.20.2 node (Recorded/):
/// healthy, then each breakage. The first failing check must name the cause an operator has to fix.
/// </summary>
public sealed class RecordedStateTests
{
    private static async Task<IReadOnlyList<CheckResult>> Check(string state, DoctorBundle? bundle = null, TimeProvider? clock = null) =>
        await new NodeDoctor(RecordedNode.Load(state), bundle, clock: clock ?? RecordedClock(state)).CheckAsync(CancellationToken.None);

    /// <summary>The moment the state was recorded, so certificate ages are what they were on the node.</summary>
    internal static TimeProvider RecordedClock(string state) =>
        new FixedClock(DateTimeOffset.FromUnixTimeMilliseconds((long)(decimal.Parse(RecordedNode.Read(state, "date.txt").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1000)));

    internal static DoctorBundle LabBundle(params string[] images)
    {
        var document = new BundleDocument { Kubernetes = "v1.20.2", Arch = "amd64" };
        foreach (var image in images) document.Images.Add(new BundleImage { Name = image });
        foreach (var p in new[] { "kubeadm", "kubelet", "kubectl" })
            document.Packages.Add(new BundlePackage { Os = "debian-12", Name = p, Version = "1.20.2-00", Requested = true });
        return new DoctorBundle("/srv/airgap-k8s-v1.20.2-linux-amd64.tar", document);
    }

    internal static string WorkloadImage => RecordedNode.Read("healthy", "workload-image.txt").Trim();

    [Fact]
    public async Task A_healthy_node_has_no_failure_and_no_warning()
    {
        var results = await Check("healthy", LabBundle(WorkloadImage));
        Assert.DoesNotContain(results, r => r.Status is CheckStatus.Fail or CheckStatus.Warn);
        foreach (var check in new[] { "containerd-cri", "runtime", "cgroup-driver", "kubelet", "api-server", "kubeconfig", "node-ready", "pod-cidr",
                                      "flannel-network", "images", "image-disk", "certificates", "packages", "cni-leftovers" })
            Assert.Equal(CheckStatus.Ok, results.Single(r => r.Check == check).Status);
    }

    [Fact]
    public async Task Flannel_network_other_than_the_pod_cidr_is_the_first_failure_and_patched_back()
    {
        var results = await Check("flannel-network");
        var first = results.First(r => r.Status == CheckStatus.Fail);
        Assert.Equal("flannel-network", first.Check);
        Assert.Contains("Flannel's Network 10.99.0.0/16 is not the cluster's pod CIDR 10.244.0.0/16", first.Message);
        Assert.Contains(first.Evidence, e => e.Contains("\"Network\": \"10.99.0.0/16\"", StringComparison.Ordinal));
        var patch = Assert.IsType<CompositeFixStep>(Assert.Single(first.Repair));
        var commands = patch.Steps.Cast<RunFixStep>().Select(s => s.Command.DisplayLine).ToList();
        Assert.Contains(commands, c => c.Contains("patch configmap kube-flannel-cfg", StringComparison.Ordinal) && c.Contains("10.244.0.0/16", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.Contains("delete pod -l app=flannel", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cri_disabled_in_containerd_is_the_first_failure_and_enabled_again()
    {
        var host = RecordedNode.Load("cri-disabled");
        var results = await new NodeDoctor(host, null, clock: RecordedClock("cri-disabled")).CheckAsync(CancellationToken.None);
        var first = results.First(r => r.Status == CheckStatus.Fail);
        Assert.Equal("containerd-cri", first.Check);
        Assert.Contains("disabled_plugins = [\"cri\"]", first.Message);
        foreach (var step in first.Repair) await step.ApplyAsync(host, CancellationToken.None);
        var toml = host.Text("/etc/containerd/config.toml")!;
        Assert.Contains("disabled_plugins = []", toml);
        // Everything else as the lab's healthy node had it.
        Assert.Equal(RecordedNode.Read("healthy", "containerd-config.toml"), toml);
        Assert.Equal(["systemctl restart containerd", "systemctl restart kubelet"],
            host.Commands.Where(c => c.File == "systemctl" && c.Args[0] == "restart").Select(c => c.DisplayLine));
    }

    [Fact]
    public async Task Cgroup_driver_flipped_in_the_kubelet_is_the_first_failure_and_set_back_to_the_init_systems()
    {
        var host = RecordedNode.Load("cgroup-driver");
        var results = await new NodeDoctor(host, null, clock: RecordedClock("cgroup-driver")).CheckAsync(CancellationToken.None);
        var first = results.First(r => r.Status == CheckStatus.Fail);
        Assert.Equal("cgroup-driver", first.Check);
        Assert.Contains("cgroup driver mismatch: the kubelet uses systemd, containerd uses cgroupfs", first.Message);
        Assert.Contains("sed -i 's/^cgroupDriver: .*/cgroupDriver: cgroupfs/' /var/lib/kubelet/config.yaml", first.Fix);
        foreach (var step in first.Repair) await step.ApplyAsync(host, CancellationToken.None);
        Assert.Equal(RecordedNode.Read("healthy", "kubelet-config.yaml"), host.Text("/var/lib/kubelet/config.yaml"));
        Assert.Equal(RecordedNode.Read("healthy", "containerd-config.toml"), host.Text("/etc/containerd/config.toml"));
    }

    [Fact]
    public async Task No_kubeconfig_is_the_first_failure_with_kubectls_own_localhost_8080_line_and_the_admin_conf_copied()
    {
        var host = RecordedNode.Load("no-kubeconfig");
        var results = await new NodeDoctor(host, null, clock: RecordedClock("no-kubeconfig")).CheckAsync(CancellationToken.None);
        var first = results.First(r => r.Status == CheckStatus.Fail);
        Assert.Equal("kubeconfig", first.Check);
        Assert.Contains("localhost:8080", first.Message);
        Assert.Contains(first.Evidence, e => e.Contains("The connection to the server localhost:8080 was refused", StringComparison.Ordinal));
        var write = Assert.IsType<WriteFixStep>(Assert.Single(first.Repair));
        Assert.Equal(("/root/.kube/config", HostExtensions.Mode0600), (write.Path, write.Mode));
        Assert.Equal(host.Text("/etc/kubernetes/admin.conf"), write.Content);
    }

    [Fact]
    public async Task A_missing_image_the_bundle_has_is_the_first_failure_and_imported()
    {
        var results = await Check("image-missing", LabBundle(WorkloadImage));
        var first = results.First(r => r.Status == CheckStatus.Fail);
        Assert.Equal("images", first.Check);
        Assert.Contains($"the bundle has them: {WorkloadImage}", first.Message);
        Assert.Contains(first.Evidence, e => e.Contains(WorkloadImage, StringComparison.Ordinal) && e.Contains("ImagePull", StringComparison.Ordinal));
        Assert.IsType<ImportImagesFixStep>(first.Repair[0]);
        Assert.Contains(first.Repair.OfType<RunFixStep>(), s => s.Command.DisplayLine.Contains("delete pod web-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_image_the_bundle_lacks_names_the_build_flag_that_adds_it()
    {
        var results = await Check("image-missing", LabBundle("k8s.gcr.io/pause:3.2"));
        var images = results.Single(r => r.Check == "images");
        Assert.Equal(CheckStatus.Fail, images.Status);
        Assert.Contains("neither containerd nor the bundle has", images.Message);
        Assert.Contains($"--image {WorkloadImage}", images.Fix);
        Assert.Empty(images.Repair);
    }

    [Fact]
    public async Task A_missing_image_without_a_bundle_says_to_give_one()
    {
        var images = (await Check("image-missing")).Single(r => r.Check == "images");
        Assert.Equal(CheckStatus.Fail, images.Status);
        Assert.Contains("--bundle", images.Fix);
    }

    [Fact]
    public async Task Node_without_cni_config_is_not_ready_for_that_reason()
    {
        var results = await Check("no-cni-config");
        var ready = results.Single(r => r.Check == "node-ready");
        Assert.Equal(CheckStatus.Fail, ready.Status);
        Assert.Contains("no CNI config in /etc/cni/net.d", ready.Message);
        Assert.Contains(ready.Evidence, e => e.Contains("cni config uninitialized", StringComparison.Ordinal) || e.Contains("NetworkPluginNotReady", StringComparison.Ordinal));
        Assert.Equal("node-ready", results.First(r => r.Status == CheckStatus.Fail).Check);
    }

    [Fact]
    public async Task A_stopped_kubelet_is_the_first_failure()
    {
        var results = await Check("kubelet-stopped");
        var first = results.First(r => r.Status == CheckStatus.Fail);
        Assert.Equal("kubelet", first.Check);
        Assert.Contains("the kubelet is not running", first.Message);
        Assert.Equal("systemctl restart kubelet", Assert.Single(first.Repair).Text);
    }

    [Fact]
    public async Task Kubeadm_reset_leaves_cni_state_that_doctor_names_and_removes()
    {
        var host = RecordedNode.Load("after-kubeadm-reset");
        var results = await new NodeDoctor(host, null, clock: RecordedClock("after-kubeadm-reset")).CheckAsync(CancellationToken.None);
        Assert.DoesNotContain(results, r => r.Status == CheckStatus.Fail);
        var left = results.Single(r => r.Check == "cni-leftovers");
        Assert.Equal(CheckStatus.Warn, left.Status);
        Assert.Contains(left.Evidence, e => e.Contains("10-flannel.conflist", StringComparison.Ordinal));
        Assert.Contains(left.Repair, s => s.Text == "rm -f /etc/cni/net.d/10-flannel.conflist");
        Assert.Contains(left.Repair, s => s.Text.StartsWith("ip link delete ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Certificates_read_from_kubeadm_expire_after_a_year()
    {
        var now = RecordedClock("healthy").GetUtcNow();
        var healthy = (await Check("healthy")).Single(r => r.Check == "certificates");
        Assert.Equal(CheckStatus.Ok, healthy.Status);
        var soon = (await Check("healthy", clock: new FixedClock(now.AddDays(350)))).Single(r => r.Check == "certificates");
        Assert.Equal(CheckStatus.Warn, soon.Status);
        Assert.Contains("apiserver", soon.Message);
        var expired = (await Check("healthy", clock: new FixedClock(now.AddDays(366)))).Single(r => r.Check == "certificates");
        Assert.Equal(CheckStatus.Fail, expired.Status);
        Assert.Contains("kubeadm certs renew all", expired.Fix);
    }

    [Fact]
    public async Task Held_packages_at_another_version_than_the_bundle_fail()
    {
        var bundle = LabBundle();
        foreach (var p in bundle.Document.Packages) p.Version = "1.20.15-00";
        var packages = (await Check("healthy", bundle)).Single(r => r.Check == "packages");
        Assert.Equal(CheckStatus.Fail, packages.Status);
        Assert.Contains("kubelet 1.20.2-00 (the bundle has 1.20.15-00)", packages.Message);
        Assert.Contains("kubelet=1.20.15-00", packages.Fix);
    }
}

internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
