using Airgap.Bundles;
using Airgap.Nodes;
using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Upgrades;

/// <summary>
/// `airgap upgrade` on one node: the upgrade workflow (<see cref="NodeWorkflows.Upgrade"/>) with the new
/// bundle, run by the <see cref="PhaseRunner"/> with a journal of its own, so an upgrade stopped
/// anywhere (a failure, kill -9, a reboot) continues with `airgap upgrade` again and a finished phase
/// is checked, not redone.
/// </summary>
public sealed class NodeUpgrader(IHost host, IProgressSink progress)
{
    public const string JournalName = "upgrade-journal.json";

    public async Task<IReadOnlyList<PhaseReport>> UpgradeAsync(InstallRequest request, string? only, CancellationToken ct)
    {
        var (context, options) = await ContextAsync(request, ct).ConfigureAwait(false);
        using (context)
        {
            var skipped = new HashSet<string>(request.Options.SkipPhases.SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)), StringComparer.Ordinal);
            foreach (var name in skipped.Where(n => NodeWorkflows.Upgrade.Find(n) is null))
                throw new AirgapException($"--skip-phases: \"{name}\" is not a phase of upgrade; phases are {string.Join(", ", NodeWorkflows.Upgrade.Names)}");
            var phases = NodeWorkflows.Upgrade.Phases
                .Select(p => new PlannedPhase<InstallContext>(p, p.Describe(options)) { SkipReason = skipped.Contains(p.Name) ? "--skip-phases" : null })
                .ToList();
            var journal = await PhaseJournal.LoadAsync(host, ct, Path.Combine(request.StateDirectory, JournalName)).ConfigureAwait(false);
            var settings = new PhaseRunSettings { Journal = journal, Fingerprint = context.Fingerprint, DryRun = request.DryRun, Only = only };
            return await new PhaseRunner(progress).RunAsync(phases, context, settings, ct).ConfigureAwait(false);
        }
    }

    /// <summary>What an upgrade to the bundle would do, read from the running cluster; a refusal is thrown as one line.</summary>
    public async Task<NodeUpgradeDecision> PlanAsync(InstallRequest request, CancellationToken ct)
    {
        var (context, _) = await ContextAsync(request, ct).ConfigureAwait(false);
        using (context) return await NodeUpgradePlanning.DecideAsync(context, ct).ConfigureAwait(false);
    }

    private async Task<(InstallContext, InstallOptions)> ContextAsync(InstallRequest request, CancellationToken ct)
    {
        BundleSignature.Report(progress, request.BundlePath, await BundleSignature.CheckAsync(request.BundlePath, request.Trust, ct).ConfigureAwait(false));
        var document = (await request.Bundle.LayoutAsync(ct).ConfigureAwait(false)).Document;
        var version = KubernetesVersion.Parse(document.Kubernetes);
        // The images must be known to kubeadm's table (or the operator's releases.yaml) to name the pause image.
        KubeadmImageTable.Get(version);
        var options = request.Options with { KubernetesVersion = version, Cni = CniChoice.None };
        var sums = await BundleExtractor.ReadMemberAsync(request.Bundle, BundleDocument.SumsFileName, ct).ConfigureAwait(false)
            ?? throw new AirgapException($"{request.BundlePath} has no SHA256SUMS; it is not a complete bundle");
        var fingerprint = PhaseJournal.Fingerprint(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(sums)), "upgrade", options.Runtime.ToString());
        return (new InstallContext(host, progress, request with { Options = options }, document, version, fingerprint), options);
    }
}
