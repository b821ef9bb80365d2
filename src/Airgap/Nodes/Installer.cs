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
}

public sealed record PhaseReport(string Phase, string Outcome, double Seconds, string? Detail = null);

/// <summary>
/// Runs the install plan on one node through an <see cref="IHost"/>: each phase is journaled, so a
/// re-run checks finished phases instead of redoing them and continues where a failure stopped.
/// </summary>
public sealed class Installer(IHost host, IProgressSink progress)
{
    private static readonly string[] HeldPackages = ["kubeadm", "kubelet", "kubectl"];
    private const string AptListFile = "/etc/apt/sources.list.d/airgap.list";

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
            await journal.StartAsync(phase.Name, fingerprint, ct).ConfigureAwait(false);
            try
            {
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
            reports.Add(new PhaseReport(phase.Name, "done", seconds));
            progress.Info($"[{phase.Name}] done in {seconds:0.0} s");
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

    /// <summary>The cheap check of a phase finished earlier: its effect is still in place.</summary>
    private async Task CheckAsync(InstallPhase phase, InstallContext c, CancellationToken ct)
    {
        switch (phase)
        {
            case InstallPhase.Verify:
                CheckArch(c);
                break;
            case InstallPhase.Runtime:
                await host.RunCheckedAsync(new CommandSpec("ctr", "version") { Timeout = TimeSpan.FromSeconds(10) }, ct).ConfigureAwait(false);
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

    private static void CheckArch(InstallContext c)
    {
        var node = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "amd64",
            Architecture.Arm64 => "arm64",
            var other => other.ToString().ToLowerInvariant(),
        };
        if (c.Document.Arch != node)
            throw new AirgapException($"{c.Request.BundlePath} is for linux/{c.Document.Arch} but this node is linux/{node}; use the {node} bundle");
    }

    // ── preflight ─────────────────────────────────────────────────────────────────────────────
    private async Task PreflightAsync(InstallContext c, CancellationToken ct)
    {
        c.Facts = await HostProbe.ProbeAsync(host, ct).ConfigureAwait(false);
        var report = Preflight.Run(c.Facts, new PreflightOptions
        {
            Role = c.Request.Options.Role,
            KubernetesVersion = c.Version,
            Ignore = c.Request.IgnorePreflight,
            Fix = c.Request.Fix,
        });
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
            report = Preflight.Run(c.Facts, new PreflightOptions { Role = c.Request.Options.Role, KubernetesVersion = c.Version, Ignore = c.Request.IgnorePreflight });
        }
        report.EnsurePassed();
    }

    private async Task<HostFacts> FactsAsync(InstallContext c, CancellationToken ct) =>
        c.Facts ??= await HostProbe.ProbeAsync(host, ct).ConfigureAwait(false);

    // ── runtime ───────────────────────────────────────────────────────────────────────────────
    private async Task RuntimeAsync(InstallContext c, CancellationToken ct)
    {
        var facts = await FactsAsync(c, ct).ConfigureAwait(false);
        var runtimePackages = c.Document.Packages.Where(p => p.Os == OsOf(c, facts) && p.Name is "containerd" or "containerd.io" or "runc").ToList();
        if (runtimePackages.Count > 0)
        {
            await PrepareRepositoryAsync(c, facts, ct).ConfigureAwait(false);
            await AptInstallAsync(c, runtimePackages, ct).ConfigureAwait(false);
        }
        else if (!await host.FileExistsAsync("/usr/bin/containerd", ct).ConfigureAwait(false) &&
                 !await host.FileExistsAsync("/usr/local/bin/containerd", ct).ConfigureAwait(false))
        {
            throw new AirgapException($"the bundle has no containerd package for {OsOf(c, facts)} and none is installed; build the bundle with --os {OsOf(c, facts)}");
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
        await WaitForAsync("containerd to answer", TimeSpan.FromSeconds(60), async () =>
            (await host.RunAsync(new CommandSpec("ctr", "version") { Timeout = TimeSpan.FromSeconds(5) }, ct).ConfigureAwait(false)).ExitCode == 0, ct).ConfigureAwait(false);
    }

    private static string OsOf(InstallContext c, HostFacts facts) =>
        facts.Os?.Profile ?? throw new AirgapException("this node has no /etc/os-release; airgap cannot tell which packages fit it");

    /// <summary>Unpacks the bundle's repository for this OS once and points apt at it alone.</summary>
    private async Task PrepareRepositoryAsync(InstallContext c, HostFacts facts, CancellationToken ct)
    {
        var os = OsOf(c, facts);
        if (facts.PackageManager != PackageManagerKind.Dpkg)
            throw new AirgapException($"this node uses rpm; installing from the bundle's yum repository is not supported by this airgap yet (apt-based nodes are)");
        var prefix = $"packages/{os}/{c.Document.Arch}/";
        if (!c.Document.Packages.Any(p => p.Path.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var available = c.Document.Packages.Select(p => p.Os).Distinct().ToList();
            throw new AirgapException($"the bundle has no packages for {os} (it has {(available.Count == 0 ? "none" : string.Join(", ", available))}); build it with --os {os}");
        }
        // One directory per bundle (named by its fingerprint), filled under a temporary name and renamed
        // when complete: an interrupted unpack or another bundle's repository is never mistaken for this one.
        var directory = Path.Combine(c.Repository, $"{os}-{c.Document.Arch}-{c.Fingerprint[7..19]}");
        if (!Directory.Exists(directory))
        {
            var partial = directory + ".partial";
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
            var expected = c.Document.Files.ToDictionary(f => f.Path, f => f.Sha256, StringComparer.Ordinal);
            var count = await BundleExtractor.ExtractAsync(c.Request.BundlePath, prefix, partial, expected, ct).ConfigureAwait(false);
            Directory.Move(partial, directory);
            progress.Info($"  unpacked {count} repository files into {directory}");
        }
        await host.WriteTextAsync(AptListFile, $"deb [trusted=yes] file:{directory} ./\n", HostExtensions.Mode0644, ct).ConfigureAwait(false);
        await host.RunCheckedAsync(new CommandSpec("apt-get", [.. AptOnlyBundle, "update"]) { Timeout = TimeSpan.FromMinutes(5) }, ct).ConfigureAwait(false);
    }

    // apt sees only the bundle's repository: no network, and no surprise versions from other sources.
    private static readonly string[] AptOnlyBundle =
    [
        "-o", $"Dir::Etc::SourceList={AptListFile}", "-o", "Dir::Etc::SourceParts=/dev/null",
        "-o", "APT::Get::List-Cleanup=0", "-o", "Acquire::Languages=none",
    ];

    private async Task AptInstallAsync(InstallContext c, IReadOnlyList<BundlePackage> packages, CancellationToken ct)
    {
        foreach (var p in packages.Where(p => HeldPackages.Contains(p.Name)))
        {
            var installed = await InstalledVersionAsync(p.Name, ct).ConfigureAwait(false);
            if (installed is not null && installed != p.Version)
                progress.Warn($"{p.Name} {installed} is installed; replacing it with the bundle's {p.Version} (the bundle is the version lock)");
        }
        var held = packages.Where(p => HeldPackages.Contains(p.Name)).Select(p => p.Name).ToArray();
        if (held.Length > 0) await host.RunAsync(new CommandSpec("apt-mark", ["unhold", .. held]), ct).ConfigureAwait(false);
        var spec = new CommandSpec("apt-get", [.. AptOnlyBundle, "install", "-y", "--no-install-recommends", "--allow-downgrades",
            "--allow-change-held-packages", .. packages.Select(p => $"{p.Name}={p.Version}")])
        {
            Env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" },
            Timeout = TimeSpan.FromMinutes(15),
        };
        await host.RunCheckedAsync(spec, ct).ConfigureAwait(false);
        if (held.Length > 0) await host.RunCheckedAsync(new CommandSpec("apt-mark", ["hold", .. held]), ct).ConfigureAwait(false);
    }

    private async Task<string?> InstalledVersionAsync(string package, CancellationToken ct)
    {
        var r = await host.RunAsync(new CommandSpec("dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}", package), ct).ConfigureAwait(false);
        if (r.ExitCode != 0) return null;
        var text = r.Stdout.Trim();
        return text.StartsWith("ii", StringComparison.Ordinal) || text.StartsWith("hi", StringComparison.Ordinal) ? text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Last() : null;
    }

    // ── packages ──────────────────────────────────────────────────────────────────────────────
    private async Task PackagesAsync(InstallContext c, CancellationToken ct)
    {
        var facts = await FactsAsync(c, ct).ConfigureAwait(false);
        await PrepareRepositoryAsync(c, facts, ct).ConfigureAwait(false);
        var os = OsOf(c, facts);
        var packages = c.Document.Packages.Where(p => p.Os == os && p.Arch is var a && (a == c.Document.Arch || a == "all")).ToList();
        await AptInstallAsync(c, packages, ct).ConfigureAwait(false);
        await CheckHeldVersionsAsync(c, ct).ConfigureAwait(false);
    }

    private async Task CheckHeldVersionsAsync(InstallContext c, CancellationToken ct)
    {
        foreach (var p in c.Document.Packages.Where(p => HeldPackages.Contains(p.Name)).DistinctBy(p => p.Name))
        {
            var installed = await InstalledVersionAsync(p.Name, ct).ConfigureAwait(false);
            if (installed != p.Version)
                throw new AirgapException($"{p.Name} is {installed ?? "not installed"}, the bundle holds {p.Version}; run airgap install again to put the bundle's version back");
        }
    }

    // ── images ────────────────────────────────────────────────────────────────────────────────
    private async Task ImagesAsync(InstallContext c, CancellationToken ct)
    {
        var archive = Path.Combine(c.Request.StateDirectory, "images.tar");
        Directory.CreateDirectory(c.Request.StateDirectory);
        try
        {
            var count = await BundleExtractor.WriteSubtreeTarAsync(c.Request.BundlePath, "images/", archive, ct).ConfigureAwait(false);
            progress.Info($"  importing {c.Document.Images.Count} images ({count} layout files) into containerd");
            await host.RunCheckedAsync(new CommandSpec("ctr", "-n", "k8s.io", "images", "import", archive) { Timeout = TimeSpan.FromMinutes(20) }, ct).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(archive);
        }
        await CheckImagesAsync(c, ct).ConfigureAwait(false);
    }

    private async Task CheckImagesAsync(InstallContext c, CancellationToken ct)
    {
        var list = await host.RunCheckedAsync(new CommandSpec("ctr", "-n", "k8s.io", "images", "ls", "-q"), ct).ConfigureAwait(false);
        var present = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var missing = c.Document.Images.Select(i => i.Name).Where(n => !present.Contains(n)).ToList();
        if (missing.Count > 0)
            throw new AirgapException($"containerd lacks {missing.Count} of the bundle's images after import ({string.Join(", ", missing.Take(3))}); check `ctr -n k8s.io images ls`");
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
            UntaintControlPlane = request.Options.SingleNode,
            Join = request.Join,
            CertificateKey = request.CertificateKey,
        };
        await host.RunCheckedAsync(new CommandSpec("systemctl", "enable", "kubelet"), ct).ConfigureAwait(false);
        var verb = request.Options.Role == NodeRole.InitControlPlane ? "init" : "join";
        if (verb == "init" && !request.Options.SingleNode)
        {
            // Made here rather than by kubeadm so it can be handed to the next control plane (join-control-plane.txt).
            settings = settings with { CertificateKey = await CertificateKeyAsync(ct).ConfigureAwait(false) };
            await host.WriteTextAsync(Path.Combine(request.StateDirectory, "certificate-key"), settings.CertificateKey + "\n", HostExtensions.Mode0600, ct).ConfigureAwait(false);
        }
        await host.WriteTextAsync(KubeadmConfig.DefaultPath, KubeadmConfig.Render(settings), HostExtensions.Mode0600, ct).ConfigureAwait(false);
        var args = new List<string> { verb, "--config", KubeadmConfig.DefaultPath };
        // airgap's own preflight ran; kubeadm's repeats some checks, and the operator's ignores apply to both.
        if (request.IgnorePreflight.Names.Count > 0) args.Add("--ignore-preflight-errors=" + string.Join(',', request.IgnorePreflight.Names));
        if (verb == "init" && request.Options.Role == NodeRole.InitControlPlane && !request.Options.SingleNode) args.Add("--upload-certs");
        var secrets = new List<string>();
        if (request.Join?.Token is { } token) secrets.Add(token);
        if (settings.CertificateKey is { } key) secrets.Add(key);
        await host.RunCheckedAsync(new CommandSpec("kubeadm", [.. args])
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
        var admin = await host.ReadFileAsync("/etc/kubernetes/admin.conf", ct).ConfigureAwait(false)
            ?? throw new AirgapException("/etc/kubernetes/admin.conf is missing after kubeadm init");
        var path = KubeconfigPath(c);
        await host.WriteFileAsync(path, admin, HostExtensions.Mode0600, ct).ConfigureAwait(false);
        if (c.Request.KubeconfigUser != "root")
            await host.RunCheckedAsync(new CommandSpec("chown", "-R", $"{c.Request.KubeconfigUser}:", Path.GetDirectoryName(path)!), ct).ConfigureAwait(false);
        // Remembered so airgap reset removes the kubeconfig it wrote, for whichever user.
        await host.WriteTextAsync(Path.Combine(c.Request.StateDirectory, "kubeconfig-path"), path + "\n", HostExtensions.Mode0600, ct).ConfigureAwait(false);
        progress.Info($"  wrote {path} (0600)");
    }

    private CommandSpec Kubectl(params string[] args) =>
        new("kubectl", ["--kubeconfig", "/etc/kubernetes/admin.conf", .. args]) { Timeout = TimeSpan.FromSeconds(60) };

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
            await host.RunCheckedAsync(Kubectl("apply", "-f", target), ct).ConfigureAwait(false);
        }
        await WaitNodeReadyAsync(c, c.Request.ReadyTimeout, ct).ConfigureAwait(false);
    }

    private async Task WaitNodeReadyAsync(InstallContext c, TimeSpan timeout, CancellationToken ct)
    {
        var facts = await FactsAsync(c, ct).ConfigureAwait(false);
        var node = facts.Hostname.ToLowerInvariant();
        var lastState = "";
        await WaitForAsync($"node {node} to be Ready", timeout, async () =>
        {
            var r = await host.RunAsync(Kubectl("get", "node", node, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"), ct).ConfigureAwait(false);
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
        await WaitForAsync("kube-system pods to run", c.Request.ReadyTimeout, async () =>
        {
            var r = await host.RunAsync(Kubectl("get", "pods", "-n", "kube-system", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.phase}{\"\\n\"}{end}"), ct).ConfigureAwait(false);
            if (r.ExitCode != 0) return false;
            var pods = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=')).ToList();
            var needed = new[] { "etcd-", "kube-apiserver-", "kube-controller-manager-", "kube-scheduler-", "kube-proxy-" };
            return needed.All(n => pods.Any(p => p[0].StartsWith(n, StringComparison.Ordinal) && p[1] == "Running"));
        }, ct).ConfigureAwait(false);

        // Not Sensitive: its output *is* the secret, and it must reach the 0600 file unredacted; nothing
        // streams or logs it unless the command fails, and then there is no token in it.
        var join = await host.RunCheckedAsync(new CommandSpec("kubeadm", "token", "create", "--print-join-command"), ct).ConfigureAwait(false);
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
    private async Task<string> CertificateKeyAsync(CancellationToken ct)
    {
        foreach (var args in new[] { new[] { "certs", "certificate-key" }, ["alpha", "certs", "certificate-key"] })
        {
            var r = await host.RunAsync(new CommandSpec("kubeadm", args), ct).ConfigureAwait(false);
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
}
