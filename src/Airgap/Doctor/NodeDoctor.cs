using Airgap.Doctor.Checks;
using Airgap.Nodes;

namespace Airgap.Doctor;

/// <summary>The checks, in the order causes come before their effects, so the first failure is the one to fix.</summary>
public static class DoctorChecks
{
    public static IReadOnlyList<IDoctorCheck> Node { get; } =
    [
        new SwapCheck(),
        new BridgeNetfilterCheck(),
        new IpForwardCheck(),
        new ContainerdCriCheck(),
        new RuntimeCheck(),
        new CgroupDriverCheck(),
        new KubeletCheck(),
        new ApiServerCheck(),
        new KubeconfigCheck(),
        new NodeReadyCheck(),
        new PodCidrCheck(),
        new FlannelNetworkCheck(),
        new MissingImagesCheck(),
        new ImageDiskCheck(),
        new CertificatesCheck(),
        new PackagesCheck(),
        new CniLeftoversCheck(),
    ];
}

/// <summary>One repair step as applied: its line, and the error when it failed.</summary>
public sealed record AppliedRepair(string Node, string Check, string Step, string? Error = null);

public sealed record DoctorReport(IReadOnlyList<CheckResult> Results, IReadOnlyList<AppliedRepair> Repairs)
{
    public bool Failed => Results.Any(r => r.Status == CheckStatus.Fail);
}

/// <summary>Runs the checks on one node, and with --fix applies the safe repairs and checks again until the node settles.</summary>
public sealed class NodeDoctor(IHost host, DoctorBundle? bundle, IReadOnlyList<IDoctorCheck>? checks = null, TimeProvider? clock = null)
{
    private readonly IReadOnlyList<IDoctorCheck> checks = checks ?? DoctorChecks.Node;

    public IHost Host => host;

    public async Task<IReadOnlyList<CheckResult>> CheckAsync(CancellationToken ct)
    {
        // A fresh context each round: a repair changes what the node says.
        var context = new DoctorContext(host, bundle, clock);
        var results = new List<CheckResult>();
        foreach (var check in checks)
        {
            CheckResult result;
            try
            {
                result = await check.RunAsync(context, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // One check that cannot read its evidence must not hide the others.
                result = CheckResult.Warn(check.Name, $"could not check: {e.Message.ReplaceLineEndings(" ")}");
            }
            results.Add(result with { Check = check.Name, Node = host.Name });
        }
        return results;
    }

    /// <summary>The repairs of every failing (or warning) check that has one, applied in check order; then checks again until nothing fails or <paramref name="settle"/> passes.</summary>
    public async Task<DoctorReport> FixAsync(IReadOnlyList<CheckResult> found, TimeSpan settle, IProgressSink progress, CancellationToken ct)
    {
        var applied = new List<AppliedRepair>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var result in found.Where(r => r.Status is CheckStatus.Fail or CheckStatus.Warn && r.Repairable))
        {
            foreach (var step in result.Repair)
            {
                // An effect's repair often repeats its cause's (restart containerd): once is enough.
                if (!done.Add(step.Text)) continue;
                progress.Info($"[{host.Name}] fix {result.Check}: {step.Text}");
                try
                {
                    await step.ApplyAsync(host, ct).ConfigureAwait(false);
                    applied.Add(new AppliedRepair(host.Name, result.Check, step.Text));
                }
                catch (Exception e) when (e is AirgapException or IOException)
                {
                    progress.Info($"[{host.Name}] fix {result.Check} failed: {e.Message}");
                    applied.Add(new AppliedRepair(host.Name, result.Check, step.Text, e.Message));
                    break;
                }
            }
        }
        if (applied.Count == 0) return new DoctorReport(found, applied);
        // Restarted services take a while to come back (the kubelet re-registers, the node turns Ready).
        var deadline = DateTime.UtcNow + settle;
        while (true)
        {
            var results = await CheckAsync(ct).ConfigureAwait(false);
            if (!results.Any(r => r.Status == CheckStatus.Fail) || DateTime.UtcNow >= deadline) return new DoctorReport(results, applied);
            progress.Info($"[{host.Name}] waiting for the node to settle: {results.First(r => r.Status == CheckStatus.Fail).Message}");
            await Task.Delay(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
        }
    }
}
