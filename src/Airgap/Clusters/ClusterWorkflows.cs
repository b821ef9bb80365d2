using Airgap.Bundles;
using Airgap.Clusters.Phases;
using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Clusters;

/// <summary>
/// `airgap cluster deploy` and `airgap cluster reset` as lists of phases over the same runner as a
/// node's install. Not journaled here: the nodes' own journals are the cluster's state, so a re-run
/// asks them and continues wherever each node stopped.
/// </summary>
public static class ClusterWorkflows
{
    public static NodeWorkflow<IPhase<ClusterContext>> Deploy { get; } = new("cluster deploy",
    [
        new ConnectPhase(), new ClusterPreflightPhase(), new DistributePhase(), new LoadBalancerPhase(), new InitPhase(),
        new ControlPlanesPhase(), new SettlePhase(), new WorkersPhase(), new ClusterKubeconfigPhase(), new ReadyPhase(),
    ]);

    /// <summary>
    /// `airgap cluster upgrade apply`: the cluster to cluster.yaml's (new) bundle, rolling, offline. Not journaled
    /// here either: each node's upgrade journal and the API server's versions say what is left.
    /// </summary>
    public static NodeWorkflow<IPhase<ClusterContext>> Upgrade { get; } = new("cluster upgrade",
    [
        new ConnectPhase(), new Upgrades.Phases.ClusterUpgradePlanPhase(), new DistributePhase(), new Upgrades.Phases.ClusterUpgradeImagesPhase(),
        new Upgrades.Phases.ClusterUpgradeNodesPhase(), new ReadyPhase(),
    ]);

    public static NodeWorkflow<IPhase<ClusterContext>> Reset { get; } = new("cluster reset",
    [
        new ConnectPhase(), new ClusterResetPhase(),
    ]);

    /// <param name="skip">Phase names to leave out (--skip-phases), e.g. all but connect and distribute to only send the bundle.</param>
    public static async Task<IReadOnlyList<PhaseReport>> RunAsync(NodeWorkflow<IPhase<ClusterContext>> workflow, ClusterContext context, CancellationToken ct,
        IReadOnlyList<string>? skip = null)
    {
        foreach (var warning in context.Config.Warnings()) context.Progress.Warn(warning);
        var skipped = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in (skip ?? []).SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            skipped.Add((workflow.Find(name)
                ?? throw new AirgapException($"--skip-phases: \"{name}\" is not a phase of {workflow.Name}; phases are {string.Join(", ", workflow.Names)}")).Name);
        var phases = workflow.Phases.Select(p => new PlannedPhase<ClusterContext>(p, p.Description)
        {
            SkipReason = skipped.Contains(p.Name) ? "--skip-phases" : null,
        }).ToList();
        return await new PhaseRunner(context.Progress).RunAsync(phases, context, new PhaseRunSettings(), ct).ConfigureAwait(false);
    }

    public static async Task<ClusterContext> OpenAsync(ClusterConfig config, IProgressSink progress, ClusterRunOptions options, CancellationToken ct)
    {
        if (!BundleExists(config.BundlePath)) throw new AirgapException($"bundle {config.BundlePath} (from cluster.yaml) does not exist; build it with airgap build or fix bundle:");
        if (config.BasePath is { } basePath && !BundleExists(basePath))
            throw new AirgapException($"base {basePath} (from cluster.yaml) does not exist; give the bundle the delta was built on, or fix base:");
        // The delta's base is checked here, before any node is touched.
        var bundle = new BundleSet(config.BundlePath, config.BasePath);
        var document = (await bundle.LayoutAsync(ct).ConfigureAwait(false)).Document;
        return new ClusterContext(config, document, progress) { Bundle = bundle, KubeconfigOutput = options.Kubeconfig, AcceptNewHostKeys = options.AcceptNewHostKeys,
            Trust = options.Trust.With(BundleTrust.Load(config.Install.TrustKeys.Select(config.Resolve), directory: null)) };
    }

    /// <summary>A tar, or a split bundle's index or one of its parts (read as the whole by every reader).</summary>
    private static bool BundleExists(string path) =>
        File.Exists(path) || File.Exists(path + Bundles.Parts.PartsIndex.Extension) || Bundles.Parts.PartsIndex.BundleNameOfPart(Path.GetFileName(path)) is not null;
}

/// <summary>What a cluster command takes beside cluster.yaml.</summary>
public sealed record ClusterRunOptions
{
    /// <summary>Where the admin kubeconfig goes; null means NAME-admin.conf beside cluster.yaml.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>Record the host keys of nodes not yet in known_hosts (printed), as ssh's accept-new.</summary>
    public bool AcceptNewHostKeys { get; init; }

    /// <summary>The keys the bundle must be signed with, checked on this host before it is sent to any node.</summary>
    public BundleTrust Trust { get; init; } = BundleTrust.None;
}
