using System.Text.Json;
using Airgap.Clusters;
using Airgap.Nodes;
using Airgap.Releases;

namespace Airgap.Upgrades;

/// <summary>
/// The running cluster as the jump host reads it for an upgrade: roles, architectures, kubelets and API
/// servers from the first control plane's API server; each node's OS and its kubeadm and kubectl over
/// SSH. Nodes come in cluster.yaml's order, control planes first, so the first control plane leads.
/// </summary>
public static class ClusterUpgradeProbe
{
    public static async Task<ClusterState> ReadAsync(ClusterContext c, CancellationToken ct)
    {
        var cp = c.Ssh(c.FirstControlPlane);
        var nodes = await JsonAsync(c, cp, ct, "get", "nodes", "-o", "json").ConfigureAwait(false);
        var pods = await JsonAsync(c, cp, ct, "get", "pods", "-n", "kube-system", "-l", "component=kube-apiserver", "-o", "json").ConfigureAwait(false);
        var apiServers = new Dictionary<string, KubernetesVersion>(StringComparer.Ordinal);
        foreach (var pod in pods.RootElement.GetProperty("items").EnumerateArray())
            if (pod.GetProperty("spec").TryGetProperty("nodeName", out var n) && n.GetString() is { } node &&
                NodeUpgradeProbe.TagVersion(pod.GetProperty("spec").GetProperty("containers")[0].GetProperty("image").GetString()) is { } v)
                apiServers[node] = v;
        var registered = nodes.RootElement.GetProperty("items").EnumerateArray().ToDictionary(
            i => i.GetProperty("metadata").GetProperty("name").GetString()!,
            i => i.GetProperty("status").GetProperty("nodeInfo"), StringComparer.Ordinal);

        var hosts = c.Config.Nodes;
        var states = new NodeState?[hosts.Count];
        await c.ForEachAsync(hosts, async host =>
        {
            var name = host.Name.ToLowerInvariant();
            if (!registered.TryGetValue(name, out var info))
                throw new AirgapException($"{host.Name} is in cluster.yaml but not a node of the cluster; run airgap cluster deploy first (or remove it from cluster.yaml)");
            var ssh = c.Ssh(host);
            var osText = await ssh.ReadTextAsync("/etc/os-release", ct).ConfigureAwait(false);
            var os = osText is null ? "unknown" : OsRelease.Parse(osText).Profile;
            var kubeadm = await NodeUpgradeProbe.ToolVersionAsync(ssh, new CommandSpec("kubeadm", "version", "-o", "short"), ct).ConfigureAwait(false)
                          ?? await NodeUpgradeProbe.ToolVersionAsync(ssh, new CommandSpec(BinaryInstaller.PathOf("kubeadm"), "version", "-o", "short"), ct).ConfigureAwait(false);
            var kubectl = await KubectlVersionAsync(ssh, ct).ConfigureAwait(false);
            var controlPlane = c.Config.ControlPlanes.Contains(host);
            // A control plane whose API server is restarting (kubeadm upgrading it, or an upgrade cut there) has
            // no mirror pod for a moment; the static pod's manifest on the node says what kubeadm last set.
            var apiServer = apiServers.GetValueOrDefault(name);
            if (controlPlane && apiServer is null &&
                await ssh.ReadTextAsync(NodeUpgradeProbe.ApiServerManifest, ct).ConfigureAwait(false) is { } manifest)
                apiServer = NodeUpgradeProbe.TagVersion(NodeUpgradeProbe.ImageOf(manifest));
            states[hosts.ToList().IndexOf(host)] = new NodeState(name, controlPlane ? UpgradeNodeRole.ControlPlane : UpgradeNodeRole.Worker,
                info.GetProperty("architecture").GetString() ?? "unknown", os, KubernetesVersion.Parse(info.GetProperty("kubeletVersion").GetString()!),
                kubeadm, kubectl, apiServer);
        }, ct).ConfigureAwait(false);
        return new ClusterState(states.Select(s => s!).OrderBy(s => s.Role).ToList());
    }

    /// <summary>The node's kubectl (the package's on PATH, else the binary path's), which the drain flags depend on.</summary>
    public static async Task<KubernetesVersion?> KubectlVersionAsync(SshHost ssh, CancellationToken ct) =>
        await NodeUpgradeProbe.ToolVersionAsync(ssh, new CommandSpec("kubectl", "version", "--client", "-o", "json"), ct).ConfigureAwait(false)
        ?? await NodeUpgradeProbe.ToolVersionAsync(ssh, new CommandSpec(BinaryInstaller.PathOf("kubectl"), "version", "--client", "-o", "json"), ct).ConfigureAwait(false);

    private static async Task<JsonDocument> JsonAsync(ClusterContext c, SshHost cp, CancellationToken ct, params string[] args)
    {
        var r = await cp.RunAsync(c.Kubectl(args), ct).ConfigureAwait(false);
        if (r.ExitCode != 0)
            throw new AirgapException($"{c.FirstControlPlane.Name}: the API server does not answer (kubectl {string.Join(' ', args)}: " +
                                      $"{r.StderrTail.LastOrDefault(l => l.Length > 0) ?? $"exit {r.ExitCode}"}); an upgrade needs the running cluster");
        return JsonDocument.Parse(r.Stdout);
    }
}
