using System.Globalization;
using Airgap.Clusters;
using Airgap.Nodes;

namespace Airgap.Doctor;

/// <summary>
/// `airgap cluster doctor`: every node of cluster.yaml checked over SSH with the node checks (the
/// same objects as on a node), plus what only a view of all nodes shows: clocks apart, and the
/// admin kubeconfig on this jump host.
/// </summary>
public sealed class ClusterDoctor(ClusterContext context)
{
    public static readonly TimeSpan ClockWarn = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan ClockFail = TimeSpan.FromSeconds(30);

    // On nodes, kubectl is the jump host's business (NAME-admin.conf), so the node's own kubeconfig is not checked there.
    private static readonly IReadOnlyList<IDoctorCheck> NodeChecks = DoctorChecks.Node.Where(c => c is not Checks.KubeconfigCheck).ToList();

    public async Task<DoctorReport> RunAsync(bool fix, TimeSpan settle, CancellationToken ct)
    {
        var bundle = new DoctorBundle(context.Config.BundlePath, context.Document);
        var results = new List<CheckResult>();
        var repairs = new List<AppliedRepair>();
        var offsets = new List<(string Node, ClockOffset Offset)>();
        foreach (var node in context.Config.Nodes)
        {
            try
            {
                await context.ConnectAsync(node, ct).ConfigureAwait(false);
            }
            catch (AirgapException e)
            {
                results.Add(CheckResult.Fail("ssh", $"cannot reach {node.Name}: {e.Message}") with { Node = node.Name, Fix = $"check ssh {node.User}@{node.Address} -p {node.Port}" });
                continue;
            }
            var ssh = context.Ssh(node);
            offsets.Add((node.Name, await ClockOffset.MeasureAsync(ssh, ct).ConfigureAwait(false)));
            var doctor = new NodeDoctor(ssh, bundle, NodeChecks);
            var found = (await doctor.CheckAsync(ct).ConfigureAwait(false)).Select(r => r with { Node = node.Name }).ToList();
            if (fix)
            {
                var report = await doctor.FixAsync(found, settle, context.Progress, ct).ConfigureAwait(false);
                found = report.Results.Select(r => r with { Node = node.Name }).ToList();
                repairs.AddRange(report.Repairs.Select(r => r with { Node = node.Name }));
            }
            results.AddRange(found);
        }
        results.Add(ClockSkew(offsets));
        results.Add(File.Exists(context.KubeconfigPath)
            ? CheckResult.Ok("kubeconfig", $"{context.KubeconfigPath} is here: kubectl --kubeconfig {context.KubeconfigPath}") with { Node = "cluster" }
            : CheckResult.Warn("kubeconfig", $"no admin kubeconfig at {context.KubeconfigPath}: kubectl here would try localhost:8080") with
            {
                Node = "cluster",
                Fix = $"scp {context.FirstControlPlane.User}@{context.FirstControlPlane.Address}:/etc/kubernetes/admin.conf {context.KubeconfigPath} (airgap cluster deploy writes it)",
            });
        return new DoctorReport(results, repairs);
    }

    /// <summary>Clocks apart: certificates look not yet valid or expired on one node and fine on another, etcd's leases misbehave.</summary>
    public static CheckResult ClockSkew(IReadOnlyList<(string Node, ClockOffset Offset)> offsets)
    {
        var known = offsets.Where(o => o.Offset.Seconds is not null).ToList();
        if (known.Count == 0) return CheckResult.Skip("clock-skew", "no node's clock could be read") with { Node = "cluster" };
        var evidence = known.Select(o => $"{o.Node}: {o.Offset.Describe()}").ToList();
        // Relative to one another, not to this host: the nodes must agree among themselves.
        var min = known.MinBy(o => o.Offset.Seconds!.Value);
        var max = known.MaxBy(o => o.Offset.Seconds!.Value);
        var uncertainty = TimeSpan.FromSeconds(min.Offset.Uncertainty + max.Offset.Uncertainty);
        var apart = TimeSpan.FromSeconds(max.Offset.Seconds!.Value - min.Offset.Seconds!.Value) - uncertainty;
        var message = $"{max.Node} is {apart.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s ahead of {min.Node}";
        const string fix = "run chronyd (or systemd-timesyncd) on every node against one NTP server inside the isolated network; to step a clock now: date -s @SECONDS";
        if (apart >= ClockFail) return (CheckResult.Fail("clock-skew", $"node clocks are apart: {message}: certificates and tokens look not yet valid on the node behind") with { Node = "cluster", Fix = fix }).WithEvidence(evidence);
        if (apart >= ClockWarn) return (CheckResult.Warn("clock-skew", $"node clocks are apart: {message}") with { Node = "cluster", Fix = fix }).WithEvidence(evidence);
        return CheckResult.Ok("clock-skew", $"node clocks agree within {ClockWarn.TotalSeconds:0} s ({known.Count} nodes)") with { Node = "cluster", Evidence = evidence };
    }
}

/// <summary>A node's clock against this host's: its reading minus the middle of the round trip, ± half the round trip.</summary>
public sealed record ClockOffset(double? Seconds, double Uncertainty, string? Error = null)
{
    public static async Task<ClockOffset> MeasureAsync(IHost host, CancellationToken ct)
    {
        var before = DateTimeOffset.UtcNow;
        var r = await host.RunAsync(new CommandSpec("date", "+%s.%N") { Timeout = TimeSpan.FromSeconds(10) }, ct).ConfigureAwait(false);
        var after = DateTimeOffset.UtcNow;
        return FromReading(r.Succeeded ? r.Stdout.Trim() : null, before, after) ?? new ClockOffset(null, 0, DoctorContext.LastLine(r) ?? "no answer");
    }

    public static ClockOffset? FromReading(string? epochSeconds, DateTimeOffset before, DateTimeOffset after)
    {
        if (!decimal.TryParse(epochSeconds, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var remote)) return null;
        var middle = (before.ToUnixTimeMilliseconds() + after.ToUnixTimeMilliseconds()) / 2000m;
        return new ClockOffset((double)(remote - middle), (after - before).TotalSeconds / 2);
    }

    public string Describe() => Seconds is { } s
        ? $"{(s >= 0 ? "+" : "")}{s.ToString("0.000", CultureInfo.InvariantCulture)} s against this host (±{Uncertainty.ToString("0.000", CultureInfo.InvariantCulture)} s)"
        : $"unreadable ({Error})";
}
