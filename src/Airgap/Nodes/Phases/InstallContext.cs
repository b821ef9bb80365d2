using System.Runtime.InteropServices;
using Airgap.Bundles;
using Airgap.Releases;

namespace Airgap.Nodes.Phases;

/// <summary>
/// What the install and join phases share: the node, the request, the bundle, and what one phase
/// learns that a later one uses (host facts, how Kubernetes gets onto this node, the runtime's image
/// store), each found once per run.
/// </summary>
public sealed class InstallContext(IHost host, IProgressSink progress, InstallRequest request, BundleDocument document,
                                   KubernetesVersion version, string fingerprint) : IDisposable
{
    private HostFacts? facts;
    private NodeSoftware? software;
    private DockerImageStore? docker;

    public IHost Host { get; } = host;
    public IProgressSink Progress { get; } = progress;
    public InstallRequest Request { get; } = request;
    public InstallOptions Options => Request.Options;
    public BundleDocument Document { get; } = document;
    public KubernetesVersion Version { get; } = version;
    public string Fingerprint { get; } = fingerprint;
    public bool DryRun => Request.DryRun;
    public bool UsesDocker => Options.Runtime == ContainerRuntimeKind.Docker;
    public string RuntimeName => UsesDocker ? "the Docker engine" : "containerd";
    public IReadOnlyList<string> ImageNames => Document.Images.Select(i => i.Name).ToList();

    public string KubeconfigPath => Request.KubeconfigUser == "root" ? "/root/.kube/config" : $"/home/{Request.KubeconfigUser}/.kube/config";

    public void Dispose() => docker?.Dispose();

    public async Task<HostFacts> FactsAsync(CancellationToken ct) => facts ??= await HostProbe.ProbeAsync(Host, ct).ConfigureAwait(false);

    /// <summary>Preflight probes again after its repairs; later phases see the repaired node.</summary>
    public void RememberFacts(HostFacts probed) => facts = probed;

    public IImageStore ImageStore => UsesDocker ? docker ??= DockerImageStore.ForNode() : new ContainerdImageStore(Host);

    public async Task<bool> AnyExistsAsync(CancellationToken ct, params string[] paths)
    {
        foreach (var path in paths)
            if (await Host.FileExistsAsync(path, ct).ConfigureAwait(false)) return true;
        return false;
    }

    /// <summary>
    /// How Kubernetes gets onto this node: the bundle's packages for its OS through its own package
    /// manager, or, when the bundle has none for it, the bundle's release binaries.
    /// </summary>
    public async Task<NodeSoftware> SoftwareAsync(CancellationToken ct)
    {
        if (software is not null) return software;
        var probed = await FactsAsync(ct).ConfigureAwait(false);
        var os = probed.Os?.Profile ?? "an unknown OS (no /etc/os-release)";
        var packages = Document.Packages.Where(p => p.Os == os && FitsArch(p.Arch, Document.Arch)).ToList();
        if (packages.Count > 0)
        {
            var source = await BundlePackageSources.ForAsync(Host, Progress, probed.PackageManager, BundlePackageSources.FormatOf(packages), os, ct).ConfigureAwait(false);
            return software = new NodeSoftware(os, source, packages);
        }
        if (BinaryInstaller.Covers(Document))
        {
            var available = Document.Packages.Select(p => p.Os).Distinct().ToList();
            Progress.Info($"  the bundle has no packages for {os}{(available.Count > 0 ? $" (it has {string.Join(", ", available)})" : "")}: " +
                          $"installing its release binaries into {BinaryInstaller.BinDirectory} with systemd units");
            return software = new NodeSoftware(os, null, []);
        }
        var has = Document.Packages.Select(p => p.Os).Distinct().ToList();
        throw new AirgapException($"the bundle has no packages for {os} (it has {(has.Count == 0 ? "none" : string.Join(", ", has))}) and no binaries; " +
                                  $"build it with --os {os}, or without --no-binaries");
    }

    /// <summary>
    /// How the packages phase installs Kubernetes here, or null when the bundle cannot for this node
    /// (an images-only bundle with --skip-phases packages, say): then the node's own kubeadm and kubectl
    /// on PATH are used, and the kubeadm phase's prerequisite check says so if there are none.
    /// </summary>
    private async Task<NodeSoftware?> InstalledSoftwareAsync(CancellationToken ct)
    {
        try
        {
            return await SoftwareAsync(ct).ConfigureAwait(false);
        }
        catch (AirgapException)
        {
            return null;
        }
    }

    /// <summary>kubeadm as this node's install put it there (the binary path's copy by full path, so another on PATH cannot stand in).</summary>
    public async Task<string> KubeadmProgramAsync(CancellationToken ct) =>
        await InstalledSoftwareAsync(ct).ConfigureAwait(false) is { } installed ? installed.Kubeadm : "kubeadm";

    public async Task<CommandSpec> KubectlAsync(CancellationToken ct, params string[] args) =>
        new(await InstalledSoftwareAsync(ct).ConfigureAwait(false) is { } installed ? installed.Kubectl : "kubectl",
            ["--kubeconfig", "/etc/kubernetes/admin.conf", .. args]) { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>kubeadm, kubelet, kubectl (and the bundle's other requested packages) from the bundle, held at its version, as packages or binaries.</summary>
    public Task InstallKubernetesAsync(CancellationToken ct) => InstallSoftwareAsync(kubeadmOnly: false, ct);

    /// <summary>
    /// kubeadm alone, an upgrade's first step: the new kubeadm upgrades the control plane while the old
    /// kubelet keeps the node's pods running until the node is drained.
    /// </summary>
    public Task InstallKubeadmAsync(CancellationToken ct) => InstallSoftwareAsync(kubeadmOnly: true, ct);

    private async Task InstallSoftwareAsync(bool kubeadmOnly, CancellationToken ct)
    {
        var software = await SoftwareAsync(ct).ConfigureAwait(false);
        if (software.FromBinaries)
        {
            var binaries = new BinaryInstaller(Host, Progress, DryRun);
            if (kubeadmOnly) await binaries.InstallKubeadmAsync(Request.Bundle, Document, ct).ConfigureAwait(false);
            else await binaries.InstallKubernetesAsync(Request.Bundle, Document, ct).ConfigureAwait(false);
            return;
        }
        await PrepareRepositoryAsync(software, ct).ConfigureAwait(false);
        await software.Source!.InstallAsync(kubeadmOnly ? software.Packages.Where(p => p.Name == "kubeadm").ToList() : software.Packages, ct).ConfigureAwait(false);
    }

    /// <summary>Unpacks the bundle's repository for this OS once and points the package manager at it alone.</summary>
    public async Task PrepareRepositoryAsync(NodeSoftware from, CancellationToken ct)
    {
        var prefix = $"packages/{from.Os}/{Document.Arch}/";
        // One directory per bundle (named by its fingerprint), filled under a temporary name and renamed
        // when complete: an interrupted unpack or another bundle's repository is never mistaken for this one.
        var directory = Path.Combine(Request.StateDirectory, "repo", $"{from.Os}-{Document.Arch}-{Fingerprint[7..19]}");
        if (DryRun && !Directory.Exists(directory))
            Progress.Info($"  would unpack {prefix} into {directory}");
        else if (!Directory.Exists(directory))
        {
            var partial = directory + ".partial";
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
            var expected = Document.Files.ToDictionary(f => f.Path, f => f.Sha256, StringComparer.Ordinal);
            var count = await BundleExtractor.ExtractAsync(Request.Bundle, prefix, partial, expected, ct).ConfigureAwait(false);
            Directory.Move(partial, directory);
            Progress.Info($"  unpacked {count} repository files into {directory}");
        }
        await from.Source!.ConfigureAsync(directory, ct).ConfigureAwait(false);
    }

    /// <summary>The bundle is for the architecture this airgap runs on, which is the node's.</summary>
    public void CheckArch()
    {
        var node = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "amd64",
            Architecture.Arm64 => "arm64",
            var other => other.ToString().ToLowerInvariant(),
        };
        if (Document.Arch != node)
            throw new AirgapException($"{Request.BundlePath} is for linux/{Document.Arch} but this node is linux/{node}; use the {node} bundle");
    }

    public async Task WaitNodeReadyAsync(TimeSpan timeout, CancellationToken ct)
    {
        if (DryRun)
        {
            Progress.Info("  would wait for the node to be Ready");
            return;
        }
        var node = (await FactsAsync(ct).ConfigureAwait(false)).Hostname.ToLowerInvariant();
        var lastState = "";
        await WaitForAsync($"node {node} to be Ready", timeout, async () =>
        {
            var r = await Host.RunAsync(await KubectlAsync(ct, "get", "node", node, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}").ConfigureAwait(false), ct).ConfigureAwait(false);
            var state = r.ExitCode == 0 ? r.Stdout.Trim() : "unknown";
            if (state != lastState) Progress.Info($"  node {node} Ready={state}");
            lastState = state;
            return state == "True";
        }, ct).ConfigureAwait(false);
    }

    /// <summary>The control plane's static pods (and whatever else is named) Running, on one node or anywhere in kube-system.</summary>
    public Task WaitForSystemPodsAsync(string what, IReadOnlyList<string> prefixes, string? node, CancellationToken ct) =>
        WaitForAsync(what, Request.ReadyTimeout, async () =>
        {
            string[] selector = node is null ? [] : ["--field-selector", $"spec.nodeName={node}"];
            var r = await Host.RunAsync(await KubectlAsync(ct, ["get", "pods", "-n", "kube-system", .. selector,
                "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.phase}{\"\\n\"}{end}"]).ConfigureAwait(false), ct).ConfigureAwait(false);
            if (r.ExitCode != 0) return false;
            var pods = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=')).ToList();
            return prefixes.All(n => pods.Any(p => p[0].StartsWith(n, StringComparison.Ordinal) && p[1] == "Running"));
        }, ct);

    /// <summary>The static pods kubeadm runs on every control plane.</summary>
    public static readonly IReadOnlyList<string> ControlPlanePods = ["etcd-", "kube-apiserver-", "kube-controller-manager-", "kube-scheduler-"];

    public static async Task WaitForAsync(string what, TimeSpan timeout, Func<Task<bool>> condition, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition().ConfigureAwait(false)) return;
            if (DateTime.UtcNow > deadline) throw new AirgapException($"timed out after {timeout.TotalSeconds:0} s waiting for {what}");
            await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Debian spells architectures amd64/arm64 (all for none); rpm spells them x86_64/aarch64 (noarch).</summary>
    private static bool FitsArch(string packageArch, string bundleArch) => packageArch == bundleArch || (packageArch, bundleArch) switch
    {
        ("all" or "noarch", _) => true,
        ("x86_64", "amd64") or ("aarch64", "arm64") => true,
        _ => false,
    };
}

/// <summary>How Kubernetes gets onto a node: a package source and the bundle's packages for its OS, or (no source) the bundle's binaries.</summary>
public sealed record NodeSoftware(string Os, IBundlePackageSource? Source, IReadOnlyList<BundlePackage> Packages)
{
    public bool FromBinaries => Source is null;
    public string Kubeadm => FromBinaries ? BinaryInstaller.PathOf("kubeadm") : "kubeadm";
    public string Kubectl => FromBinaries ? BinaryInstaller.PathOf("kubectl") : "kubectl";
}
