using Airgap.Nodes.Phases;

namespace Airgap.Clusters.Phases;

public sealed class InitPhase : IPhase<ClusterContext>
{
    public string Name => "init";
    public string Description => "airgap install on the first control plane: kubeadm init with the endpoint in its certificates, the CNI, --upload-certs";

    public Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct) =>
        // Run every time: a node done earlier only checks its phases (its own journal), so this is the cluster's health check too.
        c.RunAirgapAsync(c.FirstControlPlane, NodeArguments.Install(c, c.FirstControlPlane), ct);
}
