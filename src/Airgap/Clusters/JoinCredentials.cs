using Airgap.Nodes;

namespace Airgap.Clusters;

/// <summary>
/// A fresh bootstrap token (one hour) and, for control planes, freshly uploaded certificates under a
/// new key — made on the first control plane once per deploy, only when a node still has to join.
/// They go to the joining node in a 0600 file that is removed after the join; never printed.
/// </summary>
public sealed class JoinCredentials(ClusterContext c)
{
    private string? joinLine;
    private string? certificateKey;

    public IReadOnlyList<string> Secrets => new[] { Token, certificateKey }.OfType<string>().ToList();

    private string? Token => joinLine is null ? null : JoinCommandLine.Parse(joinLine, "kubeadm token create").Settings.Token;

    public async Task<string> JoinLineAsync(bool controlPlane, CancellationToken ct)
    {
        var node = c.Ssh(c.FirstControlPlane);
        joinLine ??= (await node.RunCheckedAsync(new CommandSpec("kubeadm", "token", "create", "--ttl", "1h", "--print-join-command"), ct).ConfigureAwait(false)).Stdout.Trim();
        if (!controlPlane) return joinLine;
        if (certificateKey is null)
        {
            var key = (await node.RunCheckedAsync(new CommandSpec("kubeadm", "certs", "certificate-key"), ct).ConfigureAwait(false)).Stdout.Trim();
            await node.RunCheckedAsync(new CommandSpec("kubeadm", "init", "phase", "upload-certs", "--upload-certs", "--certificate-key", key)
            {
                Sensitive = true,
                Secrets = [key],
                Timeout = TimeSpan.FromMinutes(2),
            }, ct).ConfigureAwait(false);
            certificateKey = key;
            c.Progress.Info($"{c.FirstControlPlane.Name}: control-plane certificates uploaded under a fresh key (kubeadm deletes them after 2 hours)");
        }
        return $"{joinLine} --control-plane --certificate-key {certificateKey}";
    }

    /// <summary>Joins one node with a 0600 join file that exists only while the join runs.</summary>
    public async Task JoinAsync(ClusterHost host, CancellationToken ct)
    {
        var controlPlane = c.Config.ControlPlanes.Contains(host);
        var line = await JoinLineAsync(controlPlane, ct).ConfigureAwait(false);
        var node = c.Ssh(host);
        if ((await c.JournalAsync(host, ct).ConfigureAwait(false))?.Get("kubeadm") is { State: not PhaseState.Done })
            await ForgetInterruptedJoinAsync(host, ct).ConfigureAwait(false);
        var file = $"{ClusterContext.DistDirectory}/join.txt";
        await node.WriteTextAsync(file, line + "\n", HostExtensions.Mode0600, ct).ConfigureAwait(false);
        try
        {
            await c.RunAirgapAsync(host, NodeArguments.Join(c, host, file), ct, Secrets).ConfigureAwait(false);
        }
        finally
        {
            await node.DeleteFileAsync(file, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A join cut off after the kubelet registered leaves a Node object that kubeadm refuses to join
    /// over ("a Node with name … already exists"), and the node itself cannot remove it. It is this
    /// node's own (same name, same address) and its journal says the join never finished, so it goes.
    /// </summary>
    private async Task ForgetInterruptedJoinAsync(ClusterHost host, CancellationToken ct)
    {
        var first = c.Ssh(c.FirstControlPlane);
        var name = host.Name.ToLowerInvariant();
        var r = await first.RunAsync(c.Kubectl("get", "node", name, "-o", "jsonpath={.status.addresses[?(@.type==\"InternalIP\")].address}"), ct).ConfigureAwait(false);
        if (r.ExitCode != 0 || r.Stdout.Trim() != host.ClusterAddress) return;
        await first.RunCheckedAsync(c.Kubectl("delete", "node", name, "--wait=true"), ct).ConfigureAwait(false);
        c.Progress.Info($"{host.Name}: its interrupted join had registered it; removed that Node object before joining again");
    }
}
