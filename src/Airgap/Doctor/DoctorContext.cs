using System.Text.Json;
using System.Text.Json.Nodes;
using Airgap.Bundles;
using Airgap.Nodes;

namespace Airgap.Doctor;

/// <summary>
/// What the checks of one node share: the host they read through, the bundle when one was given,
/// and what several checks read (the kubelet's config, the API's nodes and pods), read once per round.
/// </summary>
public sealed class DoctorContext(IHost host, DoctorBundle? bundle = null, TimeProvider? clock = null)
{
    public const string AdminKubeconfig = "/etc/kubernetes/admin.conf";
    public const string KubeletKubeconfig = "/etc/kubernetes/kubelet.conf";
    public const string KubeletConfig = "/var/lib/kubelet/config.yaml";
    public const string CniConfigDirectory = "/etc/cni/net.d";
    public const string ContainerdSocket = "unix:///run/containerd/containerd.sock";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);
    private readonly Dictionary<string, Task<CommandResult>> commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task<string?>> files = new(StringComparer.Ordinal);
    private Task<HostFacts>? facts;

    public IHost Host { get; } = host;
    public DoctorBundle? Bundle { get; } = bundle;
    public TimeProvider Clock { get; } = clock ?? TimeProvider.System;

    /// <summary>What a fix line says to run to repair with the bundle: with --bundle when one was given.</summary>
    public string FixCommand => Bundle is null ? "airgap doctor --fix --bundle BUNDLE" : $"airgap doctor --fix --bundle {CommandSpec.ShellQuote(Bundle.Path)}";

    public Task<HostFacts> FactsAsync(CancellationToken ct) => facts ??= HostProbe.ProbeAsync(Host, ct);

    /// <summary>The node's name as kubeadm registers it: the host name, lowercased.</summary>
    public async Task<string> NodeNameAsync(CancellationToken ct) => (await FactsAsync(ct).ConfigureAwait(false)).Hostname.ToLowerInvariant();

    public Task<string?> ReadAsync(string path, CancellationToken ct)
    {
        if (!files.TryGetValue(path, out var read)) files[path] = read = Host.ReadTextAsync(path, ct);
        return read;
    }

    /// <summary>Runs a read-only command once per round; a command that is not there is a result (exit 127), not an exception.</summary>
    public Task<CommandResult> RunAsync(CommandSpec spec, CancellationToken ct)
    {
        var key = spec.DisplayLine;
        if (!commands.TryGetValue(key, out var run)) commands[key] = run = RunOnceAsync(spec with { Timeout = spec.Timeout ?? CommandTimeout }, ct);
        return run;
    }

    private async Task<CommandResult> RunOnceAsync(CommandSpec spec, CancellationToken ct)
    {
        try
        {
            return await Host.RunAsync(spec, ct).ConfigureAwait(false);
        }
        catch (AirgapException e) when (e is not CommandFailedException)
        {
            // LocalHost cannot start a program that is not installed; over SSH the shell says 127. Both are an answer here.
            return new CommandResult(Host.Name, spec.DisplayLine, 127, TimeSpan.Zero, [], [$"{spec.File}: command not found ({e.Message})"]);
        }
    }

    /// <summary>The kubeconfig doctor reads the API with: the admin one on a control plane, the kubelet's elsewhere; null when neither is there.</summary>
    public async Task<string?> KubeconfigAsync(CancellationToken ct)
    {
        if (await ReadAsync(AdminKubeconfig, ct).ConfigureAwait(false) is not null) return AdminKubeconfig;
        return await ReadAsync(KubeletKubeconfig, ct).ConfigureAwait(false) is not null ? KubeletKubeconfig : null;
    }

    public static CommandSpec Kubectl(string kubeconfig, params string[] args) =>
        new("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout", "10s", .. args]);

    /// <summary>An API object as JSON, or the one line kubectl failed with.</summary>
    public async Task<ApiRead> GetAsync(CancellationToken ct, params string[] args)
    {
        var kubeconfig = await KubeconfigAsync(ct).ConfigureAwait(false);
        if (kubeconfig is null) return new ApiRead(null, "no kubeconfig on this node (/etc/kubernetes/admin.conf, kubelet.conf): not part of a cluster");
        var r = await RunAsync(Kubectl(kubeconfig, ["get", .. args, "-o", "json"]), ct).ConfigureAwait(false);
        if (!r.Succeeded) return new ApiRead(null, LastLine(r) ?? $"kubectl exited with code {r.ExitCode}");
        try
        {
            return new ApiRead(JsonNode.Parse(r.Stdout), null);
        }
        catch (JsonException e)
        {
            return new ApiRead(null, $"kubectl's answer is not JSON: {e.Message}");
        }
    }

    public Task<ApiRead> NodesAsync(CancellationToken ct) => GetAsync(ct, "nodes");
    public Task<ApiRead> PodsAsync(CancellationToken ct) => GetAsync(ct, "pods", "--all-namespaces");

    /// <summary>This node's object from the API, or null when the API does not answer or has no such node.</summary>
    public async Task<JsonNode?> OwnNodeAsync(CancellationToken ct)
    {
        var nodes = await NodesAsync(ct).ConfigureAwait(false);
        var name = await NodeNameAsync(ct).ConfigureAwait(false);
        return nodes.Json?["items"]?.AsArray().FirstOrDefault(n => (string?)n?["metadata"]?["name"] == name);
    }

    /// <summary>The last line a failed command said, stderr first: what an operator would paste into a search.</summary>
    public static string? LastLine(CommandResult r) =>
        r.StderrTail.LastOrDefault(l => l.Trim().Length > 0)?.Trim() ?? r.StdoutTail.LastOrDefault(l => l.Trim().Length > 0)?.Trim();

    /// <summary>The active service state as `systemctl is-active` says it (active, inactive, failed, activating).</summary>
    public async Task<string> ServiceStateAsync(string unit, CancellationToken ct)
    {
        var r = await RunAsync(new CommandSpec("systemctl", "is-active", unit), ct).ConfigureAwait(false);
        var state = r.Stdout.Trim().Split('\n')[0].Trim();
        if (state is "active" or "inactive" or "failed" or "activating" or "deactivating" or "reloading") return state;
        return $"unknown: {LastLine(r) ?? $"systemctl is-active exited with code {r.ExitCode}"}";
    }

    /// <summary>The last lines of a unit's journal that look like errors, when the node has a journal.</summary>
    public async Task<IReadOnlyList<string>> JournalErrorsAsync(string unit, CancellationToken ct)
    {
        var r = await RunAsync(new CommandSpec("journalctl", "-u", unit, "-n", "200", "--no-pager", "-o", "cat"), ct).ConfigureAwait(false);
        if (!r.Succeeded) return [];
        return r.Stdout.Split('\n').Where(l => l.StartsWith('E') || l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("failed", StringComparison.OrdinalIgnoreCase))
            .TakeLast(2).Select(l => $"journalctl -u {unit}: {l.Trim()}").ToList();
    }
}

/// <summary>An API read: the JSON, or why there is none.</summary>
public sealed record ApiRead(JsonNode? Json, string? Error);

/// <summary>The bundle given with --bundle: its path (for imports) and its document (what it holds).</summary>
public sealed record DoctorBundle(string Path, BundleDocument Document)
{
    public static async Task<DoctorBundle> OpenAsync(string path, CancellationToken ct) =>
        new(path, await BundleReader.ReadDocumentAsync(path, ct).ConfigureAwait(false));
}
