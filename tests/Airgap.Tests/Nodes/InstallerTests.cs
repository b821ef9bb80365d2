using Airgap.Bundles;
using Airgap.Nodes;
using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Tests.Nodes;

/// <summary>
/// The install flow's orchestration on a simulated node: phase order, the journal's resume after a
/// failure in any phase, prerequisites of skipped phases, and how failures are reported. The real
/// commands are proved by make e2e on a real node; here only airgap's own decisions are checked.
/// </summary>
public sealed class InstallerTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("airgap-installer-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private InstallRequest Request(string bundle, params string[] skip) => new()
    {
        BundlePath = bundle,
        Options = new InstallOptions { KubernetesVersion = KubernetesVersion.Parse("v1.20.2"), SingleNode = true, Cni = CniChoice.Bridge, SkipPhases = skip },
        StateDirectory = Path.Combine(work, "state"),
        ReadyTimeout = TimeSpan.FromSeconds(3),
    };

    [Fact]
    public async Task A_single_node_install_runs_each_phase_in_order_through_the_host()
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var node = new SimulatedNode();

        var reports = await new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default);

        Assert.Equal(NodeWorkflows.Install.Names, reports.Select(r => r.Phase));
        Assert.All(reports, r => Assert.Equal("done", r.Outcome));
        var lines = node.Host.Commands.Select(c => c.DisplayLine).ToList();
        int At(string start) => lines.FindIndex(l => l.StartsWith(start, StringComparison.Ordinal));
        Assert.True(At("systemctl restart containerd") < At("apt-get") && At("apt-get") < At("ctr -n k8s.io images import")
                    && At("ctr -n k8s.io images import") < At("kubeadm init") && At("kubeadm init") < At("kubeadm token create"), string.Join("\n", lines));
        var install = lines.Single(l => l.Contains(" install -y", StringComparison.Ordinal));
        Assert.Contains("Dir::Etc::SourceParts=/dev/null", install);
        // Held packages at the bundle's version, other requested ones by name, dependencies left to apt.
        Assert.EndsWith("kubeadm=1.20.2-00 kubelet=1.20.2-00 kubectl=1.20.2-00 conntrack", install);
        Assert.Contains("apt-mark hold kubeadm kubelet kubectl", lines);
        Assert.Contains("SystemdCgroup = false", node.Host.Text(ContainerdConfig.DefaultPath));
        Assert.Contains("kubernetesVersion: v1.20.2", node.Host.Text(KubeadmConfig.DefaultPath));
        Assert.StartsWith("kubeadm join", node.Host.Text(Path.Combine(work, "state", "join.txt")));
        Assert.NotNull(node.Host.Text("/root/.kube/config"));
    }

    [Fact]
    public async Task With_a_registry_mirror_containerd_is_pointed_at_it_and_images_are_pulled_not_imported()
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var node = new SimulatedNode();
        var ca = Path.Combine(work, "ca.crt");
        await File.WriteAllTextAsync(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");

        var reports = await new Installer(node.Host, node.Progress).InstallAsync(Request(bundle) with { Mirror = RegistryMirror.Parse("https://10.0.0.5:5000", ca) }, default);

        Assert.All(reports, r => Assert.Equal("done", r.Outcome));
        Assert.Contains("config_path = \"/etc/containerd/certs.d\"", node.Host.Text(ContainerdConfig.DefaultPath));
        Assert.Contains("[host.\"https://10.0.0.5:5000/v2/k8s.gcr.io\"]", node.Host.Text("/etc/containerd/certs.d/k8s.gcr.io/hosts.toml"));
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", node.Host.Text(RegistryMirror.CaPath));
        var lines = node.Host.Commands.Select(c => c.DisplayLine).ToList();
        Assert.DoesNotContain(lines, l => l.StartsWith("ctr -n k8s.io images import", StringComparison.Ordinal));
        Assert.Contains("crictl --runtime-endpoint unix:///run/containerd/containerd.sock pull k8s.gcr.io/kube-apiserver:v1.20.2", lines);
        Assert.True(lines.FindIndex(l => l == "systemctl restart containerd") < lines.FindIndex(l => l.StartsWith("crictl", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_dpkg_killed_halfway_is_finished_with_dpkg_configure_a_before_apt_installs()
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var node = new SimulatedNode();
        node.Host.File("/var/lib/dpkg/updates/0003", "Package: kubelet\n");

        var reports = await new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default);

        Assert.All(reports, r => Assert.Equal("done", r.Outcome));
        var lines = node.Host.Commands.Select(c => c.DisplayLine).ToList();
        var configure = lines.FindIndex(l => l == "DEBIAN_FRONTEND=noninteractive dpkg --configure -a");
        Assert.True(configure >= 0 && configure < lines.FindIndex(l => l.Contains(" install -y", StringComparison.Ordinal)), string.Join("\n", lines));
        Assert.Contains(node.Progress.Lines, l => l.Contains("dpkg was interrupted", StringComparison.Ordinal));

        // dpkg's own scratch file is no interruption.
        var clean = new SimulatedNode();
        clean.Host.File("/var/lib/dpkg/updates/tmp.i", "");
        await new Installer(clean.Host, clean.Progress).InstallAsync(Request(bundle) with { StateDirectory = Path.Combine(work, "state2") }, default);
        Assert.DoesNotContain(clean.Host.Commands, c => c.DisplayLine.Contains("dpkg --configure -a", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_package_dpkg_left_half_installed_is_installed_from_the_bundle_s_deb_before_apt_runs()
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var node = new SimulatedNode { HalfInstalled = "kubectl" };

        var reports = await new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default);

        Assert.All(reports, r => Assert.Equal("done", r.Outcome));
        var lines = node.Host.Commands.Select(c => c.DisplayLine).ToList();
        var dpkg = lines.FindIndex(l => l.StartsWith("DEBIAN_FRONTEND=noninteractive dpkg -i --force-downgrade ", StringComparison.Ordinal));
        Assert.True(dpkg >= 0 && dpkg < lines.FindIndex(l => l.Contains(" install -y", StringComparison.Ordinal)), string.Join("\n", lines));
        var deb = lines[dpkg].Split(' ')[^1];
        Assert.Matches("/repo/debian-12-amd64-[0-9a-f]+/.*kubectl.*\\.deb$", deb);
        Assert.Contains(node.Progress.Lines, l => l.Contains("half-installed by an interrupted dpkg: kubectl", StringComparison.Ordinal));

        // Nothing half-installed: no dpkg -i.
        var clean = new SimulatedNode();
        await new Installer(clean.Host, clean.Progress).InstallAsync(Request(bundle) with { StateDirectory = Path.Combine(work, "state2") }, default);
        Assert.DoesNotContain(clean.Host.Commands, c => c.DisplayLine.Contains("dpkg -i", StringComparison.Ordinal));
    }

    public static TheoryData<string, string> Failures => new()
    {
        { "runtime", "systemctl restart containerd" },
        { "packages", "apt-mark hold" },
        { "images", "ctr -n k8s.io images import" },
        { "kubeadm", "kubeadm init" },
        { "cni", "get node" },
        { "finalize", "kubeadm token create" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_rerun_after_a_failure_checks_the_phases_before_and_continues_where_it_stopped(string phase, string failing)
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var node = new SimulatedNode { FailOn = failing };

        var e = await Assert.ThrowsAsync<AirgapException>(() => new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default));
        Assert.StartsWith($"phase {phase} failed", e.Message);

        node.FailOn = null;
        var reports = await new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default);
        var failedAt = NodeWorkflows.Install.Names.ToList().IndexOf(phase);
        for (var i = 0; i < reports.Count; i++)
            Assert.Equal(i < failedAt ? "done earlier, checked" : "done", reports[i].Outcome);
        // Only a retry of kubeadm's own half-made state is reset; nothing else is undone.
        Assert.Equal(phase == "kubeadm" ? 1 : 0, node.Host.Commands.Count(c => c.DisplayLine == "kubeadm reset -f"));
    }

    [Fact]
    public async Task One_phase_runs_alone_and_a_later_install_checks_it_instead_of_running_it_again()
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var node = new SimulatedNode();

        var alone = await new Installer(node.Host, node.Progress).RunPhaseAsync(Request(bundle), "preflight", default);

        Assert.Equal(("preflight", "done"), (Assert.Single(alone).Phase, alone[0].Outcome));
        Assert.DoesNotContain(node.Host.Commands, c => c.File is "apt-get" or "kubeadm" or "ctr");
        var reports = await new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default);
        Assert.Equal("done earlier, checked", reports.Single(r => r.Phase == "preflight").Outcome);
        Assert.Equal("done", reports.Single(r => r.Phase == "verify").Outcome);
    }

    [Fact]
    public async Task One_phase_alone_still_names_the_phase_it_needs()
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var node = new SimulatedNode();

        var e = await Assert.ThrowsAsync<AirgapException>(() => new Installer(node.Host, node.Progress).RunPhaseAsync(Request(bundle), "kubeadm", default));

        Assert.StartsWith("phase kubeadm failed", e.Message);
        Assert.Contains("needs the packages phase", e.Message);
    }

    [Fact]
    public async Task A_dry_run_plans_the_operators_changes_and_no_journal_writes()
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var node = new SimulatedNode();
        var dryRun = new DryRunHost(node.Host);

        var reports = await new Installer(dryRun, node.Progress).InstallAsync(Request(bundle) with { DryRun = true }, default);

        Assert.All(reports, r => Assert.Equal("planned", r.Outcome));
        Assert.Contains(dryRun.Plan, a => a.Path == ContainerdConfig.DefaultPath);
        Assert.DoesNotContain(dryRun.Plan, a => a.Path?.EndsWith("journal.json", StringComparison.Ordinal) == true);
        Assert.False(node.Host.Has(Path.Combine(work, "state", "journal.json")));
    }

    [Fact]
    public async Task A_kubeadm_failure_is_one_line_naming_the_command_with_its_output_tail_shown()
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var node = new SimulatedNode { FailOn = "kubeadm init" };

        var e = await Assert.ThrowsAsync<AirgapException>(() => new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default));

        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains($"`kubeadm init --config {KubeadmConfig.DefaultPath}", e.Message);
        Assert.Contains("exited with code 1", e.Message);
        Assert.Contains("[ERROR Port-6443]: Port 6443 is in use", e.Message);
        Assert.Contains(node.Progress.Lines, l => l.Contains("| error execution phase preflight", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("runtime", "images", "needs the runtime phase")]
    [InlineData("packages", "kubeadm", "needs the packages phase")]
    [InlineData("kubeadm", "kubeconfig", "needs the kubeadm phase")]
    public async Task Skipping_a_phase_another_one_needs_names_the_missing_phase(string skipped, string failing, string message)
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var node = new SimulatedNode();

        var e = await Assert.ThrowsAsync<AirgapException>(() => new Installer(node.Host, node.Progress).InstallAsync(Request(bundle, skipped), default));

        Assert.StartsWith($"phase {failing} failed", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public async Task A_bundle_for_another_architecture_is_refused_before_the_node_is_touched()
    {
        var bundle = await MiniBundle.WriteAsync(work, arch: "arm64");
        var node = new SimulatedNode();

        var e = await Assert.ThrowsAsync<AirgapException>(() => new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default));

        Assert.Contains("is for linux/arm64 but this node is linux/amd64; use the amd64 bundle", e.Message);
        Assert.Empty(node.Host.Commands);
    }

    [Fact]
    public async Task A_corrupted_bundle_fails_verify_before_the_node_is_touched()
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var bytes = await File.ReadAllBytesAsync(bundle);
        var at = IndexOf(bytes, "package kubeadm"u8.ToArray());
        bytes[at] ^= 0x20;
        await File.WriteAllBytesAsync(bundle, bytes);
        var node = new SimulatedNode();

        var e = await Assert.ThrowsAsync<AirgapException>(() => new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default));

        Assert.StartsWith("phase verify failed", e.Message);
        Assert.Contains("kubeadm_1.20.2-00_amd64.deb has sha256", e.Message);
        Assert.Empty(node.Host.Commands);
    }

    [Fact]
    public async Task An_os_the_bundle_has_no_packages_or_binaries_for_is_told_which_os_to_build_for()
    {
        var bundle = await MiniBundle.WriteAsync(work);
        var node = new SimulatedNode();
        node.Host.File("/etc/os-release", "ID=ubuntu\nVERSION_ID=\"22.04\"\n");

        var e = await Assert.ThrowsAsync<AirgapException>(() => new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default));

        Assert.Equal("phase runtime failed: the bundle has no packages for ubuntu-22.04 (it has debian-12) and no binaries; build it with --os ubuntu-22.04, or without --no-binaries", e.Message);
    }

    [Fact]
    public async Task An_rpm_node_uses_dnf_with_only_the_bundle_repository_downgrades_what_is_newer_and_locks_versions()
    {
        var bundle = await MiniBundle.WriteAsync(work, os: "rocky-9",
            packages: [("kubeadm", "1.20.2-0", true), ("kubelet", "1.20.2-0", true), ("kubectl", "1.20.2-0", true),
                       ("conntrack-tools", "1.4.7-2.el9", true), ("socat", "1.7.4.1-5.el9", true), ("libnetfilter_queue", "1.0.5-1.el9", false)]);
        var node = new SimulatedNode { InstalledRpm = { ["kubectl"] = "1.28.2-150500.1.1", ["socat"] = "1.7.4.4-1.el9" } };
        node.Host.Remove("/var/lib/dpkg/status").Directory("/var/lib/rpm").File("/usr/bin/dnf", "")
            .File("/etc/os-release", "ID=\"rocky\"\nVERSION_ID=\"9.3\"\n");

        await new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default);

        var lines = node.Host.Commands.Select(c => c.DisplayLine).ToList();
        const string only = "dnf -y '--disablerepo=*' --enablerepo=airgap-bundle --disableexcludes=airgap-bundle --setopt=install_weak_deps=False";
        // A requested tool the node has in a newer build (socat) is kept; dependencies are dnf's to pick.
        Assert.Contains($"{only} install kubeadm-1.20.2-0 kubelet-1.20.2-0 conntrack-tools", lines);
        Assert.Contains($"{only} downgrade kubectl-1.20.2-0", lines);
        Assert.Contains("dnf versionlock add kubeadm-1.20.2-0 kubelet-1.20.2-0 kubectl-1.20.2-0", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("apt", StringComparison.Ordinal));
        var repo = node.Host.Text(DnfBundleSource.RepoFile)!;
        Assert.Contains($"baseurl=file://{Path.Combine(work, "state", "repo")}/rocky-9-amd64-", repo);
        Assert.Contains("exclude=kubeadm kubelet kubectl", repo);
        Assert.Contains(node.Progress.Warnings, w => w == "kubectl 1.28.2-150500.1.1 is installed; replacing it with the bundle's older 1.20.2-0 (the bundle is the version lock)");
    }

    [Fact]
    public async Task An_rpm_transaction_killed_halfway_is_cleared_from_the_rpm_database_and_the_bundle_s_builds_installed_again()
    {
        var bundle = await MiniBundle.WriteAsync(work, os: "rocky-9",
            packages: [("kubeadm", "1.20.2-0", true), ("kubelet", "1.20.2-0", true), ("kubectl", "1.20.2-0", true)]);
        // Killed inside `dnf downgrade kubelet`: both builds are in the database.
        var node = new SimulatedNode { InstalledRpm = { ["kubelet"] = "1.28.2-0|1.20.2-0", ["kubectl"] = "1.20.2-0" } };
        node.Host.Remove("/var/lib/dpkg/status").Directory("/var/lib/rpm").File("/usr/bin/dnf", "")
            .File("/etc/os-release", "ID=\"rocky\"\nVERSION_ID=\"9.3\"\n");

        await new Installer(node.Host, node.Progress).InstallAsync(Request(bundle), default);

        var lines = node.Host.Commands.Select(c => c.DisplayLine).ToList();
        var drop = lines.IndexOf("rpm -e --justdb --nodeps --noscripts --allmatches kubelet");
        const string only = "dnf -y '--disablerepo=*' --enablerepo=airgap-bundle --disableexcludes=airgap-bundle --setopt=install_weak_deps=False";
        var install = lines.IndexOf($"{only} install kubeadm-1.20.2-0 kubelet-1.20.2-0");
        Assert.True(drop >= 0 && drop < install, string.Join("\n", lines));
        Assert.Contains(node.Progress.Lines, l => l.Contains("an rpm transaction was interrupted (two builds of kubelet", StringComparison.Ordinal));

        // A clean node: nothing is dropped.
        var clean = new SimulatedNode();
        clean.Host.Remove("/var/lib/dpkg/status").Directory("/var/lib/rpm").File("/usr/bin/dnf", "")
            .File("/etc/os-release", "ID=\"rocky\"\nVERSION_ID=\"9.3\"\n");
        await new Installer(clean.Host, clean.Progress).InstallAsync(Request(bundle) with { StateDirectory = Path.Combine(work, "state2") }, default);
        Assert.DoesNotContain(clean.Host.Commands, c => c.DisplayLine.Contains("--justdb", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reset_removes_what_install_wrote_and_the_binary_path_files_it_recorded()
    {
        var node = new SimulatedNode();
        node.Host.File("/usr/local/bin/kubeadm", "").File(AptBundleSource.ListFile, "deb x ./")
            .File(BinaryInstaller.InstalledFilesPath, "/usr/local/bin/kubeadm\n/etc/systemd/system/kubelet.service\n")
            .File("/etc/systemd/system/kubelet.service", "[Unit]");

        await new NodeReset(node.Host, node.Progress).ResetAsync(default);

        var lines = node.Host.Commands.Select(c => c.DisplayLine).ToList();
        Assert.Equal("/usr/local/bin/kubeadm reset -f", lines[0]);
        Assert.Contains("systemctl disable --now kubelet", lines);
        Assert.DoesNotContain("systemctl disable --now containerd", lines);
        Assert.False(node.Host.Has("/usr/local/bin/kubeadm"));
        Assert.False(node.Host.Has("/etc/systemd/system/kubelet.service"));
        Assert.False(node.Host.Has(AptBundleSource.ListFile));
        Assert.False(node.Host.Has(BinaryInstaller.InstalledFilesPath));
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (var i = 0; i <= haystack.Length - needle.Length; i++)
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) return i;
        throw new InvalidOperationException("not found");
    }

    /// <summary>The lab-shaped host whose commands have the effects the install relies on.</summary>
    private sealed class SimulatedNode
    {
        public FakeHost Host { get; } = NodeFixtures.LabHost();
        public RecordingProgress Progress { get; } = new();
        public string? FailOn { get; set; }
        public Dictionary<string, string> InstalledRpm { get; } = new();
        public string? HalfInstalled { get; set; }
        private bool containerdRunning, imported, kubernetesInstalled;
        private int pulled;

        public SimulatedNode()
        {
            Host.OnRun = Run;
            Host.File("/usr/bin/containerd", "");
        }

        private CommandResult Run(CommandSpec spec)
        {
            var line = spec.DisplayLine;
            if (FailOn is not null && line.Contains(FailOn, StringComparison.Ordinal))
                return Result(line, 1, "", ["error execution phase preflight: [preflight] Some fatal errors occurred:", "[ERROR Port-6443]: Port 6443 is in use"]);
            switch (spec.File)
            {
                case "sysctl":
                    foreach (var setting in spec.Args.Where(a => a.Contains('=')))
                        Host.File("/proc/sys/" + setting[..setting.IndexOf('=')].Replace('.', '/'), setting[(setting.IndexOf('=') + 1)..] + "\n");
                    break;
                case "systemctl" when spec.Args.SequenceEqual(["restart", "containerd"]):
                    containerdRunning = true;
                    break;
                case "ctr" when spec.Args.SequenceEqual(["version"]):
                    return Result(line, containerdRunning ? 0 : 1, "");
                case "ctr" when spec.Args.Contains("import"):
                    imported = true;
                    break;
                case "crictl" when spec.Args.Contains("pull"):
                    // The kubelet's way in: once every image was pulled through the mirror, the runtime has the set.
                    imported |= ++pulled == KubeadmImageTable.Get(KubernetesVersion.Parse("v1.20.2")).Images.Count;
                    break;
                case "containerd" when spec.Args.SequenceEqual(["--version"]):
                    return Result(line, 0, "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1\n");
                case "ctr" when spec.Args.Contains("ls"):
                    var set = KubeadmImageTable.Get(KubernetesVersion.Parse("v1.20.2"));
                    return Result(line, 0, imported ? string.Join("\n", set.Images.Select(set.Canonical)) + "\n" : "");
                case "apt-get" when spec.Args.Contains("install"):
                case "dnf" when spec.Args.Contains("install"):
                    kubernetesInstalled = true;
                    break;
                case "dnf" when spec.Args.Contains("downgrade"):
                    foreach (var p in spec.Args.Where(a => a.StartsWith("kubectl-", StringComparison.Ordinal))) InstalledRpm.Remove("kubectl");
                    break;
                case "dpkg-query" when spec.Args.Contains("${db:Status-Abbrev}|${Package}\n"):
                    return Result(line, 0, HalfInstalled is { } half ? $"ii |libc6\niHR|{half}\n" : "ii |libc6\n");
                case "dpkg" when spec.Args[0] == "-i":
                    HalfInstalled = null;
                    break;
                case "dpkg-query":
                    return kubernetesInstalled ? Result(line, 0, "ii  1.20.2-00") : Result(line, 1, "");
                case "rpm" when spec.Args.Contains("--justdb"):
                    foreach (var dropped in spec.Args.Where(a => !a.StartsWith('-'))) InstalledRpm.Remove(dropped);
                    break;
                case "rpm":
                    var name = spec.Args[^1];
                    // "a|b": two builds in the rpm database, as an interrupted transaction leaves them.
                    if (InstalledRpm.TryGetValue(name, out var v)) return Result(line, 0, string.Concat(v.Split('|').Select(b => $"0:{b}\n")));
                    return kubernetesInstalled && name.StartsWith("kube", StringComparison.Ordinal) ? Result(line, 0, "0:1.20.2-0\n") : Result(line, 1, "");
                case "kubeadm" when spec.Args[0] == "version":
                    return kubernetesInstalled ? Result(line, 0, "v1.20.2\n") : Result(line, 127, "");
                case "kubeadm" when spec.Args[0] == "init":
                    Host.File("/etc/kubernetes/admin.conf", "apiVersion: v1\nkind: Config\n").File("/etc/kubernetes/kubelet.conf", "kind: Config\n");
                    break;
                case "kubeadm" when spec.Args[0] == "token":
                    return Result(line, 0, "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:" + new string('a', 64) + "\n");
                case "kubectl" when spec.Args.Contains("node"):
                    return Result(line, 0, "True");
                case "kubectl" when spec.Args.Contains("pods"):
                    return Result(line, 0, string.Concat(new[] { "etcd-vm", "kube-apiserver-vm", "kube-controller-manager-vm", "kube-scheduler-vm", "kube-proxy-x1" }.Select(p => p + "=Running\n")));
            }
            return Result(line, 0, "");
        }

        private CommandResult Result(string line, int exit, string stdout, IReadOnlyList<string>? stderr = null) =>
            new(Host.Name, line, exit, TimeSpan.FromMilliseconds(5), stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), stderr ?? []) { Stdout = stdout };
    }

    internal sealed class RecordingProgress : IProgressSink
    {
        public List<string> Lines { get; } = [];
        public List<string> Warnings { get; } = [];
        public void Info(string line) { lock (Lines) Lines.Add(line); }
        public void Warn(string line) { lock (Warnings) Warnings.Add(line); }
        public void TransferStarted(string id, string label, long size) { }
        public void TransferAdvanced(string id, long bytes) { }
        public void TransferFinished(string id, bool fromCache) { }
    }
}
