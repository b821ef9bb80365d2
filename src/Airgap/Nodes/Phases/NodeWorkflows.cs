namespace Airgap.Nodes.Phases;

/// <summary>A named list of phases: what `airgap install`, `airgap join` or `airgap reset` runs, in order.</summary>
public sealed record NodeWorkflow<TPhase>(string Name, IReadOnlyList<TPhase> Phases) where TPhase : IPhase
{
    public IReadOnlyList<string> Names { get; } = Phases.Select(p => p.Name).ToList();

    public TPhase? Find(string name) =>
        Phases.FirstOrDefault(p => string.Equals(p.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));
}

/// <summary>The node workflows. Adding a phase is one new type and one line here.</summary>
public static class NodeWorkflows
{
    public static NodeWorkflow<IInstallPhase> Install { get; } = new("install",
    [
        new VerifyPhase(), new PreflightPhase(), new RuntimePhase(), new PackagesPhase(), new ImagesPhase(),
        new KubeadmPhase(), new KubeconfigPhase(), new CniPhase(), new FinalizePhase(),
    ]);

    /// <summary>No CNI phase: the network add-on is applied once, from the first control plane.</summary>
    public static NodeWorkflow<IInstallPhase> Join { get; } = new("join",
    [
        new VerifyPhase(), new PreflightPhase(), new RuntimePhase(), new PackagesPhase(), new ImagesPhase(),
        new KubeadmPhase(), new KubeconfigPhase(), new FinalizePhase(),
    ]);

    /// <summary>
    /// This node to a newer bundle in a running cluster: images first (nothing restarts before they are
    /// in), kubeadm and its upgrade, then drain, kubelet, uncordon — kubeadm's upgrade guide, journaled.
    /// </summary>
    public static NodeWorkflow<IInstallPhase> Upgrade { get; } = new("upgrade",
    [
        new VerifyPhase(), new Upgrades.Phases.UpgradePlanPhase(), new ImagesPhase(), new Upgrades.Phases.UpgradeKubeadmPhase(),
        new Upgrades.Phases.DrainPhase(), new Upgrades.Phases.UpgradeKubeletPhase(), new Upgrades.Phases.UncordonPhase(),
    ]);

    public static NodeWorkflow<IPhase<ResetContext>> Reset { get; } = new("reset",
    [
        new KubeadmResetPhase(), new AirgapFilesResetPhase(), new BinariesResetPhase(), new NetworkResetPhase(),
    ]);

    public static NodeWorkflow<IInstallPhase> For(NodeRole role) => role == NodeRole.InitControlPlane ? Install : Join;
}
