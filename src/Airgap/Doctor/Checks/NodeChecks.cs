using System.Text.Json.Nodes;
using Airgap.Nodes;

namespace Airgap.Doctor.Checks;

/// <summary>The kubelet runs: without it nothing on the node is managed and the node goes NotReady.</summary>
public sealed class KubeletCheck : IDoctorCheck
{
    public string Name => "kubelet";
    public string Description => "the kubelet service is active (systemctl is-active kubelet)";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        if (await c.ReadAsync(DoctorContext.KubeletConfig, ct).ConfigureAwait(false) is null)
            return CheckResult.Skip(Name, $"no {DoctorContext.KubeletConfig}: kubeadm has not set up a kubelet here");
        var state = await c.ServiceStateAsync("kubelet", ct).ConfigureAwait(false);
        if (state == "active") return CheckResult.Ok(Name, "the kubelet is active");
        return CheckResult.Fail(Name, $"the kubelet is not running (systemctl is-active kubelet: {state})")
            .WithEvidence($"systemctl is-active kubelet: {state}")
            .WithEvidence(await c.JournalErrorsAsync("kubelet", ct).ConfigureAwait(false)) with
            {
                Fix = "systemctl restart kubelet && journalctl -u kubelet -n 50",
                Repair = [new RunFixStep(new CommandSpec("systemctl", "restart", "kubelet"))],
            };
    }
}

/// <summary>The API server answers through this node's kubeconfig; the checks after it read the cluster through it.</summary>
public sealed class ApiServerCheck : IDoctorCheck
{
    public string Name => "api-server";
    public string Description => "the API server answers (kubectl get nodes with /etc/kubernetes/admin.conf, or kubelet.conf on a worker)";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var kubeconfig = await c.KubeconfigAsync(ct).ConfigureAwait(false);
        if (kubeconfig is null) return CheckResult.Skip(Name, "no /etc/kubernetes/admin.conf or kubelet.conf: not part of a cluster");
        var nodes = await c.NodesAsync(ct).ConfigureAwait(false);
        if (nodes.Json is not null) return CheckResult.Ok(Name, $"the API server answers ({kubeconfig})");
        return CheckResult.Fail(Name, $"the API server does not answer: {nodes.Error}")
            .WithEvidence($"kubectl --kubeconfig {kubeconfig} get nodes: {nodes.Error}") with
            {
                Fix = "crictl ps -a | grep kube-apiserver; read its log under /var/log/pods/kube-system_kube-apiserver-*",
            };
    }
}

/// <summary>
/// kubectl with no kubeconfig falls back to localhost:8080 ("The connection to the server
/// localhost:8080 was refused"): the kubeconfig kubeadm wrote is not where kubectl looks.
/// </summary>
public sealed class KubeconfigCheck : IDoctorCheck
{
    public string Name => "kubeconfig";
    public string Description => "kubectl as run here (KUBECONFIG, ~/.kube/config) reaches the API server, not localhost:8080";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        if (await c.ReadAsync(DoctorContext.AdminKubeconfig, ct).ConfigureAwait(false) is null)
            return CheckResult.Skip(Name, $"no {DoctorContext.AdminKubeconfig}: not a control plane, kubectl is run elsewhere");
        // No --kubeconfig: kubectl as the operator types it, with the environment this shell has.
        var r = await c.RunAsync(new CommandSpec("kubectl", "get", "--raw", "/version", "--request-timeout", "10s"), ct).ConfigureAwait(false);
        if (r.Succeeded) return CheckResult.Ok(Name, "kubectl reaches the API server with the kubeconfig it finds");
        var said = DoctorContext.LastLine(r) ?? $"exit code {r.ExitCode}";
        var home = await HomeAsync(c, ct).ConfigureAwait(false);
        var config = $"{home}/.kube/config";
        var env = await EnvAsync(c, "KUBECONFIG", ct).ConfigureAwait(false);
        var where = env is { Length: > 0 } ? $"KUBECONFIG={env}" : $"KUBECONFIG is unset and {config} {(await c.Host.FileExistsAsync(config, ct).ConfigureAwait(false) ? "exists" : "does not exist")}";
        if (!said.Contains("localhost:8080", StringComparison.Ordinal))
            return CheckResult.Fail(Name, $"kubectl fails with the kubeconfig it finds ({where}): {said}").WithEvidence($"kubectl get --raw /version: {said}") with
            {
                Fix = $"export KUBECONFIG={DoctorContext.AdminKubeconfig}, or install -m 600 {DoctorContext.AdminKubeconfig} {config}",
            };
        var admin = await c.ReadAsync(DoctorContext.AdminKubeconfig, ct).ConfigureAwait(false);
        return CheckResult.Fail(Name, $"kubectl has no kubeconfig and tries localhost:8080 ({where})")
            .WithEvidence($"kubectl get --raw /version: {said}") with
            {
                Fix = $"mkdir -p {home}/.kube && install -m 600 {DoctorContext.AdminKubeconfig} {config}   (or: export KUBECONFIG={DoctorContext.AdminKubeconfig})",
                // Only the missing file is written; a KUBECONFIG pointing elsewhere is the operator's choice to change.
                Repair = env is { Length: > 0 } ? [] : [new WriteFixStep(config, admin!, HostExtensions.Mode0600) { }],
            };
    }

    private static async Task<string> HomeAsync(DoctorContext c, CancellationToken ct) =>
        await EnvAsync(c, "HOME", ct).ConfigureAwait(false) is { Length: > 0 } home ? home.TrimEnd('/') : "/root";

    private static async Task<string?> EnvAsync(DoctorContext c, string name, CancellationToken ct)
    {
        var r = await c.RunAsync(new CommandSpec("printenv", name), ct).ConfigureAwait(false);
        return r.Succeeded ? r.Stdout.Trim() : null;
    }
}

/// <summary>The node is Ready; when it is not, the cause as the kubelet reports it and as the node shows it.</summary>
public sealed class NodeReadyCheck : IDoctorCheck
{
    public string Name => "node-ready";
    public string Description => "the node is registered and Ready; when not, why (no CNI config, kubelet stopped, runtime down)";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var nodes = await c.NodesAsync(ct).ConfigureAwait(false);
        if (nodes.Json is null) return CheckResult.Skip(Name, $"nodes not readable: {nodes.Error}");
        var name = await c.NodeNameAsync(ct).ConfigureAwait(false);
        var node = await c.OwnNodeAsync(ct).ConfigureAwait(false);
        if (node is null)
            return CheckResult.Fail(Name, $"node {name} is not registered with the API server")
                .WithEvidence($"kubectl get nodes: {string.Join(", ", nodes.Json["items"]?.AsArray().Select(n => (string?)n?["metadata"]?["name"]) ?? [])}") with
                {
                    Fix = "systemctl status kubelet; journalctl -u kubelet -n 50 (the kubelet registers the node)",
                };
        var ready = Condition(node, "Ready");
        if ((string?)ready?["status"] == "True") return CheckResult.Ok(Name, $"node {name} is Ready");
        var message = (string?)ready?["message"] ?? "no Ready condition";
        var evidence = new List<string> { $"node {name} Ready={(string?)ready?["status"] ?? "?"} ({(string?)ready?["reason"]}): {message}" };
        var cni = await c.Host.ListDirectoryAsync(DoctorContext.CniConfigDirectory, ct).ConfigureAwait(false) ?? [];
        evidence.Add($"{DoctorContext.CniConfigDirectory}: {(cni.Count == 0 ? "empty" : string.Join(", ", cni))}");
        var kubelet = await c.ServiceStateAsync("kubelet", ct).ConfigureAwait(false);
        if (kubelet != "active")
            return CheckResult.Fail(Name, $"node {name} is NotReady: the kubelet is not running ({kubelet})").WithEvidence(evidence) with
            {
                Fix = "systemctl restart kubelet && journalctl -u kubelet -n 50",
            };
        if (message.Contains("container runtime is down", StringComparison.Ordinal) || message.Contains("PLEG", StringComparison.Ordinal) ||
            message.Contains("runtime", StringComparison.Ordinal) && !message.Contains("network", StringComparison.Ordinal))
            return CheckResult.Fail(Name, $"node {name} is NotReady: the container runtime does not answer the kubelet").WithEvidence(evidence) with
            {
                Fix = "systemctl restart containerd; crictl info",
            };
        var networkNotReady = message.Contains("cni config uninitialized", StringComparison.Ordinal) || message.Contains("NetworkPluginNotReady", StringComparison.Ordinal) ||
                              message.Contains("cni plugin not initialized", StringComparison.Ordinal);
        if (cni.Count > 0 && networkNotReady)
            // Seen on the lab's node: a CNI config put back while containerd ran stays unloaded ("cni plugin not initialized") until containerd restarts.
            return CheckResult.Fail(Name, $"node {name} is NotReady: containerd has not loaded the CNI config in {DoctorContext.CniConfigDirectory} ({string.Join(", ", cni)}) — it says \"{NetworkMessage(message)}\"")
                .WithEvidence(evidence) with
                {
                    Fix = "systemctl restart containerd (it loads /etc/cni/net.d again); crictl info shows NetworkReady",
                    Repair = [new RunFixStep(new CommandSpec("systemctl", "restart", "containerd"))],
                };
        if (cni.Count == 0 || networkNotReady)
            return CheckResult.Fail(Name, $"node {name} is NotReady: no CNI config in {DoctorContext.CniConfigDirectory} (the network plugin is not installed or its pod is not running)")
                .WithEvidence(evidence) with
                {
                    Fix = "kubectl get pods -A -o wide | grep -E 'flannel|calico|cni'; apply the bundle's CNI manifest (airgap install runs it in its cni phase)",
                };
        return CheckResult.Fail(Name, $"node {name} is NotReady: {message}").WithEvidence(evidence) with { Fix = "journalctl -u kubelet -n 50" };
    }

    private static string NetworkMessage(string message)
    {
        var at = message.IndexOf("message:", StringComparison.Ordinal);
        return at >= 0 ? message[(at + "message:".Length)..].Trim() : message;
    }

    internal static JsonNode? Condition(JsonNode node, string type) =>
        node["status"]?["conditions"]?.AsArray().FirstOrDefault(x => (string?)x?["type"] == type);
}
