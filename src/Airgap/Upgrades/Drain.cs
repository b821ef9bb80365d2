using System.Text.RegularExpressions;
using Airgap.Nodes;
using Airgap.Releases;

namespace Airgap.Upgrades;

/// <summary>
/// kubectl drain as an upgrade uses it, from the node itself or from the first control plane for the
/// cluster: the eviction API (so PodDisruptionBudgets hold), DaemonSets left alone, a timeout, and on
/// failure the pods that blocked it named in one line.
/// </summary>
public static partial class Drain
{
    public static string[] Arguments(string node, KubernetesVersion? kubectl, TimeSpan timeout) =>
    [
        "drain", node, "--ignore-daemonsets",
        // --delete-local-data became --delete-emptydir-data in kubectl 1.20.
        kubectl is { } k && k < KubernetesVersion.Create(1, 20, 0) ? "--delete-local-data" : "--delete-emptydir-data",
        $"--timeout={(int)timeout.TotalSeconds}s",
    ];

    /// <summary>The pod and reason from kubectl drain's "error when evicting pods/…" line, or null for any other line.</summary>
    public static string? Blocker(string line) =>
        Evicting().Match(line) is { Success: true } m ? $"{m.Groups["ns"].Value}/{m.Groups["pod"].Value} ({m.Groups["why"].Value.Trim().TrimEnd('.')})" : null;

    public static AirgapException Failed(string node, TimeSpan timeout, IReadOnlyCollection<string> blocked, CommandResult result) =>
        new($"{node} could not be drained within {timeout.TotalSeconds:0} s" +
            (blocked.Count > 0 ? $": {string.Join("; ", blocked.Distinct().TakeLast(3))}" : $": {result.StderrTail.LastOrDefault(l => l.Length > 0) ?? $"kubectl exited {result.ExitCode}"}") +
            "; free the PodDisruptionBudget (more replicas, or another node to run them) or raise --drain-timeout, then run the upgrade again");

    /// <summary>Runs the drain command given (kubectl with its kubeconfig) on <paramref name="host"/>, streaming kubectl's lines.</summary>
    public static async Task RunAsync(IHost host, CommandSpec kubectl, string node, TimeSpan timeout, Action<string> info, CancellationToken ct)
    {
        var blocked = new List<string>();
        var r = await host.RunAsync(kubectl with
        {
            Timeout = timeout + TimeSpan.FromMinutes(1),
            OnOutput = line =>
            {
                info("  kubectl: " + line.Text);
                if (Blocker(line.Text) is { } blocker) lock (blocked) blocked.Add(blocker);
            },
        }, ct).ConfigureAwait(false);
        if (r.ExitCode != 0) throw Failed(node, timeout, blocked, r);
    }

    [GeneratedRegex("""evicting pods/"?(?<pod>[^" ]+)"? -n "?(?<ns>[^" ]+)"?(?: \([^)]*\))?: (?<why>.*)""")]
    private static partial Regex Evicting();
}
