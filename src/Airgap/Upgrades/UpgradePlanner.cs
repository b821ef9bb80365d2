using Airgap.Releases;

namespace Airgap.Upgrades;

/// <summary>
/// Decides whether a cluster may move to a bundle's version and, if so, in which order each node
/// changes: the first control plane <c>kubeadm upgrade apply</c>, the other control planes
/// <c>kubeadm upgrade node</c> one at a time, then the control planes' kubelets, then the workers.
/// Pure: state and bundles in, a plan or a one-line refusal out. A node already at the target is left
/// out of the steps, so planning again after an interrupted upgrade plans only what is left.
/// </summary>
public static class UpgradePlanner
{
    public static UpgradeDecision Plan(ClusterState cluster, IReadOnlyList<UpgradeBundle> bundles, ReleaseTable releases)
    {
        if (bundles.Count == 0) return UpgradeDecision.Refuse(UpgradeRule.NoBundle, "no bundle given; pass the bundle of the version to upgrade to");
        var to = bundles[0].Version;
        if (bundles.FirstOrDefault(b => b.Version != to) is { } other)
            return UpgradeDecision.Refuse(UpgradeRule.BundlesDisagree,
                $"the bundles are for {to} ({bundles[0].Arch}) and {other.Version} ({other.Arch}); give bundles of one version");

        var controlPlanes = cluster.Nodes.Where(n => n.Role == UpgradeNodeRole.ControlPlane).ToList();
        if (controlPlanes.Count == 0)
            return UpgradeDecision.Refuse(UpgradeRule.NoControlPlane, "the cluster has no control-plane node; name them in cluster.yaml");
        if (controlPlanes.FirstOrDefault(n => n.ApiServer is null) is { } blind)
            return UpgradeDecision.Refuse(UpgradeRule.ApiServerUnknown,
                $"control plane {blind.Name} reports no kube-apiserver version; is its API server running?");

        var oldest = controlPlanes.MinBy(n => n.ApiServer)!;
        var newest = controlPlanes.MaxBy(n => n.ApiServer)!;
        var from = oldest.ApiServer!;
        var top = newest.ApiServer!;

        if (from.Major != 1 || to.Major != 1 || from.Minor < 15)
            return UpgradeDecision.Refuse(UpgradeRule.UnsupportedVersion,
                $"{from} → {to}: airgap upgrades Kubernetes 1.x clusters from v1.15 on");

        if (to < top)
            return UpgradeDecision.Refuse(UpgradeRule.Downgrade,
                $"{top} → {to} is a downgrade ({newest.Name} runs {top}); kubeadm does not downgrade a cluster — restore an etcd backup instead");

        // In HA the API servers may be one minor apart, and only while an upgrade to the newer one is under way.
        var apart = SkewPolicy.MinorsBetween(from, top);
        if (apart > 1)
            return UpgradeDecision.Refuse(UpgradeRule.ControlPlanesMixed,
                $"control planes run {top} ({newest.Name}) and {from} ({oldest.Name}), {apart} minors apart where the skew policy allows one; repair the control plane before upgrading");
        if (apart == 1 && to.Minor != top.Minor)
            return UpgradeDecision.Refuse(UpgradeRule.ControlPlanesMixed,
                $"control planes run {top} ({newest.Name}) and {from} ({oldest.Name}): an upgrade to {top.Major}.{top.Minor} is under way; finish it with a {top.Major}.{top.Minor} bundle first");

        if (SkewPolicy.MinorsBetween(from, to) > SkewPolicy.KubeadmMaxMinorStep)
            return UpgradeDecision.Refuse(UpgradeRule.SkipsMinor,
                $"{from} → {to} skips minor {SkippedMinors(from, to)}; kubeadm upgrades one minor at a time — build a v1.{from.Minor + 1}.x bundle first");

        foreach (var node in cluster.Nodes)
        {
            foreach (var (component, version) in Components(node))
                if (version > to)
                    return UpgradeDecision.Refuse(UpgradeRule.Downgrade,
                        $"{node.Name}'s {component} is {version}, newer than the bundle's {to}; that would be a downgrade");
        }

        var sources = new Dictionary<string, InstallSource>(StringComparer.Ordinal);
        foreach (var node in cluster.Nodes)
        {
            var bundle = bundles.FirstOrDefault(b => b.Arch == node.Arch);
            if (bundle is null)
                return UpgradeDecision.Refuse(UpgradeRule.ArchMismatch,
                    $"node {node.Name} is {node.Arch} but the bundle is for {string.Join(", ", bundles.Select(b => b.Arch))}; build one with --arch {node.Arch}");
            if (bundle.Oses.Contains(node.Os, StringComparer.Ordinal))
                sources[node.Name] = new InstallSource(node.Os);
            else if (bundle.HasBinaries)
                sources[node.Name] = InstallSource.Binaries;
            else
                return UpgradeDecision.Refuse(UpgradeRule.OsMismatch,
                    $"node {node.Name} runs {node.Os} but the {bundle.Arch} bundle has packages for {Listed(bundle.Oses)} and no binaries; build it with --os {node.Os}");
        }

        foreach (var node in cluster.Nodes)
        {
            if (node.Kubelet > from)
                return UpgradeDecision.Refuse(UpgradeRule.KubeletNewerThanApiServer,
                    $"node {node.Name}'s kubelet {node.Kubelet} is newer than the API server {from} ({oldest.Name}); the skew policy forbids it — bring the control plane to {node.Kubelet} first");
            // Control planes go first, so every kubelet still old must tolerate the new API server.
            var behind = SkewPolicy.MinorsBetween(node.Kubelet, to);
            var allowed = SkewPolicy.KubeletMaxMinorsBehind(node.Kubelet);
            if (behind > allowed)
                return UpgradeDecision.Refuse(UpgradeRule.KubeletSkew,
                    $"node {node.Name}'s kubelet {node.Kubelet} would be {behind} minors behind the API server {to} while the control plane goes first " +
                    $"(a kubelet {(allowed == 3 ? "from 1.25" : "before 1.25")} may trail by {allowed}); upgrade its kubelet to the control plane's {from.Major}.{from.Minor} first");
            if (node.Kubectl is { } kubectl && Math.Abs(SkewPolicy.MinorsBetween(kubectl, to)) > SkewPolicy.KubectlMaxMinorsApart)
                return UpgradeDecision.Refuse(UpgradeRule.KubectlSkew,
                    $"node {node.Name}'s kubectl {kubectl} would be {SkewPolicy.MinorsBetween(kubectl, to)} minors from the API server {to} (kubectl works within one minor of it); bring it to {from.Major}.{from.Minor} first");
        }

        var steps = Steps(cluster, controlPlanes, to, sources);
        var kind = from == to ? UpgradeKind.SameVersion : from.Minor == to.Minor ? UpgradeKind.Patch : UpgradeKind.Minor;
        var notes = new List<string>();
        var images = Images(from, to, bundles[0], releases, notes);
        if (steps.Count == 0) notes.Add($"every node already runs {to}: nothing to do but check");
        return UpgradeDecision.Of(new UpgradePlan(from, to, kind, steps, KubeadmConfigApis.Change(from, to, cluster.ConfigFileApi), images, notes));
    }

    private static List<NodeStep> Steps(ClusterState cluster, List<NodeState> controlPlanes, KubernetesVersion to, Dictionary<string, InstallSource> sources)
    {
        var steps = new List<NodeStep>();
        void Add(NodeState node, UpgradeAction action, IEnumerable<ComponentChange?> changes)
        {
            var list = changes.OfType<ComponentChange>().ToList();
            if (list.Count > 0) steps.Add(new NodeStep(steps.Count + 1, node.Name, action, list, sources[node.Name]));
        }

        // The API server version says whether kubeadm already upgraded a control plane; the first one
        // applies the upgrade unless some control plane already runs the target (then it was applied).
        var applied = controlPlanes.Any(n => n.ApiServer == to);
        for (var i = 0; i < controlPlanes.Count; i++)
        {
            var node = controlPlanes[i];
            var action = i == 0 && !applied ? UpgradeAction.ApplyControlPlane : UpgradeAction.UpgradeControlPlane;
            Add(node, action, [Change("kubeadm", node.Kubeadm, to), Change("kube-apiserver", node.ApiServer, to)]);
        }
        foreach (var node in controlPlanes)
            Add(node, UpgradeAction.UpgradeKubelet, [Change("kubelet", node.Kubelet, to), Change("kubectl", node.Kubectl, to)]);
        foreach (var node in cluster.Nodes.Where(n => n.Role == UpgradeNodeRole.Worker))
            Add(node, UpgradeAction.UpgradeWorker, [Change("kubeadm", node.Kubeadm, to), Change("kubelet", node.Kubelet, to), Change("kubectl", node.Kubectl, to)]);
        return steps;
    }

    private static ComponentChange? Change(string component, KubernetesVersion? from, KubernetesVersion to) =>
        from == to ? null : new ComponentChange(component, from, to);

    private static ImageChange Images(KubernetesVersion from, KubernetesVersion to, UpgradeBundle bundle, ReleaseTable releases, List<string> notes)
    {
        releases.TryGet(from, out var before);
        releases.TryGet(to, out var after);
        if (before is null) notes.Add($"the release table does not know {from}: every image of the bundle counts as added");
        if (after is null) notes.Add($"the release table does not know {to}: a registry or sandbox image change cannot be worked out");
        var target = bundle.Images.Count > 0 ? bundle.Images : after?.CanonicalNames() ?? [];
        if (target.Count == 0) notes.Add($"neither the bundle nor the release table lists the images of {to}");
        var current = before?.CanonicalNames() ?? [];

        RegistrySwitch? registry = before is not null && after is not null && before.DefaultRegistry != after.DefaultRegistry
            ? new RegistrySwitch(before.DefaultRegistry, after.DefaultRegistry)
            : null;
        return new ImageChange(
            target.Except(current, StringComparer.Ordinal).ToList(),
            current.Except(target, StringComparer.Ordinal).ToList(),
            registry,
            before is null ? null : Pause(before),
            after is null ? null : Pause(after));
    }

    private static string Pause(KubeadmImageSet set) => set.Canonical(set.Images.Single(i => i.Path == "pause"));

    private static IEnumerable<(string Component, KubernetesVersion Version)> Components(NodeState node)
    {
        yield return ("kubelet", node.Kubelet);
        if (node.Kubeadm is { } kubeadm) yield return ("kubeadm", kubeadm);
        if (node.Kubectl is { } kubectl) yield return ("kubectl", kubectl);
        if (node.ApiServer is { } apiServer) yield return ("kube-apiserver", apiServer);
    }

    private static string SkippedMinors(KubernetesVersion from, KubernetesVersion to) =>
        string.Join(" and ", Enumerable.Range(from.Minor + 1, to.Minor - from.Minor - 1).Select(m => $"{from.Major}.{m}"));

    private static string Listed(IReadOnlyList<string> oses) => oses.Count == 0 ? "no OS" : string.Join(", ", oses);
}
