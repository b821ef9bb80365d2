namespace Airgap.Nodes;

/// <summary>
/// `airgap reset`: what kubeadm reset does, plus what airgap itself wrote, so a later install starts
/// from a clean state (the usual "manifests already exist, run kubeadm reset" pitfall).
/// </summary>
public sealed class NodeReset(IHost host, IProgressSink progress)
{
    private static readonly string[] AirgapFiles =
    [
        $"/etc/cni/net.d/{BridgeCniConfig.FileName}", KubeadmConfig.DefaultPath, "/var/lib/airgap/journal.json",
        "/var/lib/airgap/join.txt", "/var/lib/airgap/kube-flannel.yml", "/root/.kube/config",
        "/var/lib/airgap/join-control-plane.txt", "/var/lib/airgap/certificate-key", .. BundlePackageSources.SourceFiles,
    ];

    public async Task ResetAsync(CancellationToken ct)
    {
        var kubeadm = await host.FileExistsAsync(BinaryInstaller.PathOf("kubeadm"), ct).ConfigureAwait(false) ? BinaryInstaller.PathOf("kubeadm")
            : await host.FileExistsAsync("/usr/bin/kubeadm", ct).ConfigureAwait(false) ? "/usr/bin/kubeadm" : null;
        if (kubeadm is not null)
        {
            var r = await host.RunAsync(new CommandSpec(kubeadm, "reset", "-f") { Timeout = TimeSpan.FromMinutes(5), OnOutput = l => progress.Info("  kubeadm: " + l.Text) }, ct).ConfigureAwait(false);
            if (r.ExitCode != 0) progress.Warn($"kubeadm reset exited {r.ExitCode}; continuing with airgap's own files");
        }
        if (await host.ReadTextAsync("/var/lib/airgap/kubeconfig-path", ct).ConfigureAwait(false) is { } written &&
            written.Trim() is { Length: > 0 } kubeconfig && kubeconfig.EndsWith("/.kube/config", StringComparison.Ordinal) &&
            await host.DeleteFileAsync(kubeconfig, ct).ConfigureAwait(false))
            progress.Info($"  removed {kubeconfig}");
        foreach (var file in AirgapFiles.Append("/var/lib/airgap/kubeconfig-path"))
        {
            if (await host.DeleteFileAsync(file, ct).ConfigureAwait(false)) progress.Info($"  removed {file}");
        }
        await RemoveInstalledBinariesAsync(ct).ConfigureAwait(false);
        // The unpacked repository is made again from the bundle by the next install.
        await host.RunAsync(new CommandSpec("rm", "-rf", "/var/lib/airgap/repo"), ct).ConfigureAwait(false);
        // The bridge a bridge CNI created keeps its old address otherwise, and a new pod CIDR then clashes.
        await host.RunAsync(new CommandSpec("ip", "link", "delete", BridgeCniConfig.BridgeName), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The binary install path's files: no package manager owns them, so reset is the only way they
    /// leave. Services airgap installed are stopped first (packages' services are left to the OS).
    /// </summary>
    private async Task RemoveInstalledBinariesAsync(CancellationToken ct)
    {
        var files = await BinaryInstaller.InstalledFilesAsync(host, ct).ConfigureAwait(false);
        if (files.Count == 0) return;
        foreach (var unit in new[] { "kubelet", "containerd" })
        {
            if (!files.Contains($"{BinaryInstaller.UnitDirectory}/{unit}.service")) continue;
            await host.RunAsync(new CommandSpec("systemctl", "disable", "--now", unit) { Timeout = TimeSpan.FromMinutes(2) }, ct).ConfigureAwait(false);
        }
        var removed = 0;
        foreach (var file in files)
            if (await host.DeleteFileAsync(file, ct).ConfigureAwait(false)) removed++;
        await host.DeleteFileAsync(BinaryInstaller.InstalledFilesPath, ct).ConfigureAwait(false);
        await host.RunAsync(new CommandSpec("systemctl", "daemon-reload"), ct).ConfigureAwait(false);
        progress.Info($"  removed {removed} files the binary install put in place (binaries, CNI plugins, systemd units)");
    }
}
