using System.Text.Json;
using Airgap.Nodes;
using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Upgrades;

/// <summary>What an upgrade on this node finds before it changes anything: the cluster as its API server tells it, and this node.</summary>
public sealed record NodeUpgradeView(string Node, ClusterState Cluster, string? ApiServerImage)
{
    public NodeState Self => Cluster.Nodes.First(n => n.Name == Node);
    public bool SingleNode => Cluster.Nodes.Count == 1;
}

/// <summary>
/// Reads the running cluster from a node: every node's role, architecture and kubelet version from the
/// API server, each control plane's kube-apiserver version from its mirror pod, and this node's own
/// kubeadm and kubectl from the binaries on it. Read again by each phase that needs it: it is cheap, and
/// a re-run after a kill sees what is true now, not what a journal remembers.
/// </summary>
public static class NodeUpgradeProbe
{
    public const string ApiServerManifest = "/etc/kubernetes/manifests/kube-apiserver.yaml";

    public static async Task<NodeUpgradeView> ReadAsync(InstallContext c, CancellationToken ct)
    {
        var facts = await c.FactsAsync(ct).ConfigureAwait(false);
        var me = facts.Hostname.ToLowerInvariant();
        var nodes = await KubectlJsonAsync(c, ct, "get", "nodes", "-o", "json").ConfigureAwait(false);
        var pods = await KubectlJsonAsync(c, ct, "get", "pods", "-n", "kube-system", "-l", "component=kube-apiserver", "-o", "json").ConfigureAwait(false);
        var apiServers = new Dictionary<string, KubernetesVersion>(StringComparer.Ordinal);
        foreach (var pod in pods.RootElement.GetProperty("items").EnumerateArray())
        {
            var node = pod.GetProperty("spec").TryGetProperty("nodeName", out var n) ? n.GetString() : null;
            var image = pod.GetProperty("spec").GetProperty("containers")[0].GetProperty("image").GetString();
            if (node is not null && TagVersion(image) is { } version) apiServers[node] = version;
        }
        // This node's API server restarting has no mirror pod for a moment: its manifest says what kubeadm last set.
        var manifest = await c.Host.ReadTextAsync(ApiServerManifest, ct).ConfigureAwait(false);
        if (!apiServers.ContainsKey(me) && TagVersion(manifest is null ? null : ImageOf(manifest)) is { } own) apiServers[me] = own;
        var os = facts.Os?.Profile ?? "unknown";
        var kubeadm = await ToolVersionAsync(c.Host, new CommandSpec(await c.KubeadmProgramAsync(ct).ConfigureAwait(false), "version", "-o", "short"), ct).ConfigureAwait(false);
        var kubectlSpec = await c.KubectlAsync(ct, "version", "--client", "-o", "json").ConfigureAwait(false);
        var kubectl = await ToolVersionAsync(c.Host, new CommandSpec(kubectlSpec.File, "version", "--client", "-o", "json"), ct).ConfigureAwait(false);
        var states = new List<NodeState>();
        foreach (var item in nodes.RootElement.GetProperty("items").EnumerateArray())
        {
            var name = item.GetProperty("metadata").GetProperty("name").GetString()!;
            var labels = item.GetProperty("metadata").TryGetProperty("labels", out var l) ? l : default;
            var controlPlane = labels.ValueKind == JsonValueKind.Object &&
                               (labels.TryGetProperty("node-role.kubernetes.io/control-plane", out _) || labels.TryGetProperty("node-role.kubernetes.io/master", out _));
            var info = item.GetProperty("status").GetProperty("nodeInfo");
            var kubelet = KubernetesVersion.Parse(info.GetProperty("kubeletVersion").GetString()!);
            var self = name == me;
            states.Add(new NodeState(name, controlPlane || apiServers.ContainsKey(name) ? UpgradeNodeRole.ControlPlane : UpgradeNodeRole.Worker,
                info.GetProperty("architecture").GetString() ?? "unknown",
                // Other nodes' OS is not in the API; only this node's matters to what this run installs.
                self ? os : os,
                kubelet, self ? kubeadm : null, self ? kubectl : null, apiServers.GetValueOrDefault(name)));
        }
        if (states.All(s => s.Name != me))
            throw new AirgapException($"this node ({me}) is not a node of the cluster the API server answers for; run airgap upgrade on one of its nodes");
        // The leader first, as cluster.yaml would list it: the control plane with the oldest API server.
        states = states.OrderBy(s => s.Role).ThenBy(s => s.Name == me ? 0 : 1).ToList();
        return new NodeUpgradeView(me, new ClusterState(states), manifest is null ? null : ImageOf(manifest));
    }

    /// <summary>The kube-apiserver image of a static pod manifest (the tag kubeadm upgrade rewrites).</summary>
    public static string? ImageOf(string manifest) =>
        manifest.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("image:", StringComparison.Ordinal))?[6..].Trim().Trim('"', '\'');

    public static KubernetesVersion? TagVersion(string? image) =>
        image is not null && image.LastIndexOf(':') is var i and > 0 && KubernetesVersion.TryParse(image[(i + 1)..], out var v) ? v : null;

    private static async Task<JsonDocument> KubectlJsonAsync(InstallContext c, CancellationToken ct, params string[] args)
    {
        var r = await c.Host.RunAsync(await c.KubectlAsync(ct, args).ConfigureAwait(false), ct).ConfigureAwait(false);
        if (r.ExitCode != 0)
            throw new AirgapException($"the cluster's API server does not answer on this node (kubectl {string.Join(' ', args)}: {r.StderrTail.LastOrDefault(x => x.Length > 0) ?? $"exit {r.ExitCode}"}); " +
                                      "an upgrade needs the running cluster: check the kubelet and the control plane, or run airgap upgrade on a control-plane node");
        return JsonDocument.Parse(r.Stdout);
    }

    /// <summary>A version from `kubeadm version -o short` (v1.20.2) or kubectl's JSON (clientVersion.gitVersion); null when absent.</summary>
    public static async Task<KubernetesVersion?> ToolVersionAsync(IHost host, CommandSpec spec, CancellationToken ct)
    {
        var r = await host.RunAsync(spec with { Timeout = TimeSpan.FromSeconds(30) }, ct).ConfigureAwait(false);
        if (r.ExitCode != 0) return null;
        var text = r.Stdout.Trim();
        if (text.StartsWith('{'))
        {
            using var json = JsonDocument.Parse(text);
            text = json.RootElement.TryGetProperty("clientVersion", out var client) ? client.GetProperty("gitVersion").GetString() ?? "" : "";
        }
        return KubernetesVersion.TryParse(text, out var v) ? v : null;
    }
}
