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
        "/etc/apt/sources.list.d/airgap.list", "/var/lib/airgap/join-control-plane.txt", "/var/lib/airgap/certificate-key",
    ];

    public async Task ResetAsync(CancellationToken ct)
    {
        if (await host.FileExistsAsync("/usr/bin/kubeadm", ct).ConfigureAwait(false))
        {
            var r = await host.RunAsync(new CommandSpec("kubeadm", "reset", "-f") { Timeout = TimeSpan.FromMinutes(5), OnOutput = l => progress.Info("  kubeadm: " + l.Text) }, ct).ConfigureAwait(false);
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
        // The unpacked repository is made again from the bundle by the next install.
        await host.RunAsync(new CommandSpec("rm", "-rf", "/var/lib/airgap/repo"), ct).ConfigureAwait(false);
        // The bridge a bridge CNI created keeps its old address otherwise, and a new pod CIDR then clashes.
        await host.RunAsync(new CommandSpec("ip", "link", "delete", BridgeCniConfig.BridgeName), ct).ConfigureAwait(false);
    }
}
