using System.Runtime.InteropServices;
using System.Text;
using Airgap.Bundles;
using Airgap.Releases;

namespace Airgap.Nodes;

/// <summary>What an operator asked `airgap install` for, beyond the plan's role and CNI.</summary>
public sealed record InstallRequest
{
    public required string BundlePath { get; init; }
    public required InstallOptions Options { get; init; }
    public string PodNetworkCidr { get; init; } = "10.244.0.0/16";
    public string ServiceCidr { get; init; } = "10.96.0.0/12";
    public ProxyMode ProxyMode { get; init; } = ProxyMode.Iptables;
    public string? AdvertiseAddress { get; init; }
    public string? ControlPlaneEndpoint { get; init; }
    public IReadOnlyList<string> CertSans { get; init; } = [];
    public IgnoredPreflightErrors IgnorePreflight { get; init; } = IgnoredPreflightErrors.None;
    public bool Fix { get; init; }
    public KubeadmJoinSettings? Join { get; init; }

    /// <summary>For a control plane joining: the key `kubeadm init --upload-certs` printed.</summary>
    public string? CertificateKey { get; init; }
    public string StateDirectory { get; init; } = "/var/lib/airgap";
    public string KubeconfigUser { get; init; } = "root";
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The cluster's other nodes, probed over SSH so preflight can refuse cloned host names, MACs and product_uuids.</summary>
    public IReadOnlyList<SshTarget> Peers { get; init; } = [];

    public SshSettings Ssh { get; init; } = new();

    /// <summary>
    /// Plan only: the host is a <see cref="DryRunHost"/> (commands and writes recorded, reads real), and
    /// what the installer itself would unpack or wait for is named instead of done.
    /// </summary>
    public bool DryRun { get; init; }
}

public sealed record PhaseReport(string Phase, string Outcome, double Seconds, string? Detail = null);

/// <summary>
/// Runs the install plan on one node through an <see cref="IHost"/>: each phase is journaled, so a
/// re-run checks finished phases instead of redoing them and continues where a failure stopped.
/// </summary>
public sealed class Installer(IHost host, IProgressSink progress)
{

    public async Task<IReadOnlyList<PhaseReport>> InstallAsync(InstallRequest request, CancellationToken ct)
    {
        var document = await BundleReader.ReadDocumentAsync(request.BundlePath, ct).ConfigureAwait(false);
        var version = KubernetesVersion.Parse(document.Kubernetes);
        var options = request.Options with { KubernetesVersion = version };
        var plan = InstallPlan.Create(options);
        var sums = await BundleExtractor.ReadMemberAsync(request.BundlePath, BundleDocument.SumsFileName, ct).ConfigureAwait(false)
            ?? throw new AirgapException($"{request.BundlePath} has no SHA256SUMS; it is not a complete bundle");
        // The bundle and every setting a phase uses: a re-run with other flags is a different install, not "done".
        var fingerprint = PhaseJournal.Fingerprint(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(sums)),
            options.Role.ToString(), options.SingleNode.ToString(), options.Cni.ToString(), options.Runtime.ToString(),
            request.PodNetworkCidr, request.ServiceCidr, request.ProxyMode.ToString(), request.AdvertiseAddress ?? "",
            request.ControlPlaneEndpoint ?? "", string.Join(',', request.CertSans), request.Join?.ApiServerEndpoint ?? "");
        var journal = await PhaseJournal.LoadAsync(host, ct, Path.Combine(request.StateDirectory, "journal.json")).ConfigureAwait(false);
        var context = new InstallContext(request with { Options = options }, document, version, fingerprint);

        using var docker = new DisposeLater(() => context.Docker?.Dispose());
        var reports = new List<PhaseReport>();
        foreach (var phase in plan.Phases)
        {
            if (phase.Skipped)
            {
                reports.Add(new PhaseReport(phase.Name, "skipped", 0, phase.SkipReason));
                progress.Info($"[{phase.Name}] skipped: {phase.SkipReason}");
                continue;
            }
            var started = DateTime.UtcNow;
            if (journal.IsDone(phase.Name, fingerprint))
            {
                // Done before: check its result still holds rather than doing it again.
                await CheckAsync(phase.Phase, context, ct).ConfigureAwait(false);
                reports.Add(new PhaseReport(phase.Name, "done earlier, checked", (DateTime.UtcNow - started).TotalSeconds));
                progress.Info($"[{phase.Name}] done earlier; checked");
                continue;
            }
            progress.Info($"[{phase.Name}] {phase.Description}");
            // An earlier attempt of this very install that stopped inside kubeadm left its half-made
            // state ("manifests already exist"); it is ours to clear. Anyone else's cluster is refused by preflight.
            context.RetryingKubeadm = phase.Phase == InstallPhase.Kubeadm && journal.Get(phase.Name) is { State: not PhaseState.Done } earlier && earlier.Fingerprint == fingerprint;
            await journal.StartAsync(phase.Name, fingerprint, ct).ConfigureAwait(false);
            try
            {
                await RequireAsync(phase.Phase, context, ct).ConfigureAwait(false);
                await RunAsync(phase.Phase, context, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await journal.FailAsync(phase.Name, e.Message, ct).ConfigureAwait(false);
                if (e is CommandFailedException failed)
                    foreach (var line in failed.Result.StderrTail.Concat(failed.Result.StdoutTail).TakeLast(15)) progress.Info("  | " + line);
                throw new AirgapException($"phase {phase.Name} failed: {e.Message}", e);
            }
            await journal.DoneAsync(phase.Name, ct).ConfigureAwait(false);
            var seconds = (DateTime.UtcNow - started).TotalSeconds;
            reports.Add(new PhaseReport(phase.Name, request.DryRun ? "planned" : "done", seconds));
            if (!request.DryRun) progress.Info($"[{phase.Name}] done in {seconds:0.0} s");
        }
        return reports;
    }

    private sealed class InstallContext(InstallRequest request, BundleDocument document, KubernetesVersion version, string fingerprint)
    {
        public string Fingerprint { get; } = fingerprint;
        public InstallRequest Request { get; } = request;
        public BundleDocument Document { get; } = document;
        public KubernetesVersion Version { get; } = version;
        public HostFacts? Facts { get; set; }
        public NodeSoftware? Software { get; set; }
        public bool RetryingKubeadm { get; set; }
        public DockerImageStore? Docker { get; set; }
        public string Repository => Path.Combine(Request.StateDirectory, "repo");
    }

    private Task RunAsync(InstallPhase phase, InstallContext c, CancellationToken ct) => phase switch
    {
        InstallPhase.Verify => VerifyAsync(c, ct),
        InstallPhase.Preflight => PreflightAsync(c, ct),
        InstallPhase.Runtime => RuntimeAsync(c, ct),
        InstallPhase.Packages => PackagesAsync(c, ct),
        InstallPhase.Images => ImagesAsync(c, ct),
        InstallPhase.Kubeadm => KubeadmAsync(c, ct),
        InstallPhase.Kubeconfig => KubeconfigAsync(c, ct),
        InstallPhase.Cni => CniAsync(c, ct),
        InstallPhase.Finalize => FinalizeAsync(c, ct),
        _ => throw new ArgumentOutOfRangeException(nameof(phase)),
    };

    /// <summary>
    /// What a phase needs from the phases before it, checked before it starts, so a skipped or undone
    /// earlier phase is named instead of surfacing as some command's "not found".
    /// </summary>
    private async Task RequireAsync(InstallPhase phase, InstallContext c, CancellationToken ct)
    {
        switch (phase)
        {
            case InstallPhase.Images:
                if (!c.Request.DryRun && !await ImageStore(c).AnswersAsync(ct).ConfigureAwait(false))
                    throw new AirgapException($"{RuntimeName(c)} does not answer; the images phase needs the runtime phase: do not skip it, or start {RuntimeName(c)}");
                break;
            case InstallPhase.Kubeadm:
                if (c.Request.DryRun) break;
                var kubeadm = await KubeadmProgramAsync(c, ct).ConfigureAwait(false);
                if ((await host.RunAsync(new CommandSpec(kubeadm, "version", "-o", "short") { Timeout = TimeSpan.FromSeconds(30) }, ct).ConfigureAwait(false)).ExitCode != 0)
                    throw new AirgapException($"{kubeadm} is not installed or does not run; the kubeadm phase needs the packages phase: do not skip it");
                await CheckImagesAsync(c, ct).ConfigureAwait(false);
                break;
            case InstallPhase.Kubeconfig:
            case InstallPhase.Cni:
                if (!c.Request.DryRun && !await host.FileExistsAsync("/etc/kubernetes/admin.conf", ct).ConfigureAwait(false))
                    throw new AirgapException($"/etc/kubernetes/admin.conf is missing; the {phase.ToName()} phase needs the kubeadm phase to have run kubeadm init: do not skip it");
                break;
        }
    }

    /// <summary>The cheap check of a phase finished earlier: its effect is still in place.</summary>
    private async Task CheckAsync(InstallPhase phase, InstallContext c, CancellationToken ct)
    {
        switch (phase)
        {
            case InstallPhase.Verify:
                CheckArch(c);
                break;
            case InstallPhase.Runtime:
                if (!await ImageStore(c).AnswersAsync(ct).ConfigureAwait(false))
                    throw new AirgapException($"{RuntimeName(c)} does not answer; start it (systemctl start {(c.Request.Options.Runtime == ContainerRuntimeKind.Docker ? "docker" : "containerd")}) or run airgap reset and install again");
                break;
            case InstallPhase.Packages:
                await CheckHeldVersionsAsync(c, ct).ConfigureAwait(false);
                break;
            case InstallPhase.Images:
                await CheckImagesAsync(c, ct).ConfigureAwait(false);
                break;
            case InstallPhase.Kubeadm:
                if (!await host.FileExistsAsync("/etc/kubernetes/kubelet.conf", ct).ConfigureAwait(false))
                    throw new AirgapException("the journal says kubeadm ran, but /etc/kubernetes/kubelet.conf is gone; run airgap reset, then install again");
                break;
            case InstallPhase.Kubeconfig:
                if (!await host.FileExistsAsync(KubeconfigPath(c), ct).ConfigureAwait(false))
                    throw new AirgapException($"{KubeconfigPath(c)} is gone; run airgap install --skip-phases with the others, or airgap reset");
                break;
            case InstallPhase.Cni:
            case InstallPhase.Finalize when c.Request.Options.Role == NodeRole.InitControlPlane:
                await WaitNodeReadyAsync(c, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
                break;
        }
    }

    // ── verify ────────────────────────────────────────────────────────────────────────────────
    private async Task VerifyAsync(InstallContext c, CancellationToken ct)
    {
        CheckArch(c);
        var report = await BundleReader.VerifyAsync(c.Request.BundlePath, progress, ct).ConfigureAwait(false);
        progress.Info($"  bundle OK: {report.Members} members, {report.Images} images, Kubernetes {c.Document.Kubernetes}");
    }

    private static void CheckArch(InstallContext c) => CheckArch(c.Request.BundlePath, c.Document);

    private static void CheckArch(string bundlePath, BundleDocument document)
    {
        var node = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "amd64",
            Architecture.Arm64 => "arm64",
            var other => other.ToString().ToLowerInvariant(),
        };
        if (document.Arch != node)
            throw new AirgapException($"{bundlePath} is for linux/{document.Arch} but this node is linux/{node}; use the {node} bundle");
    }

    // ── preflight ─────────────────────────────────────────────────────────────────────────────
    private static PreflightOptions PreflightOptionsFor(InstallRequest request, KubernetesVersion version, IReadOnlyList<PeerFacts> peers, bool fix) => new()
    {
        Role = request.Options.Role,
        KubernetesVersion = version,
        Ignore = request.IgnorePreflight,
        Fix = fix,
        Peers = peers,
    };

    private async Task<IReadOnlyList<PeerFacts>> ProbePeersAsync(InstallRequest request, CancellationToken ct)
    {
        if (request.Peers.Count == 0) return [];
        progress.Info($"  probing {request.Peers.Count} peer{(request.Peers.Count == 1 ? "" : "s")} over SSH: {string.Join(", ", request.Peers)}");
        return await Task.WhenAll(request.Peers.Select(async target =>
        {
            using var peer = await SshHost.ConnectAsync(target, request.Ssh, ct).ConfigureAwait(false);
            return new PeerFacts(target.ToString(), await HostProbe.ProbeAsync(peer, ct).ConfigureAwait(false));
        })).ConfigureAwait(false);
    }

    private async Task PreflightAsync(InstallContext c, CancellationToken ct)
    {
        c.Facts = await HostProbe.ProbeAsync(host, ct).ConfigureAwait(false);
        var peers = await ProbePeersAsync(c.Request, ct).ConfigureAwait(false);
        var report = Preflight.Run(c.Facts, PreflightOptionsFor(c.Request, c.Version, peers, c.Request.Fix));
        foreach (var r in report.Results.Where(r => r.Status != PreflightStatus.Ok))
            progress.Info($"  {r.Status.ToString().ToLowerInvariant(),-5} {r.Name}: {r.Message}");
        if (report.FixPlan.Count > 0)
        {
            foreach (var step in report.FixPlan)
            {
                progress.Info($"  fix: {step.Text}");
                await step.ApplyAsync(host, ct).ConfigureAwait(false);
            }
            c.Facts = await HostProbe.ProbeAsync(host, ct).ConfigureAwait(false);
            // Checked again after the repairs, without planning them a second time.
            report = Preflight.Run(c.Facts, PreflightOptionsFor(c.Request, c.Version, peers, fix: false));
        }
        report.EnsurePassed();
    }

    private async Task<HostFacts> FactsAsync(InstallContext c, CancellationToken ct) =>
        c.Facts ??= await HostProbe.ProbeAsync(host, ct).ConfigureAwait(false);

    // ── runtime ───────────────────────────────────────────────────────────────────────────────
    private async Task<bool> AnyExistsAsync(CancellationToken ct, params string[] paths)
    {
        foreach (var path in paths)
            if (await host.FileExistsAsync(path, ct).ConfigureAwait(false)) return true;
        return false;
    }

    private static string RuntimeName(InstallContext c) => c.Request.Options.Runtime == ContainerRuntimeKind.Docker ? "the Docker engine" : "containerd";

    private async Task RuntimeAsync(InstallContext c, CancellationToken ct)
    {
        if (c.Request.Options.Runtime == ContainerRuntimeKind.Docker)
        {
            await DockerRuntimeAsync(c, ct).ConfigureAwait(false);
            return;
        }
        var facts = await FactsAsync(c, ct).ConfigureAwait(false);
        var software = await SoftwareAsync(c, ct).ConfigureAwait(false);
        var runtimePackages = software.Source is null ? [] : software.Packages.Where(p => p.Name is "containerd" or "containerd.io" or "runc").ToList();
        var installedContainerd = await AnyExistsAsync(ct, "/usr/bin/containerd", "/usr/local/bin/containerd").ConfigureAwait(false);
        if (runtimePackages.Count > 0)
        {
            await PrepareRepositoryAsync(c, software, ct).ConfigureAwait(false);
            await software.Source!.InstallAsync(runtimePackages, ct).ConfigureAwait(false);
        }
        else if (installedContainerd)
        {
            progress.Info("  the bundle has no containerd package for this node; configuring the containerd already installed");
        }
        else if (BinaryInstaller.HasRuntime(c.Document))
        {
            await new BinaryInstaller(host, progress, c.Request.DryRun).InstallRuntimeAsync(c.Request.BundlePath, c.Document, ct).ConfigureAwait(false);
        }
        else
        {
            throw new AirgapException($"the bundle has neither a containerd package for {software.Os} nor containerd binaries, and none is installed; " +
                                      $"build the bundle with --os {software.Os} or without --no-binaries");
        }

        var set = KubeadmImageTable.Get(c.Version);
        var settings = new ContainerdSettings
        {
            SandboxImage = ClusterImages.PauseImage(set, c.Document.Images.Select(i => i.Name).ToList()),
            CgroupDriver = facts.CgroupDriver,
            RestrictOomScoreAdj = facts.RestrictOomScoreAdj,
        };
        if (!facts.SystemdIsInit) progress.Info("  PID 1 is not systemd: containerd and kubelet use the cgroupfs driver");
        if (facts.RestrictOomScoreAdj) progress.Info("  CAP_SYS_RESOURCE is missing: containerd gets restrict_oom_score_adj = true");
        await host.WriteTextAsync(ContainerdConfig.DefaultPath, ContainerdConfig.Render(settings), HostExtensions.Mode0644, ct).ConfigureAwait(false);
        await host.RunCheckedAsync(new CommandSpec("systemctl", "enable", "containerd"), ct).ConfigureAwait(false);
        await host.RunCheckedAsync(new CommandSpec("systemctl", "restart", "containerd"), ct).ConfigureAwait(false);
        await WaitForAsync("containerd to answer", TimeSpan.FromSeconds(60), () => ImageStore(c).AnswersAsync(ct), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// --runtime docker uses the node's own Docker engine (bundles carry containerd, not Docker): its
    /// cgroup driver is set to the kubelet's, other daemon.json settings are kept, and it is restarted.
    /// </summary>
    private async Task DockerRuntimeAsync(InstallContext c, CancellationToken ct)
    {
        var facts = await FactsAsync(c, ct).ConfigureAwait(false);
        if (!await AnyExistsAsync(ct, "/usr/bin/dockerd", "/usr/sbin/dockerd", "/usr/local/bin/dockerd").ConfigureAwait(false))
            throw new AirgapException("--runtime docker uses the node's own Docker engine and dockerd is not installed; install Docker from the OS media, or use --runtime containerd");
        var existing = await host.ReadTextAsync(DockerDaemonConfig.DefaultPath, ct).ConfigureAwait(false);
        await host.WriteTextAsync(DockerDaemonConfig.DefaultPath, DockerDaemonConfig.Render(existing, facts.CgroupDriver, facts.RestrictOomScoreAdj), HostExtensions.Mode0644, ct).ConfigureAwait(false);
        progress.Info($"  {DockerDaemonConfig.DefaultPath}: native.cgroupdriver={facts.CgroupDriver.ToConfigValue()}{(facts.RestrictOomScoreAdj ? ", oom-score-adjust 0 (no CAP_SYS_RESOURCE)" : "")}");
        await host.RunCheckedAsync(new CommandSpec("systemctl", "enable", "docker"), ct).ConfigureAwait(false);
        await host.RunCheckedAsync(new CommandSpec("systemctl", "restart", "docker"), ct).ConfigureAwait(false);
        if (c.Request.DryRun) return;
        var store = (DockerImageStore)ImageStore(c);
        await WaitForAsync("the Docker engine to answer", TimeSpan.FromSeconds(60), () => store.AnswersAsync(ct), ct).ConfigureAwait(false);
        progress.Info($"  Docker {await store.VersionAsync(ct).ConfigureAwait(false)} answers at {store.Endpoint}");
    }

    /// <summary>
    /// How Kubernetes gets onto this node: the bundle's packages for its OS through its own package
    /// manager, or, when the bundle has none for it, the bundle's release binaries.
    /// </summary>
    private sealed record NodeSoftware(string Os, IBundlePackageSource? Source, IReadOnlyList<BundlePackage> Packages)
    {
        public bool FromBinaries => Source is null;
        public string Kubeadm => FromBinaries ? BinaryInstaller.PathOf("kubeadm") : "kubeadm";
        public string Kubectl => FromBinaries ? BinaryInstaller.PathOf("kubectl") : "kubectl";
    }

    private async Task<NodeSoftware> SoftwareAsync(InstallContext c, CancellationToken ct)
    {
        if (c.Software is not null) return c.Software;
        var facts = await FactsAsync(c, ct).ConfigureAwait(false);
        var os = facts.Os?.Profile ?? "an unknown OS (no /etc/os-release)";
        var packages = c.Document.Packages.Where(p => p.Os == os && FitsArch(p.Arch, c.Document.Arch)).ToList();
        if (packages.Count > 0)
        {
            var source = await BundlePackageSources.ForAsync(host, progress, facts.PackageManager, BundlePackageSources.FormatOf(packages), os, ct).ConfigureAwait(false);
            return c.Software = new NodeSoftware(os, source, packages);
        }
        if (BinaryInstaller.Covers(c.Document))
        {
            var available = c.Document.Packages.Select(p => p.Os).Distinct().ToList();
            progress.Info($"  the bundle has no packages for {os}{(available.Count > 0 ? $" (it has {string.Join(", ", available)})" : "")}: " +
                          $"installing its release binaries into {BinaryInstaller.BinDirectory} with systemd units");
            return c.Software = new NodeSoftware(os, null, []);
        }
        var has = c.Document.Packages.Select(p => p.Os).Distinct().ToList();
        throw new AirgapException($"the bundle has no packages for {os} (it has {(has.Count == 0 ? "none" : string.Join(", ", has))}) and no binaries; " +
                                  $"build it with --os {os}, or without --no-binaries");
    }

    /// <summary>Debian spells architectures amd64/arm64 (all for none); rpm spells them x86_64/aarch64 (noarch).</summary>
    private static bool FitsArch(string packageArch, string bundleArch) => packageArch == bundleArch || (packageArch, bundleArch) switch
    {
        ("all" or "noarch", _) => true,
        ("x86_64", "amd64") or ("aarch64", "arm64") => true,
        _ => false,
    };

    /// <summary>Unpacks the bundle's repository for this OS once and points the package manager at it alone.</summary>
    private async Task PrepareRepositoryAsync(InstallContext c, NodeSoftware software, CancellationToken ct)
    {
        var prefix = $"packages/{software.Os}/{c.Document.Arch}/";
        // One directory per bundle (named by its fingerprint), filled under a temporary name and renamed
        // when complete: an interrupted unpack or another bundle's repository is never mistaken for this one.
        var directory = Path.Combine(c.Repository, $"{software.Os}-{c.Document.Arch}-{c.Fingerprint[7..19]}");
        if (c.Request.DryRun && !Directory.Exists(directory))
            progress.Info($"  would unpack {prefix} into {directory}");
        else if (!Directory.Exists(directory))
        {
            var partial = directory + ".partial";
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
            var expected = c.Document.Files.ToDictionary(f => f.Path, f => f.Sha256, StringComparer.Ordinal);
            var count = await BundleExtractor.ExtractAsync(c.Request.BundlePath, prefix, partial, expected, ct).ConfigureAwait(false);
            Directory.Move(partial, directory);
            progress.Info($"  unpacked {count} repository files into {directory}");
        }
        await software.Source!.ConfigureAsync(directory, ct).ConfigureAwait(false);
    }

    // ── packages ──────────────────────────────────────────────────────────────────────────────
    private async Task PackagesAsync(InstallContext c, CancellationToken ct)
    {
        var software = await SoftwareAsync(c, ct).ConfigureAwait(false);
        if (software.FromBinaries)
        {
            await new BinaryInstaller(host, progress, c.Request.DryRun).InstallKubernetesAsync(c.Request.BundlePath, c.Document, ct).ConfigureAwait(false);
        }
        else
        {
            await PrepareRepositoryAsync(c, software, ct).ConfigureAwait(false);
            await software.Source!.InstallAsync(software.Packages, ct).ConfigureAwait(false);
        }
        await CheckHeldVersionsAsync(c, ct).ConfigureAwait(false);
    }

    private async Task CheckHeldVersionsAsync(InstallContext c, CancellationToken ct)
    {
        if (c.Request.DryRun) return;
        var software = await SoftwareAsync(c, ct).ConfigureAwait(false);
        if (software.FromBinaries)
        {
            await new BinaryInstaller(host, progress, c.Request.DryRun).CheckVersionsAsync(c.Version, ct).ConfigureAwait(false);
            return;
        }
        foreach (var p in software.Packages.Where(p => BundlePackageSources.Held.Contains(p.Name)).DistinctBy(p => p.Name))
        {
            var installed = await software.Source!.InstalledVersionAsync(p.Name, ct).ConfigureAwait(false);
            if (installed != p.Version)
                throw new AirgapException($"{p.Name} is {installed ?? "not installed"}, the bundle holds {p.Version}; run airgap install again to put the bundle's version back");
        }
    }

    // ── images ────────────────────────────────────────────────────────────────────────────────
    private IImageStore ImageStore(InstallContext c) => c.Request.Options.Runtime == ContainerRuntimeKind.Docker
        ? c.Docker ??= DockerImageStore.ForNode()
        : new ContainerdImageStore(host);

    private async Task ImagesAsync(InstallContext c, CancellationToken ct)
    {
        progress.Info($"  importing {c.Document.Images.Count} images into {(c.Request.Options.Runtime == ContainerRuntimeKind.Docker ? "Docker" : "containerd (namespace k8s.io)")}");
        if (c.Request.DryRun && c.Request.Options.Runtime == ContainerRuntimeKind.Docker)
        {
            progress.Info($"  would stream the bundle's images/ into the Docker engine's load API");
            return;
        }
        await ImageStore(c).ImportAsync(c.Request.BundlePath, ct).ConfigureAwait(false);
        if (!c.Request.DryRun) await CheckImagesAsync(c, ct).ConfigureAwait(false);
    }

    private async Task CheckImagesAsync(InstallContext c, CancellationToken ct)
    {
        var present = await ImageStore(c).NamesAsync(ct).ConfigureAwait(false);
        var missing = c.Document.Images.Select(i => i.Name).Where(n => !present.Contains(n)).ToList();
        if (missing.Count > 0)
            throw new AirgapException($"the runtime lacks {missing.Count} of the bundle's images ({string.Join(", ", missing.Take(3))}); " +
                                      "the images phase imports them: do not skip it, and check the runtime's image list");
    }

    // ── kubeadm ───────────────────────────────────────────────────────────────────────────────
    private async Task KubeadmAsync(InstallContext c, CancellationToken ct)
    {
        var facts = await FactsAsync(c, ct).ConfigureAwait(false);
        var set = KubeadmImageTable.Get(c.Version);
        var request = c.Request;
        KubeadmSettings settings = new()
        {
            KubernetesVersion = c.Version,
            CgroupDriver = facts.CgroupDriver,
            AdvertiseAddress = request.AdvertiseAddress,
            PodSubnet = request.PodNetworkCidr,
            ServiceSubnet = request.ServiceCidr,
            ControlPlaneEndpoint = request.ControlPlaneEndpoint,
            CertSans = request.CertSans,
            ImageRepository = ClusterImages.ImageRepository(set, c.Document.Images.Select(i => i.Name).ToList()),
            ProxyMode = request.ProxyMode,
            CriSocket = request.Options.Runtime == ContainerRuntimeKind.Docker ? DockerDaemonConfig.DockershimSocket : KubeadmConfig.ContainerdSocket,
            UntaintControlPlane = request.Options.SingleNode,
            Join = request.Join,
            CertificateKey = request.CertificateKey,
        };
        await host.RunCheckedAsync(new CommandSpec("systemctl", "enable", "kubelet"), ct).ConfigureAwait(false);
        var verb = request.Options.Role == NodeRole.InitControlPlane ? "init" : "join";
        if (verb == "init" && !request.Options.SingleNode)
        {
            // Made here rather than by kubeadm so it can be handed to the next control plane (join-control-plane.txt).
            settings = settings with { CertificateKey = await CertificateKeyAsync(c, await KubeadmProgramAsync(c, ct).ConfigureAwait(false), ct).ConfigureAwait(false) };
            await host.WriteTextAsync(Path.Combine(request.StateDirectory, "certificate-key"), settings.CertificateKey + "\n", HostExtensions.Mode0600, ct).ConfigureAwait(false);
        }
        if (c.RetryingKubeadm)
        {
            progress.Info("  the last attempt stopped inside kubeadm: kubeadm reset -f before trying again");
            await host.RunAsync(new CommandSpec(await KubeadmProgramAsync(c, ct).ConfigureAwait(false), "reset", "-f") { Timeout = TimeSpan.FromMinutes(5) }, ct).ConfigureAwait(false);
        }
        await host.WriteTextAsync(KubeadmConfig.DefaultPath, KubeadmConfig.Render(settings), HostExtensions.Mode0600, ct).ConfigureAwait(false);
        var args = new List<string> { verb, "--config", KubeadmConfig.DefaultPath };
        // airgap's own preflight ran; kubeadm's repeats some checks, and the operator's ignores apply to both.
        if (request.IgnorePreflight.Names.Count > 0) args.Add("--ignore-preflight-errors=" + string.Join(',', request.IgnorePreflight.Names));
        if (verb == "init" && request.Options.Role == NodeRole.InitControlPlane && !request.Options.SingleNode) args.Add("--upload-certs");
        var secrets = new List<string>();
        if (request.Join?.Token is { } token) secrets.Add(token);
        if (settings.CertificateKey is { } key) secrets.Add(key);
        await host.RunCheckedAsync(new CommandSpec(await KubeadmProgramAsync(c, ct).ConfigureAwait(false), [.. args])
        {
            Timeout = TimeSpan.FromMinutes(15),
            // kubeadm prints the tokens and certificate keys it made itself: keep them out of failure tails too.
            Sensitive = true,
            Secrets = secrets,
            OnOutput = line => progress.Info("  kubeadm: " + Redactor.Redact(line.Text, secrets)),
        }, ct).ConfigureAwait(false);
    }

    // ── kubeconfig ────────────────────────────────────────────────────────────────────────────
    private static string KubeconfigPath(InstallContext c) =>
        c.Request.KubeconfigUser == "root" ? "/root/.kube/config" : $"/home/{c.Request.KubeconfigUser}/.kube/config";

    private async Task KubeconfigAsync(InstallContext c, CancellationToken ct)
    {
        var admin = c.Request.DryRun
            ? Encoding.UTF8.GetBytes("# /etc/kubernetes/admin.conf, as kubeadm init writes it\n")
            : await host.ReadFileAsync("/etc/kubernetes/admin.conf", ct).ConfigureAwait(false)
              ?? throw new AirgapException("/etc/kubernetes/admin.conf is missing after kubeadm init");
        var path = KubeconfigPath(c);
        await host.WriteFileAsync(path, admin, HostExtensions.Mode0600, ct).ConfigureAwait(false);
        if (c.Request.KubeconfigUser != "root")
            await host.RunCheckedAsync(new CommandSpec("chown", "-R", $"{c.Request.KubeconfigUser}:", Path.GetDirectoryName(path)!), ct).ConfigureAwait(false);
        // Remembered so airgap reset removes the kubeconfig it wrote, for whichever user.
        await host.WriteTextAsync(Path.Combine(c.Request.StateDirectory, "kubeconfig-path"), path + "\n", HostExtensions.Mode0600, ct).ConfigureAwait(false);
        progress.Info($"  wrote {path} (0600)");
    }

    private async Task<CommandSpec> KubectlAsync(InstallContext c, CancellationToken ct, params string[] args) =>
        new(await InstalledSoftwareAsync(c, ct).ConfigureAwait(false) is { } software ? software.Kubectl : "kubectl",
            ["--kubeconfig", "/etc/kubernetes/admin.conf", .. args]) { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>kubeadm as this node's install put it there (the binary path's copy by full path, so another on PATH cannot stand in).</summary>
    private async Task<string> KubeadmProgramAsync(InstallContext c, CancellationToken ct) =>
        await InstalledSoftwareAsync(c, ct).ConfigureAwait(false) is { } software ? software.Kubeadm : "kubeadm";

    /// <summary>
    /// How the packages phase installs Kubernetes here, or null when the bundle cannot for this node
    /// (an images-only bundle with --skip-phases packages, say): then the node's own kubeadm and kubectl
    /// on PATH are used, and the kubeadm phase's prerequisite check says so if there are none.
    /// </summary>
    private async Task<NodeSoftware?> InstalledSoftwareAsync(InstallContext c, CancellationToken ct)
    {
        try
        {
            return await SoftwareAsync(c, ct).ConfigureAwait(false);
        }
        catch (AirgapException)
        {
            return null;
        }
    }

    // ── cni ───────────────────────────────────────────────────────────────────────────────────
    private async Task CniAsync(InstallContext c, CancellationToken ct)
    {
        if (c.Request.Options.Cni == CniChoice.Bridge)
        {
            await host.WriteTextAsync($"/etc/cni/net.d/{BridgeCniConfig.FileName}", BridgeCniConfig.Render(c.Request.PodNetworkCidr), HostExtensions.Mode0644, ct).ConfigureAwait(false);
        }
        else
        {
            var manifestPath = c.Document.Cni.Manifest
                ?? throw new AirgapException("the bundle has no Flannel manifest (it was built with --cni none); install with --cni none or --cni bridge");
            var manifest = await BundleExtractor.ReadMemberAsync(c.Request.BundlePath, manifestPath, ct).ConfigureAwait(false)
                ?? throw new AirgapException($"{manifestPath} is listed in bundle.yaml but missing from the bundle");
            var rendered = FlannelManifestRenderer.SetNetwork(Encoding.UTF8.GetString(manifest), c.Request.PodNetworkCidr);
            var target = Path.Combine(c.Request.StateDirectory, "kube-flannel.yml");
            await host.WriteTextAsync(target, rendered, HostExtensions.Mode0644, ct).ConfigureAwait(false);
            await host.RunCheckedAsync(await KubectlAsync(c, ct, "apply", "-f", target), ct).ConfigureAwait(false);
        }
        await WaitNodeReadyAsync(c, c.Request.ReadyTimeout, ct).ConfigureAwait(false);
    }

    private async Task WaitNodeReadyAsync(InstallContext c, TimeSpan timeout, CancellationToken ct)
    {
        if (c.Request.DryRun)
        {
            progress.Info("  would wait for the node to be Ready");
            return;
        }
        var facts = await FactsAsync(c, ct).ConfigureAwait(false);
        var node = facts.Hostname.ToLowerInvariant();
        var lastState = "";
        await WaitForAsync($"node {node} to be Ready", timeout, async () =>
        {
            var r = await host.RunAsync(await KubectlAsync(c, ct, "get", "node", node, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"), ct).ConfigureAwait(false);
            var state = r.ExitCode == 0 ? r.Stdout.Trim() : "unknown";
            if (state != lastState) progress.Info($"  node {node} Ready={state}");
            lastState = state;
            return state == "True";
        }, ct).ConfigureAwait(false);
    }

    // ── finalize ──────────────────────────────────────────────────────────────────────────────
    private async Task FinalizeAsync(InstallContext c, CancellationToken ct)
    {
        if (c.Request.Options.Role != NodeRole.InitControlPlane)
        {
            progress.Info("  joined; check with kubectl get nodes on a control plane");
            return;
        }
        if (c.Request.DryRun)
        {
            progress.Info("  would wait for the control plane's pods, then write the join details (0600)");
            return;
        }
        await WaitForAsync("kube-system pods to run", c.Request.ReadyTimeout, async () =>
        {
            var r = await host.RunAsync(await KubectlAsync(c, ct, "get", "pods", "-n", "kube-system", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.phase}{\"\\n\"}{end}"), ct).ConfigureAwait(false);
            if (r.ExitCode != 0) return false;
            var pods = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=')).ToList();
            var needed = new[] { "etcd-", "kube-apiserver-", "kube-controller-manager-", "kube-scheduler-", "kube-proxy-" };
            return needed.All(n => pods.Any(p => p[0].StartsWith(n, StringComparison.Ordinal) && p[1] == "Running"));
        }, ct).ConfigureAwait(false);

        // Not Sensitive: its output *is* the secret, and it must reach the 0600 file unredacted; nothing
        // streams or logs it unless the command fails, and then there is no token in it.
        var join = await host.RunCheckedAsync(new CommandSpec(await KubeadmProgramAsync(c, ct).ConfigureAwait(false), "token", "create", "--print-join-command"), ct).ConfigureAwait(false);
        var joinFile = Path.Combine(c.Request.StateDirectory, "join.txt");
        await host.WriteTextAsync(joinFile, join.Stdout.Trim() + "\n", HostExtensions.Mode0600, ct).ConfigureAwait(false);
        progress.Info($"  join details in {joinFile} (0600): airgap join --bundle BUNDLE --join-file {joinFile} on another node");
        if (await host.ReadTextAsync(Path.Combine(c.Request.StateDirectory, "certificate-key"), ct).ConfigureAwait(false) is { } key)
        {
            var controlPlaneFile = Path.Combine(c.Request.StateDirectory, "join-control-plane.txt");
            await host.WriteTextAsync(controlPlaneFile, $"{join.Stdout.Trim()} --control-plane --certificate-key {key.Trim()}\n", HostExtensions.Mode0600, ct).ConfigureAwait(false);
            progress.Info($"  for another control plane: {controlPlaneFile} (0600; kubeadm deletes the uploaded certificates after 2 hours)");
        }
    }

    /// <summary>kubeadm moved the command out of alpha in 1.20; older releases only have the alpha form.</summary>
    private async Task<string> CertificateKeyAsync(InstallContext c, string kubeadm, CancellationToken ct)
    {
        if (c.Request.DryRun) return "<the key `kubeadm certs certificate-key` prints>";
        foreach (var args in new[] { new[] { "certs", "certificate-key" }, ["alpha", "certs", "certificate-key"] })
        {
            var r = await host.RunAsync(new CommandSpec(kubeadm, args), ct).ConfigureAwait(false);
            var key = r.Stdout.Trim();
            if (r.ExitCode == 0 && key.Length == 64 && key.All(Uri.IsHexDigit)) return key;
        }
        throw new AirgapException("kubeadm could not make a certificate key (kubeadm certs certificate-key); install with --single-node or check the kubeadm binary");
    }

    private static async Task WaitForAsync(string what, TimeSpan timeout, Func<Task<bool>> condition, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition().ConfigureAwait(false)) return;
            if (DateTime.UtcNow > deadline) throw new AirgapException($"timed out after {timeout.TotalSeconds:0} s waiting for {what}");
            await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
        }
    }

    private sealed class DisposeLater(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
