using Airgap.Nodes;
using Airgap.Releases;

namespace Airgap.Upgrades;

public enum UpgradeKind { SameVersion, Patch, Minor }

/// <summary>What a step does on its node, in kubeadm's terms.</summary>
public enum UpgradeAction
{
    /// <summary>New kubeadm, then <c>kubeadm upgrade apply vX</c>: the first control plane, once.</summary>
    ApplyControlPlane,

    /// <summary>New kubeadm, then <c>kubeadm upgrade node</c>: every other control plane, one at a time.</summary>
    UpgradeControlPlane,

    /// <summary>Drain, kubelet and kubectl at the new version, restart, wait Ready, uncordon: control planes, after all of them are upgraded.</summary>
    UpgradeKubelet,

    /// <summary>New kubeadm, <c>kubeadm upgrade node</c>, then as <see cref="UpgradeKubelet"/>: workers, after every control plane.</summary>
    UpgradeWorker,
}

/// <summary>A component moving from one version to another; <see cref="From"/> is null where it was absent.</summary>
public sealed record ComponentChange(string Component, KubernetesVersion? From, KubernetesVersion To)
{
    public override string ToString() => $"{Component} {From?.ToString() ?? "none"} → {To}";
}

/// <summary>How a node's packages arrive: from the bundle's repository for its OS, or as plain binaries.</summary>
public sealed record InstallSource(string? PackagesFor)
{
    public static InstallSource Binaries { get; } = new((string?)null);

    public override string ToString() => PackagesFor is null ? "binaries" : $"packages for {PackagesFor}";
}

/// <summary>One step of the plan; steps run in <see cref="Order"/>, one node at a time.</summary>
public sealed record NodeStep(int Order, string Node, UpgradeAction Action, IReadOnlyList<ComponentChange> Changes, InstallSource Source);

/// <summary>
/// The kubeadm config API before and after. <see cref="MigrateFirst"/>: the config file on the nodes is in
/// an API the new kubeadm no longer reads, so it must be migrated (kubeadm config migrate, with the
/// current kubeadm) before the new one touches it.
/// </summary>
public sealed record ConfigApiChange(KubeadmApiVersion From, KubeadmApiVersion To, bool MigrateFirst)
{
    public bool Changes => From != To;
}

/// <summary>kubeadm's default registry before and after, when the upgrade crosses k8s.gcr.io → registry.k8s.io.</summary>
public sealed record RegistrySwitch(string From, string To);

/// <summary>
/// Images the new version needs that the old one did not, and those it no longer needs.
/// <see cref="SandboxFrom"/>/<see cref="SandboxTo"/> differ when containerd's sandbox (pause) image must be
/// rewritten before kubelets restart.
/// </summary>
public sealed record ImageChange(IReadOnlyList<string> Added, IReadOnlyList<string> Removed, RegistrySwitch? Registry, string? SandboxFrom, string? SandboxTo)
{
    public bool SandboxChanges => SandboxFrom is not null && SandboxTo is not null && SandboxFrom != SandboxTo;
}

/// <summary>
/// What <c>airgap upgrade plan</c> shows. <see cref="From"/> is the oldest API server of the cluster.
/// No steps means every node already runs <see cref="To"/>: nothing to do but check.
/// </summary>
public sealed record UpgradePlan(
    KubernetesVersion From,
    KubernetesVersion To,
    UpgradeKind Kind,
    IReadOnlyList<NodeStep> Steps,
    ConfigApiChange Config,
    ImageChange Images,
    IReadOnlyList<string> Notes)
{
    public bool NothingToDo => Steps.Count == 0;
}

/// <summary>The rule an upgrade breaks; each has its own refusal line.</summary>
public enum UpgradeRule
{
    NoBundle,
    BundlesDisagree,
    NoControlPlane,
    ApiServerUnknown,
    UnsupportedVersion,
    ControlPlanesMixed,
    Downgrade,
    SkipsMinor,
    ArchMismatch,
    OsMismatch,
    KubeletNewerThanApiServer,
    KubeletSkew,
    KubectlSkew,
}

/// <summary>A refusal: the rule and one line for the operator, starting "refusing: ".</summary>
public sealed record UpgradeRefusal(UpgradeRule Rule, string Message);

/// <summary>Either a plan or a refusal.</summary>
public sealed record UpgradeDecision(UpgradePlan? Plan, UpgradeRefusal? Refusal)
{
    public static UpgradeDecision Of(UpgradePlan plan) => new(plan, null);
    public static UpgradeDecision Refuse(UpgradeRule rule, string message) => new(null, new UpgradeRefusal(rule, "refusing: " + message));
}
