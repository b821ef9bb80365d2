using System.CommandLine;
using Airgap.Nodes;
using Airgap.Nodes.Phases;
using Airgap.Releases;
using Airgap.Upgrades;

namespace Airgap.Cli;

internal static class UpgradeCommand
{
    public static Command Create()
    {
        var command = new Command("upgrade", "Move this node of a running cluster to a newer bundle, version-locked, offline (a whole cluster from cluster.yaml: airgap cluster upgrade).");
        var apply = PhaseHelp.WithPhases("apply",
            "Upgrade this node to the bundle: images first, then kubeadm upgrade apply (first control plane) or upgrade node, drain, " +
            "kubelet and kubectl, uncordon. Run it on each node in kubeadm's order; `airgap upgrade plan` shows the order and refuses " +
            "what the version skew policy forbids. Stopped anywhere, run it again: finished phases are checked, not redone.",
            NodeWorkflows.Upgrade, (c, withSkipPhases) => new UpgradeFlags(c, withSkipPhases), RunAsync);
        command.Subcommands.Add(apply);
        var plan = new Command("plan", "Read the running cluster and the bundle; print what the upgrade would change on each node, or refuse in one line naming the rule (a skipped minor, a downgrade, another arch or OS).");
        var flags = new UpgradeFlags(plan, withSkipPhases: false);
        plan.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var request = await flags.ReadAsync(result, ct);
            var decision = await new NodeUpgrader(new LocalHost(), new LineProgress(Console.Error)).PlanAsync(request, ct);
            if (flags.Json(result))
            {
                JsonOutput.Write(new { node = decision.View.Node, plan = decision.Plan });
                return 0;
            }
            foreach (var line in NodeUpgradePlanning.Lines(decision)) Console.WriteLine(line);
            return 0;
        }));
        command.Subcommands.Add(plan);
        return command;
    }

    private static async Task<int> RunAsync(UpgradeFlags flags, ParseResult result, string? only, CancellationToken ct)
    {
        var request = await flags.ReadAsync(result, ct);
        if (!request.DryRun && Environment.UserName != "root") throw new AirgapException("airgap upgrade changes the node (packages, kubeadm, the kubelet): run it as root");
        var json = flags.Json(result);
        IHost host = request.DryRun ? new DryRunHost(new LocalHost()) { Planned = action => Console.Error.WriteLine($"  plan: {action.Text}") } : new RecordingHost(new LocalHost());
        var reports = await LiveProgress.RunAsync(json: true, async progress =>
        {
            using var held = request.DryRun ? null
                : await NodeLock.AcquireAsync(Path.Combine(request.StateDirectory, "upgrade.lock"), "airgap upgrade", TimeSpan.FromMinutes(30), progress, ct);
            return await new NodeUpgrader(host, progress).UpgradeAsync(request, only, ct);
        });
        if (json)
        {
            JsonOutput.Write(new
            {
                bundle = request.BundlePath, kubernetes = request.Options.KubernetesVersion.ToString(), phases = reports,
                actions = host is RecordingHost recording
                    ? recording.Actions.Select(a => new { kind = a.Kind.ToString().ToLowerInvariant(), a.Text, exitCode = a.Result?.ExitCode, seconds = a.Result?.Duration.TotalSeconds })
                    : null,
            });
            return 0;
        }
        foreach (var r in reports) Console.WriteLine($"{r.Phase,-10} {r.Outcome,-22} {r.Seconds,6:0.0} s{(r.Detail is null ? "" : "  " + r.Detail)}");
        // A cluster's jump host runs the node's upgrade in parts (--skip-phases): only the part with the kubelet finishes it.
        if (!request.DryRun && only is null && reports.Any(r => r.Phase == "kubelet" && r.Outcome != "skipped"))
            Console.WriteLine($"upgraded to {request.Options.KubernetesVersion}: kubectl get nodes");
        return 0;
    }

    internal static TimeSpan Duration(string option, string text)
    {
        var t = text.Trim();
        var unit = t.Length > 0 && char.IsLetter(t[^1]) ? t[^1] : 's';
        var number = char.IsLetter(t.Length > 0 ? t[^1] : '0') ? t[..^1] : t;
        if (!int.TryParse(number, out var n) || n <= 0 || unit is not ('s' or 'm' or 'h'))
            throw new AirgapException($"{option} {text} is not a duration; write it as 300s, 10m or 1h");
        return unit switch { 'm' => TimeSpan.FromMinutes(n), 'h' => TimeSpan.FromHours(n), _ => TimeSpan.FromSeconds(n) };
    }

    private sealed class UpgradeFlags
    {
        private readonly Option<string> bundle = new("--bundle") { Description = "the new bundle .tar, or a split bundle's .parts index or first part (verified before anything changes)", Required = true };
        private readonly Option<string> runtime = InstallCommand.RuntimeOption();
        private readonly Option<string[]> ignore = new("--ignore-preflight-errors") { Description = "kubeadm upgrade's checks to demote to warnings (a,b or all), as kubeadm's flag" };
        private readonly Option<string> drainTimeout = new("--drain-timeout") { Description = "how long drain may wait for PodDisruptionBudgets, e.g. 300s or 10m", DefaultValueFactory = _ => "5m" };
        private readonly Option<string[]> skip = InstallCommand.SkipPhasesOption(NodeWorkflows.Upgrade);
        private readonly Option<bool> dryRun = new("--dry-run") { Description = "print every command and file the upgrade would run and write, change nothing" };
        private readonly Option<OutputFormat> format = AirgapCli.FormatOption();
        private readonly Option<string[]> trust = TrustOption.Create();
        private readonly Option<string?> baseBundle = BaseOption.Create();
        private readonly bool withSkipPhases;

        public UpgradeFlags(Command command, bool withSkipPhases)
        {
            this.withSkipPhases = withSkipPhases;
            foreach (var o in new Option[] { bundle, baseBundle, runtime, ignore, drainTimeout, trust }) command.Options.Add(o);
            if (withSkipPhases) command.Options.Add(skip);
            command.Options.Add(dryRun);
            command.Options.Add(format);
        }

        public bool Json(ParseResult result) => result.GetValue(format) == OutputFormat.Json;

        public async Task<InstallRequest> ReadAsync(ParseResult result, CancellationToken ct)
        {
            var path = result.GetValue(bundle)!;
            var set = await BaseOption.ReadAsync(result, baseBundle, Path.GetFullPath(path), ct);
            var document = (await set.LayoutAsync(ct)).Document;
            return new InstallRequest
            {
                BundlePath = set.Path,
                BasePath = set.BasePath is null ? null : Path.GetFullPath(set.BasePath),
                Options = new InstallOptions
                {
                    KubernetesVersion = KubernetesVersion.Parse(document.Kubernetes),
                    Runtime = InstallCommand.ParseRuntime(result.GetValue(runtime)!),
                    SkipPhases = withSkipPhases ? result.GetValue(skip) ?? [] : [],
                },
                IgnorePreflight = IgnoredPreflightErrors.Parse(result.GetValue(ignore) ?? []),
                DrainTimeout = Duration("--drain-timeout", result.GetValue(drainTimeout)!),
                DryRun = result.GetValue(dryRun),
                Trust = TrustOption.Read(result, trust),
            };
        }

    }
}
