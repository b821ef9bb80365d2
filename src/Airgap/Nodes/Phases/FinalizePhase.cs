namespace Airgap.Nodes.Phases;

public sealed class FinalizePhase : IInstallPhase
{
    public string Name => "finalize";
    public string Description => "check the control plane's pods run and write the join details (0600); on a joined node, report it joined";

    public string Describe(InstallOptions o) => o.Role switch
    {
        NodeRole.InitControlPlane when o.SingleNode => "check the node is untainted and kube-system pods run; write join details (0600)",
        NodeRole.InitControlPlane => "check kube-system pods run; write join details (0600) and print how to join",
        _ => "check the node registered and is Ready",
    };

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        if (c.Options.Role != NodeRole.InitControlPlane)
        {
            c.Progress.Info("  joined; check with kubectl get nodes on a control plane");
            return;
        }
        if (c.DryRun)
        {
            c.Progress.Info("  would wait for the control plane's pods, then write the join details (0600)");
            return;
        }
        await c.WaitForSystemPodsAsync("kube-system pods to run", [.. InstallContext.ControlPlanePods, "kube-proxy-"], node: null, ct).ConfigureAwait(false);

        // Not Sensitive: its output *is* the secret, and it must reach the 0600 file unredacted; nothing
        // streams or logs it unless the command fails, and then there is no token in it.
        var join = await c.Host.RunCheckedAsync(new CommandSpec(await c.KubeadmProgramAsync(ct).ConfigureAwait(false), "token", "create", "--print-join-command"), ct).ConfigureAwait(false);
        var joinFile = Path.Combine(c.Request.StateDirectory, "join.txt");
        await c.Host.WriteTextAsync(joinFile, join.Stdout.Trim() + "\n", HostExtensions.Mode0600, ct).ConfigureAwait(false);
        c.Progress.Info($"  join details in {joinFile} (0600): airgap join --bundle BUNDLE --join-file {joinFile} on another node");
        if (await c.Host.ReadTextAsync(Path.Combine(c.Request.StateDirectory, "certificate-key"), ct).ConfigureAwait(false) is { } key)
        {
            var controlPlaneFile = Path.Combine(c.Request.StateDirectory, "join-control-plane.txt");
            await c.Host.WriteTextAsync(controlPlaneFile, $"{join.Stdout.Trim()} --control-plane --certificate-key {key.Trim()}\n", HostExtensions.Mode0600, ct).ConfigureAwait(false);
            c.Progress.Info($"  for another control plane: {controlPlaneFile} (0600; kubeadm deletes the uploaded certificates after 2 hours)");
        }
    }

    public Task CheckAsync(InstallContext c, CancellationToken ct) =>
        c.Options.Role == NodeRole.InitControlPlane ? c.WaitNodeReadyAsync(TimeSpan.FromSeconds(60), ct) : Task.CompletedTask;
}
