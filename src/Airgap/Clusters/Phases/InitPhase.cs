using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Clusters.Phases;

public sealed class InitPhase : IPhase<ClusterContext>
{
    public string Name => "init";
    public string Description => "airgap install on the first control plane: kubeadm init with the endpoint in its certificates, the CNI, --upload-certs";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        // A cluster moved to this bundle by airgap cluster upgrade was installed from an older one: its install
        // journal is for that bundle, and installing again would be kubeadm init on a running cluster.
        var upgraded = await PhaseJournal.LoadAsync(c.Ssh(c.FirstControlPlane), ct, $"/var/lib/airgap/{Upgrades.NodeUpgrader.JournalName}").ConfigureAwait(false);
        if (upgraded.Get("kubelet") is { State: PhaseState.Done } &&
            (await c.RegisteredNodesAsync(ct).ConfigureAwait(false))?.FirstOrDefault(n => n.Name == c.FirstControlPlane.Name.ToLowerInvariant()) is { Ready: true } node &&
            node.KubeletVersion == c.Document.Kubernetes)
        {
            c.Progress.Info($"{c.FirstControlPlane.Name}: upgraded earlier to {node.KubeletVersion}; Ready");
            return;
        }
        // Run every time: a node done earlier only checks its phases (its own journal), so this is the cluster's health check too.
        await c.RunAirgapAsync(c.FirstControlPlane, NodeArguments.Install(c, c.FirstControlPlane), ct).ConfigureAwait(false);
    }
}
