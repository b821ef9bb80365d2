namespace Airgap.Nodes.Phases;

/// <summary>What the reset phases share: the node, and where airgap keeps its state there.</summary>
public sealed record ResetContext(IHost Host, IProgressSink Progress, string StateDirectory = "/var/lib/airgap");

/// <summary>kubeadm's own reset, with whichever kubeadm the install put on the node.</summary>
public sealed class KubeadmResetPhase : IPhase<ResetContext>
{
    public string Name => "kubeadm";
    public string Description => "kubeadm reset -f: stop the static pods, remove /etc/kubernetes and etcd's data";

    public async Task RunAsync(ResetContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var kubeadm = await c.Host.FileExistsAsync(BinaryInstaller.PathOf("kubeadm"), ct).ConfigureAwait(false) ? BinaryInstaller.PathOf("kubeadm")
            : await c.Host.FileExistsAsync("/usr/bin/kubeadm", ct).ConfigureAwait(false) ? "/usr/bin/kubeadm" : null;
        if (kubeadm is null) return;
        var r = await c.Host.RunAsync(new CommandSpec(kubeadm, "reset", "-f") { Timeout = TimeSpan.FromMinutes(5), OnOutput = l => c.Progress.Info("  kubeadm: " + l.Text) }, ct).ConfigureAwait(false);
        if (r.ExitCode != 0) c.Progress.Warn($"kubeadm reset exited {r.ExitCode}; continuing with airgap's own files");
    }
}

/// <summary>The files install wrote itself: configs, the journal, join details, package sources, the kubeconfig.</summary>
public sealed class AirgapFilesResetPhase : IPhase<ResetContext>
{
    public string Name => "files";
    public string Description => "remove what airgap wrote: kubeconfig, kubeadm config, CNI config, registry mirror settings, package sources, join details, the journal, the unpacked repository";

    public async Task RunAsync(ResetContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var state = c.StateDirectory;
        var recorded = Path.Combine(state, "kubeconfig-path");
        if (await c.Host.ReadTextAsync(recorded, ct).ConfigureAwait(false) is { } written &&
            written.Trim() is { Length: > 0 } kubeconfig && kubeconfig.EndsWith("/.kube/config", StringComparison.Ordinal) &&
            await c.Host.DeleteFileAsync(kubeconfig, ct).ConfigureAwait(false))
            c.Progress.Info($"  removed {kubeconfig}");
        string[] files =
        [
            $"/etc/cni/net.d/{BridgeCniConfig.FileName}", KubeadmConfig.DefaultPath, Path.Combine(state, "journal.json"),
            Path.Combine(state, "join.txt"), Path.Combine(state, "kube-flannel.yml"), "/root/.kube/config",
            Path.Combine(state, "join-control-plane.txt"), Path.Combine(state, "certificate-key"),
            Path.Combine(state, Upgrades.NodeUpgrader.JournalName), Path.Combine(state, "upgrade.lock"), .. BundlePackageSources.SourceFiles, recorded,
            // Flannel's own files: kubeadm reset leaves CNI configuration alone, and a stale one breaks the next network add-on.
            "/etc/cni/net.d/10-flannel.conflist", "/run/flannel/subnet.env",
        ];
        foreach (var file in files)
            if (await c.Host.DeleteFileAsync(file, ct).ConfigureAwait(false)) c.Progress.Info($"  removed {file}");
        // The registry mirror's hosts.toml files are airgap's when they say so; a site's own stay.
        foreach (var registry in await c.Host.ListDirectoryAsync(RegistryMirror.HostsDirectory, ct).ConfigureAwait(false) ?? [])
        {
            var hosts = $"{RegistryMirror.HostsDirectory}/{registry}/hosts.toml";
            if ((await c.Host.ReadTextAsync(hosts, ct).ConfigureAwait(false))?.StartsWith("# Written by airgap", StringComparison.Ordinal) == true &&
                await c.Host.DeleteFileAsync(hosts, ct).ConfigureAwait(false))
            {
                c.Progress.Info($"  removed {hosts}");
                await c.Host.RunAsync(new CommandSpec("rmdir", $"{RegistryMirror.HostsDirectory}/{registry}"), ct).ConfigureAwait(false);
            }
        }
        if (await c.Host.DeleteFileAsync(RegistryMirror.CaPath, ct).ConfigureAwait(false)) c.Progress.Info($"  removed {RegistryMirror.CaPath}");
        // The unpacked repository is made again from the bundle by the next install.
        await c.Host.RunAsync(new CommandSpec("rm", "-rf", Path.Combine(state, "repo")), ct).ConfigureAwait(false);
        // kubeadm upgrade keeps its backups in its scratch directory /etc/kubernetes/tmp (the old static pod manifests,
        // etcd's data, the kubelet's config), and kubeadm reset leaves them: they belong to the cluster being reset.
        await c.Host.RunAsync(new CommandSpec("rm", "-rf", "/etc/kubernetes/tmp"), ct).ConfigureAwait(false);
        // kubeadm reset empties /etc/kubernetes but leaves its directories; with ours gone, empty ones go too
        // (a file someone else put there keeps its directory).
        await c.Host.RunAsync(new CommandSpec("find", "/etc/kubernetes", "-depth", "-type", "d", "-empty", "-delete"), ct).ConfigureAwait(false);
    }
}

/// <summary>
/// The binary install path's files: no package manager owns them, so reset is the only way they
/// leave. Services airgap installed are stopped first (packages' services are left to the OS).
/// </summary>
public sealed class BinariesResetPhase : IPhase<ResetContext>
{
    public string Name => "binaries";
    public string Description => "stop the services the binary install path set up and remove the files it recorded";

    public async Task RunAsync(ResetContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var files = await BinaryInstaller.InstalledFilesAsync(c.Host, ct).ConfigureAwait(false);
        if (files.Count == 0) return;
        foreach (var unit in new[] { "kubelet", "containerd" })
        {
            if (!files.Contains($"{BinaryInstaller.UnitDirectory}/{unit}.service")) continue;
            await c.Host.RunAsync(new CommandSpec("systemctl", "disable", "--now", unit) { Timeout = TimeSpan.FromMinutes(2) }, ct).ConfigureAwait(false);
        }
        var removed = 0;
        foreach (var file in files)
            if (await c.Host.DeleteFileAsync(file, ct).ConfigureAwait(false)) removed++;
        await c.Host.DeleteFileAsync(BinaryInstaller.InstalledFilesPath, ct).ConfigureAwait(false);
        await c.Host.RunAsync(new CommandSpec("systemctl", "daemon-reload"), ct).ConfigureAwait(false);
        c.Progress.Info($"  removed {removed} files the binary install put in place (binaries, CNI plugins, systemd units)");
    }
}

public sealed class NetworkResetPhase : IPhase<ResetContext>
{
    public string Name => "network";
    public string Description => $"delete the {BridgeCniConfig.BridgeName} bridge and Flannel's flannel.1, so a new pod CIDR does not clash with their old addresses";

    public async Task RunAsync(ResetContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        foreach (var link in new[] { BridgeCniConfig.BridgeName, "flannel.1" })
            if ((await c.Host.RunAsync(new CommandSpec("ip", "link", "delete", link), ct).ConfigureAwait(false)).ExitCode == 0)
                c.Progress.Info($"  deleted {link}");
    }
}
