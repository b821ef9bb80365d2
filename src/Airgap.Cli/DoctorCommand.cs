using System.CommandLine;
using Airgap.Clusters;
using Airgap.Doctor;
using Airgap.Nodes;

namespace Airgap.Cli;

internal static class DoctorCommand
{
    private const string Summary =
        "Diagnose a node (or with -f cluster.yaml every node, over SSH): each check says ok, WARN or FAIL, the evidence it read " +
        "(the config line, the log line, the pod) and the command that repairs it; --fix applies the repairs that are safe. " +
        "Checks run causes first, so the first FAIL line is the one to fix. Exit code 1 when a check fails.";

    public static Command Create() => Build("doctor", withFile: true);

    /// <summary>`airgap cluster doctor`: the same, cluster.yaml required.</summary>
    public static Command CreateForCluster() => Build("doctor", withFile: false, cluster: true);

    private static Command Build(string name, bool withFile, bool cluster = false)
    {
        var bundle = new Option<string?>("--bundle") { Description = "the bundle the node was installed from: says whether a missing image is in it (and --fix imports it) and compares package versions" };
        var fix = new Option<bool>("--fix") { Description = "apply the safe repairs (config edits with service restarts, image import from --bundle, kubeconfig copy, flannel Network), then check again until the node settles" };
        var wait = new Option<string>("--wait") { Description = "with --fix, how long to wait for the node to settle after the repairs, e.g. 120s or 3m", DefaultValueFactory = _ => "150s" };
        var file = new Option<string?>("--file", "-f") { Description = cluster ? "cluster.yaml (default ./cluster.yaml)" : "cluster.yaml: check every node of the cluster over SSH instead of this node" };
        var acceptNew = new Option<bool>("--accept-new-host-keys") { Description = "with -f: record the host key of a node missing from known_hosts instead of refusing it" };
        var format = AirgapCli.FormatOption();
        var width = DoctorChecks.Node.Max(c => c.Name.Length);
        var help = $"{Summary}\n\nChecks, in order:\n{string.Join('\n', DoctorChecks.Node.Select(c => $"  {c.Name.PadRight(width)}  {c.Description}"))}\n" +
                   $"  {"clock-skew".PadRight(width)}  (with -f) node clocks within {ClusterDoctor.ClockWarn.TotalSeconds:0} s of one another";
        var command = new Command(name, help) { bundle, fix, wait, file, acceptNew, format };
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var settle = UpgradeCommand.Duration("--wait", result.GetValue(wait)!);
            var json = result.GetValue(format) == OutputFormat.Json;
            var progress = new LineProgress(Console.Error);
            DoctorReport report;
            string target;
            var clusterFile = result.GetValue(file) ?? (cluster ? "cluster.yaml" : null);
            if (clusterFile is not null)
            {
                var config = ClusterConfig.Load(clusterFile);
                if (result.GetValue(bundle) is not null) throw new AirgapException("--bundle goes with a node; with -f the bundle is the one cluster.yaml names (bundle:)");
                using var context = await ClusterWorkflows.OpenAsync(config, progress, new ClusterRunOptions { AcceptNewHostKeys = result.GetValue(acceptNew) }, ct);
                report = await new ClusterDoctor(context).RunAsync(result.GetValue(fix), settle, ct);
                target = $"cluster {config.Name}";
            }
            else
            {
                if (withFile && Environment.UserName != "root") throw new AirgapException("airgap doctor reads root's files (/etc/kubernetes, /var/lib/kubelet): run it as root");
                var opened = result.GetValue(bundle) is { } path ? await DoctorBundle.OpenAsync(path, ct) : null;
                var doctor = new NodeDoctor(new LocalHost(), opened);
                var found = await doctor.CheckAsync(ct);
                report = result.GetValue(fix) ? await doctor.FixAsync(found, settle, progress, ct) : new DoctorReport(found, []);
                target = $"node {found.FirstOrDefault()?.Node ?? Environment.MachineName}";
            }
            if (json) WriteJson(target, report);
            else WriteText(target, report, clusterFile is not null);
            return report.Failed ? 1 : 0;
        }));
        return command;
    }

    private static void WriteText(string target, DoctorReport report, bool cluster)
    {
        if (report.Repairs.Count > 0)
        {
            Console.WriteLine($"repaired ({report.Repairs.Count} step{(report.Repairs.Count == 1 ? "" : "s")}):");
            foreach (var r in report.Repairs)
                Console.WriteLine($"  {(cluster ? r.Node + " " : "")}{r.Check}: {r.Step}{(r.Error is null ? "" : $" — FAILED: {r.Error}")}");
            Console.WriteLine("after the repairs:");
        }
        var width = report.Results.Max(r => r.Check.Length);
        var nodeWidth = cluster ? report.Results.Max(r => r.Node.Length) + 1 : 0;
        foreach (var r in report.Results)
        {
            var label = r.Status switch { CheckStatus.Ok => "ok  ", CheckStatus.Warn => "WARN", CheckStatus.Fail => "FAIL", _ => "skip" };
            Console.WriteLine($"{label}  {(cluster ? r.Node.PadRight(nodeWidth) : "")}{r.Check.PadRight(width)}  {r.Message}");
            if (r.Status is not (CheckStatus.Fail or CheckStatus.Warn)) continue;
            var indent = new string(' ', 6 + nodeWidth + width + 2);
            foreach (var e in r.Evidence) Console.WriteLine($"{indent}evidence: {e}");
            if (r.Fix is not null) Console.WriteLine($"{indent}fix: {r.Fix}");
            if (r.Repairable) Console.WriteLine($"{indent}airgap doctor --fix{(r.Fix?.Contains("--bundle", StringComparison.Ordinal) == true ? " --bundle …" : "")} does: {string.Join("; ", r.Repair.Select(s => s.Text))}");
        }
        var failed = report.Results.Count(r => r.Status == CheckStatus.Fail);
        var warned = report.Results.Count(r => r.Status == CheckStatus.Warn);
        Console.WriteLine($"{target}: {failed} failed, {warned} warning{(warned == 1 ? "" : "s")}, {report.Results.Count(r => r.Status == CheckStatus.Ok)} ok, {report.Results.Count(r => r.Status == CheckStatus.Skip)} skipped" +
                          (failed > 0 && report.Repairs.Count == 0 && report.Results.Any(r => r.Status == CheckStatus.Fail && r.Repairable) ? " (airgap doctor --fix repairs what it can)" : ""));
    }

    private static void WriteJson(string target, DoctorReport report) =>
        JsonOutput.Write(new
        {
            target,
            failed = report.Failed,
            checks = report.Results.Select(r => new
            {
                node = r.Node,
                check = r.Check,
                status = r.Status.ToString().ToLowerInvariant(),
                message = r.Message,
                evidence = r.Evidence,
                fix = r.Fix,
                repair = r.Repair.Select(s => s.Text).ToList(),
            }),
            repairs = report.Repairs,
        });
}
