using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Airgap.Nodes;

namespace Airgap.Doctor.Checks;

/// <summary>The cluster's pod CIDR as kubeadm recorded it (ClusterConfiguration's podSubnet), else the controller manager's --cluster-cidr.</summary>
public static partial class ClusterNetwork
{
    public static async Task<(string? Cidr, string Source)> PodCidrAsync(DoctorContext c, CancellationToken ct)
    {
        var config = await c.GetAsync(ct, "configmap", "-n", "kube-system", "kubeadm-config").ConfigureAwait(false);
        if ((string?)config.Json?["data"]?["ClusterConfiguration"] is { } yaml && PodSubnet().Match(yaml) is { Success: true } m)
            return (m.Groups[1].Value, "kubeadm-config ClusterConfiguration networking.podSubnet");
        var manifest = await c.ReadAsync("/etc/kubernetes/manifests/kube-controller-manager.yaml", ct).ConfigureAwait(false);
        if (manifest is not null && ClusterCidrFlag().Match(manifest) is { Success: true } f)
            return (f.Groups[1].Value, "kube-controller-manager --cluster-cidr");
        return (null, "");
    }

    /// <summary>Flannel's configmap wherever its manifest put it (kube-system up to v0.20, kube-flannel after).</summary>
    public static async Task<JsonNode?> FlannelConfigMapAsync(DoctorContext c, CancellationToken ct)
    {
        var maps = await c.GetAsync(ct, "configmap", "--all-namespaces", "--field-selector", "metadata.name=kube-flannel-cfg").ConfigureAwait(false);
        return maps.Json?["items"]?.AsArray().FirstOrDefault();
    }

    public static string? FlannelNetwork(JsonNode configMap)
    {
        if ((string?)configMap["data"]?["net-conf.json"] is not { } text) return null;
        try
        {
            return (string?)JsonNode.Parse(text)?["Network"];
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>net-conf.json with Network replaced, the rest kept as it was.</summary>
    public static string WithNetwork(string netConf, string cidr)
    {
        var json = JsonNode.Parse(netConf)!.AsObject();
        json["Network"] = cidr;
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    [GeneratedRegex(@"^\s*podSubnet:\s*""?([0-9a-fA-F.:/,]+)""?\s*$", RegexOptions.Multiline)]
    private static partial Regex PodSubnet();

    [GeneratedRegex(@"--cluster-cidr=([0-9a-fA-F.:/,]+)")]
    private static partial Regex ClusterCidrFlag();
}

/// <summary>
/// The node got no podCIDR: Flannel (and any CNI using host-local with the node's range) fails with
/// "pod cidr not assigned". The controller manager allocates them only with --allocate-node-cidrs.
/// </summary>
public sealed class PodCidrCheck : IDoctorCheck
{
    public string Name => "pod-cidr";
    public string Description => "the node has a spec.podCIDR inside the cluster's pod CIDR (the controller manager allocates it)";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var node = await c.OwnNodeAsync(ct).ConfigureAwait(false);
        if (node is null) return CheckResult.Skip(Name, "the node is not readable from the API");
        var (cluster, source) = await ClusterNetwork.PodCidrAsync(c, ct).ConfigureAwait(false);
        var podCidr = (string?)node["spec"]?["podCIDR"];
        var name = (string?)node["metadata"]?["name"];
        if (podCidr is null)
        {
            var flannel = await ClusterNetwork.FlannelConfigMapAsync(c, ct).ConfigureAwait(false);
            var result = cluster is null
                ? CheckResult.Fail(Name, $"node {name} has no podCIDR and the cluster has no pod CIDR: kubeadm init ran without --pod-network-cidr")
                : CheckResult.Fail(Name, $"node {name} has no podCIDR although the cluster's pod CIDR is {cluster}: the controller manager does not allocate node CIDRs");
            if (flannel is null && cluster is null) result = result with { Status = CheckStatus.Warn };
            return result.WithEvidence($"kubectl get node {name}: spec.podCIDR is unset", cluster is null ? null : $"{source}: {cluster}") with
            {
                Fix = "add --allocate-node-cidrs=true --cluster-cidr=POD_CIDR to /etc/kubernetes/manifests/kube-controller-manager.yaml (the kubelet restarts it), or reinstall with --pod-network-cidr",
            };
        }
        if (cluster is not null && !cluster.Split(',').Any(range => Contains(range, podCidr)))
            return CheckResult.Fail(Name, $"node {name}'s podCIDR {podCidr} is outside the cluster's pod CIDR {cluster}")
                .WithEvidence($"{source}: {cluster}") with { Fix = $"kubectl delete node {name} and restart its kubelet so it registers again and gets a CIDR from {cluster}" };
        return CheckResult.Ok(Name, $"node {name} has podCIDR {podCidr}{(cluster is null ? "" : $" in {cluster}")}");
    }

    internal static bool Contains(string outer, string inner)
    {
        // Unparsable ranges are not this check's to judge.
        if (!System.Net.IPNetwork.TryParse(outer.Trim(), out var o) || !System.Net.IPNetwork.TryParse(inner.Trim(), out var i)) return true;
        return o.Contains(i.BaseAddress) && i.PrefixLength >= o.PrefixLength;
    }
}

/// <summary>
/// Flannel's Network (kube-flannel-cfg's net-conf.json) must be the cluster's pod CIDR: Flannel
/// hands each node the podCIDR the controller manager allocated inside the cluster's CIDR, and one
/// outside its Network gives "pod cidr not assigned" or routes nobody else knows.
/// </summary>
public sealed class FlannelNetworkCheck : IDoctorCheck
{
    public string Name => "flannel-network";
    public string Description => "Flannel's Network (configmap kube-flannel-cfg, net-conf.json) equals the cluster's pod CIDR";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        if (await c.KubeconfigAsync(ct).ConfigureAwait(false) is null) return CheckResult.Skip(Name, "not part of a cluster");
        var map = await ClusterNetwork.FlannelConfigMapAsync(c, ct).ConfigureAwait(false);
        if (map is null) return CheckResult.Skip(Name, "no Flannel (no configmap kube-flannel-cfg)");
        var ns = (string?)map["metadata"]?["namespace"] ?? "kube-system";
        var network = ClusterNetwork.FlannelNetwork(map);
        var (cluster, source) = await ClusterNetwork.PodCidrAsync(c, ct).ConfigureAwait(false);
        if (cluster is null) return CheckResult.Warn(Name, $"Flannel's Network is {network}, but the cluster records no pod CIDR to compare it with");
        var first = cluster.Split(',')[0].Trim();
        if (network == first) return CheckResult.Ok(Name, $"Flannel's Network {network} is the cluster's pod CIDR");
        var netConf = (string)map["data"]!["net-conf.json"]!;
        var patched = ClusterNetwork.WithNetwork(netConf, first);
        var patch = new JsonObject { ["data"] = new JsonObject { ["net-conf.json"] = patched } }.ToJsonString();
        var kubeconfig = await c.KubeconfigAsync(ct).ConfigureAwait(false) ?? DoctorContext.AdminKubeconfig;
        var log = await FlannelLogAsync(c, ns, kubeconfig, ct).ConfigureAwait(false);
        return CheckResult.Fail(Name, $"Flannel's Network {network ?? "(unset)"} is not the cluster's pod CIDR {first}: pods get no or unroutable addresses (\"pod cidr not assigned\")")
            .WithEvidence($"configmap {ns}/kube-flannel-cfg net-conf.json: \"Network\": \"{network}\"", $"{source}: {cluster}", log) with
            {
                Fix = $"kubectl -n {ns} patch configmap kube-flannel-cfg --type merge -p {CommandSpec.ShellQuote(patch)} && kubectl -n {ns} delete pod -l app=flannel",
                Repair =
                [
                    new CompositeFixStep($"kubectl -n {ns} patch configmap kube-flannel-cfg: \"Network\": \"{first}\", then delete the Flannel pods so they restart with it",
                    [
                        new RunFixStep(DoctorContext.Kubectl(kubeconfig, "-n", ns, "patch", "configmap", "kube-flannel-cfg", "--type", "merge", "-p", patch)),
                        new RunFixStep(DoctorContext.Kubectl(kubeconfig, "-n", ns, "delete", "pod", "-l", "app=flannel", "--wait=false")),
                    ]),
                ],
            };
    }

    /// <summary>The Flannel log line that says what went wrong, when a Flannel pod has one.</summary>
    private static async Task<string?> FlannelLogAsync(DoctorContext c, string ns, string kubeconfig, CancellationToken ct)
    {
        var r = await c.RunAsync(DoctorContext.Kubectl(kubeconfig, "-n", ns, "logs", "-l", "app=flannel", "-c", "kube-flannel", "--tail", "30"), ct).ConfigureAwait(false);
        if (!r.Succeeded) return null;
        var line = r.Stdout.Split('\n').LastOrDefault(l => l.StartsWith('E') || l.Contains("pod cidr", StringComparison.OrdinalIgnoreCase) || l.Contains("Error", StringComparison.Ordinal));
        return line is null ? null : "flannel: " + line.Trim();
    }
}
