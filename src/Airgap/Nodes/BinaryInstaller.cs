using Airgap.Artifacts;
using Airgap.Bundles;
using Airgap.Releases;

namespace Airgap.Nodes;

/// <summary>
/// The install path for nodes the bundle has no packages for (an OS without a profile, or a bundle
/// built without --os): the release binaries from the bundle go to /usr/local, with airgap's systemd
/// units. No package manager owns these files, so each one is recorded and <c>airgap reset</c> removes them.
/// </summary>
/// <remarks>
/// Files are written on the machine airgap runs on (the installer runs on the node itself, from the
/// bundle's bin/airgap), streamed from the bundle and checked against bundle.yaml before they land.
/// </remarks>
public sealed class BinaryInstaller(IHost host, IProgressSink progress, bool dryRun = false)
{
    public const string BinDirectory = "/usr/local/bin";
    public const string RuncPath = "/usr/local/sbin/runc";
    public const string CniDirectory = "/opt/cni/bin";
    public const string UnitDirectory = "/etc/systemd/system";
    public const string InstalledFilesPath = "/var/lib/airgap/installed-files";

    private static readonly string[] KubernetesBinaries = ["kubeadm", "kubelet", "kubectl"];
    private const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    // kubeadm's own preflight fails without the first group and warns without the second; no release
    // tarball ships them, so on this path they must come from the OS.
    private static readonly string[] RequiredTools = ["conntrack", "iptables", "ip", "mount", "nsenter"];
    private static readonly string[] RecommendedTools = ["socat", "ebtables", "ethtool", "tc"];
    private static readonly string[] SearchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    public static string PathOf(string binary) => $"{BinDirectory}/{binary}";

    /// <summary>True when the bundle has what this path installs: kubeadm, kubelet and kubectl.</summary>
    public static bool Covers(BundleDocument document) =>
        KubernetesBinaries.All(name => document.Binaries.Any(b => b.Name == name));

    public static bool HasRuntime(BundleDocument document) =>
        document.Binaries.Any(b => b.Name == "containerd") && document.Binaries.Any(b => b.Name == "runc");

    /// <summary>containerd (bin/* of its release tarball), runc and containerd.service.</summary>
    public async Task InstallRuntimeAsync(BundleSet bundle, BundleDocument document, CancellationToken ct)
    {
        var written = new List<string>();
        var containerd = Binary(document, "containerd");
        written.AddRange(await UnpackAsync(bundle, containerd, BinDirectory,
            name => name.StartsWith("bin/", StringComparison.Ordinal) && name.Length > 4 && !name[4..].Contains('/') ? PathOf(name[4..]) : null, ct).ConfigureAwait(false));
        var runc = Binary(document, "runc");
        written.Add(await CopyAsync(bundle, runc.Path, runc.Sha256, RuncPath, Executable, ct).ConfigureAwait(false));
        written.Add(await InstallTemplateAsync(bundle, document, Templates.ContainerdUnit, $"{UnitDirectory}/containerd.service", ct).ConfigureAwait(false));
        await RecordAsync(written, ct).ConfigureAwait(false);
        progress.Info($"  installed containerd {containerd.Version} and runc {runc.Version} from the bundle's binaries into /usr/local");
        await host.RunCheckedAsync(new CommandSpec("systemctl", "daemon-reload"), ct).ConfigureAwait(false);
    }

    /// <summary>kubeadm, kubelet, kubectl, crictl, the CNI plugins, kubelet.service and kubeadm's drop-in.</summary>
    public async Task InstallKubernetesAsync(BundleSet bundle, BundleDocument document, CancellationToken ct)
    {
        await CheckOsToolsAsync(ct).ConfigureAwait(false);
        var written = new List<string>();
        foreach (var name in KubernetesBinaries)
        {
            var binary = Binary(document, name);
            await WarnAboutOtherCopiesAsync(name, ct).ConfigureAwait(false);
            written.Add(await CopyAsync(bundle, binary.Path, binary.Sha256, PathOf(name), Executable, ct).ConfigureAwait(false));
        }
        if (document.Binaries.FirstOrDefault(b => b.Name == "crictl") is { } crictl)
            written.AddRange(await UnpackAsync(bundle, crictl, BinDirectory, name => name == "crictl" ? PathOf("crictl") : null, ct).ConfigureAwait(false));
        if (document.Binaries.FirstOrDefault(b => b.Name == "cni-plugins") is { } cni)
            written.AddRange(await UnpackAsync(bundle, cni, CniDirectory, name => name.Contains('/') ? null : $"{CniDirectory}/{name}", ct).ConfigureAwait(false));
        else
            progress.Warn($"the bundle has no CNI plugins; put them in {CniDirectory} yourself or pods will not start");
        written.Add(await InstallTemplateAsync(bundle, document, Templates.KubeletUnit, $"{UnitDirectory}/kubelet.service", ct).ConfigureAwait(false));
        written.Add(await InstallTemplateAsync(bundle, document, Templates.KubeadmDropIn, $"{UnitDirectory}/kubelet.service.d/10-kubeadm.conf", ct).ConfigureAwait(false));
        await RecordAsync(written, ct).ConfigureAwait(false);
        progress.Info($"  installed kubeadm, kubelet, kubectl {document.Kubernetes}{(document.Binaries.Any(b => b.Name == "crictl") ? ", crictl" : "")}" +
                      $"{(document.Binaries.Any(b => b.Name == "cni-plugins") ? " and the CNI plugins" : "")} from the bundle's binaries");
        await host.RunCheckedAsync(new CommandSpec("systemctl", "daemon-reload"), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// kubeadm alone, as an upgrade needs it first (`kubeadm upgrade` runs with the new kubeadm while the
    /// old kubelet keeps the node's pods running until the node is drained).
    /// </summary>
    public async Task InstallKubeadmAsync(BundleSet bundle, BundleDocument document, CancellationToken ct)
    {
        var binary = Binary(document, "kubeadm");
        await RecordAsync([await CopyAsync(bundle, binary.Path, binary.Sha256, PathOf("kubeadm"), Executable, ct).ConfigureAwait(false)], ct).ConfigureAwait(false);
        progress.Info($"  installed kubeadm {document.Kubernetes} from the bundle's binaries");
    }

    /// <summary>The installed kubeadm and kubelet are the bundle's release.</summary>
    public async Task CheckVersionsAsync(KubernetesVersion version, CancellationToken ct)
    {
        var kubeadm = (await host.RunAsync(new CommandSpec(PathOf("kubeadm"), "version", "-o", "short"), ct).ConfigureAwait(false)).Stdout.Trim();
        var kubelet = (await host.RunAsync(new CommandSpec(PathOf("kubelet"), "--version"), ct).ConfigureAwait(false)).Stdout.Trim();
        if (kubeadm != version.ToString())
            throw new AirgapException($"{PathOf("kubeadm")} is {(kubeadm.Length == 0 ? "missing or broken" : kubeadm)}, the bundle holds {version}; run airgap install again to put the bundle's binaries back");
        if (kubelet != $"Kubernetes {version}")
            throw new AirgapException($"{PathOf("kubelet")} is {(kubelet.Length == 0 ? "missing or broken" : kubelet)}, the bundle holds {version}; run airgap install again to put the bundle's binaries back");
    }

    private async Task CheckOsToolsAsync(CancellationToken ct)
    {
        var missing = new List<string>();
        foreach (var tool in RequiredTools)
            if (!await OnPathAsync(tool, ct).ConfigureAwait(false)) missing.Add(tool);
        if (missing.Count > 0)
            throw new AirgapException($"kubeadm needs {string.Join(", ", missing)} on this node and the bundle's binaries do not include them; " +
                                      "install them from the OS media, or build the bundle with --os for this OS so its packages bring them");
        foreach (var tool in RecommendedTools)
            if (!await OnPathAsync(tool, ct).ConfigureAwait(false))
                progress.Warn($"{tool} is not installed; kubeadm warns about it and some features (port-forward for socat) need it");
    }

    private async Task<bool> OnPathAsync(string tool, CancellationToken ct)
    {
        foreach (var directory in SearchPath)
            if (await host.FileExistsAsync($"{directory}/{tool}", ct).ConfigureAwait(false)) return true;
        return false;
    }

    private async Task WarnAboutOtherCopiesAsync(string name, CancellationToken ct)
    {
        foreach (var directory in SearchPath.Where(d => d != BinDirectory))
        {
            if (!await host.FileExistsAsync($"{directory}/{name}", ct).ConfigureAwait(false)) continue;
            progress.Warn($"{directory}/{name} is also installed; the bundle's {PathOf(name)} comes first on root's PATH and is what airgap runs " +
                          "(remove the other one to avoid surprises in other users' shells)");
        }
    }

    private async Task<string> InstallTemplateAsync(BundleSet bundle, BundleDocument document, string member, string target, CancellationToken ct)
    {
        var file = document.Files.FirstOrDefault(f => f.Path == member)
            ?? throw new AirgapException($"{bundle} has no {member}; it was built by an airgap without the binary install path, build it again");
        return await CopyAsync(bundle, member, file.Sha256, target, HostExtensions.Mode0644, ct).ConfigureAwait(false);
    }

    // Files are streamed from the bundle on the machine airgap runs on; a dry run names them instead.
    private async Task<string> CopyAsync(BundleSet bundle, string member, string sha256, string target, UnixFileMode mode, CancellationToken ct)
    {
        if (dryRun) progress.Info($"  would install {member} as {target} ({HostExtensions.FormatMode(mode)})");
        else await BundleExtractor.InstallMemberAsync(bundle, member, sha256, target, mode, ct).ConfigureAwait(false);
        return target;
    }

    private async Task<IReadOnlyList<string>> UnpackAsync(BundleSet bundle, BundleBinary archive, string into, Func<string, string?> map, CancellationToken ct)
    {
        if (!dryRun) return await BundleExtractor.InstallArchiveMemberAsync(bundle, archive.Path, archive.Sha256, map, Executable, ct).ConfigureAwait(false);
        progress.Info($"  would unpack {archive.Path} into {into}");
        return [];
    }

    private static BundleBinary Binary(BundleDocument document, string name) =>
        document.Binaries.FirstOrDefault(b => b.Name == name)
        ?? throw new AirgapException($"the bundle has no {name} binary; build it without --no-binaries");

    /// <summary>Adds to the list `airgap reset` removes; kept sorted and unique so re-runs do not grow it.</summary>
    private async Task RecordAsync(IEnumerable<string> files, CancellationToken ct)
    {
        var known = await InstalledFilesAsync(host, ct).ConfigureAwait(false);
        var all = known.Concat(files).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        await host.WriteTextAsync(InstalledFilesPath, string.Join('\n', all) + "\n", HostExtensions.Mode0644, ct).ConfigureAwait(false);
    }

    public static async Task<IReadOnlyList<string>> InstalledFilesAsync(IHost host, CancellationToken ct) =>
        (await host.ReadTextAsync(InstalledFilesPath, ct).ConfigureAwait(false) ?? "")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(f => f.StartsWith('/'))
            .ToList();
}
