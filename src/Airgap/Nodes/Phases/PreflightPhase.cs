namespace Airgap.Nodes.Phases;

public sealed class PreflightPhase : IInstallPhase
{
    public string Name => "preflight";
    public string Description => "check swap, kernel modules, sysctls, ports, CPU, memory and earlier cluster state (--fix repairs what it can)";

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var facts = await HostProbe.ProbeAsync(c.Host, ct).ConfigureAwait(false);
        var peers = await ProbePeersAsync(c, ct).ConfigureAwait(false);
        var report = Preflight.Run(facts, OptionsFor(c, peers, c.Request.Fix));
        foreach (var r in report.Results.Where(r => r.Status != PreflightStatus.Ok))
            c.Progress.Info($"  {r.Status.ToString().ToLowerInvariant(),-5} {r.Name}: {r.Message}");
        if (report.FixPlan.Count > 0)
        {
            foreach (var step in report.FixPlan)
            {
                c.Progress.Info($"  fix: {step.Text}");
                await step.ApplyAsync(c.Host, ct).ConfigureAwait(false);
            }
            facts = await HostProbe.ProbeAsync(c.Host, ct).ConfigureAwait(false);
            // Checked again after the repairs, without planning them a second time.
            report = Preflight.Run(facts, OptionsFor(c, peers, fix: false));
        }
        c.RememberFacts(facts);
        report.EnsurePassed();
    }

    private static PreflightOptions OptionsFor(InstallContext c, IReadOnlyList<PeerFacts> peers, bool fix) => new()
    {
        Role = c.Options.Role,
        KubernetesVersion = c.Version,
        Ignore = c.Request.IgnorePreflight,
        Fix = fix,
        Peers = peers,
    };

    private static async Task<IReadOnlyList<PeerFacts>> ProbePeersAsync(InstallContext c, CancellationToken ct)
    {
        var targets = c.Request.Peers;
        if (targets.Count == 0) return [];
        c.Progress.Info($"  probing {targets.Count} peer{(targets.Count == 1 ? "" : "s")} over SSH: {string.Join(", ", targets)}");
        return await Task.WhenAll(targets.Select(async target =>
        {
            using var peer = await SshHost.ConnectAsync(target, c.Request.Ssh, ct).ConfigureAwait(false);
            return new PeerFacts(target.ToString(), await HostProbe.ProbeAsync(peer, ct).ConfigureAwait(false));
        })).ConfigureAwait(false);
    }
}
