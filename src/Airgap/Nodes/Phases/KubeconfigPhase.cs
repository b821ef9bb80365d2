using System.Text;

namespace Airgap.Nodes.Phases;

public sealed class KubeconfigPhase : IInstallPhase
{
    private const string AdminConf = "/etc/kubernetes/admin.conf";

    public string Name => "kubeconfig";
    public string Description => "copy admin.conf to root's ~/.kube/config (0600); control planes only";

    public string Describe(InstallOptions o) => "copy admin.conf to root's ~/.kube/config (0600)";

    public string? SkipReason(InstallOptions o) => o.Role == NodeRole.Worker ? "workers get no admin kubeconfig" : null;

    public Task RequireAsync(InstallContext c, CancellationToken ct) => RequireAdminConfAsync(c, Name, ct);

    /// <summary>admin.conf is what kubeadm init (or a control-plane join) leaves; phases after it need it.</summary>
    internal static async Task RequireAdminConfAsync(InstallContext c, string phase, CancellationToken ct)
    {
        if (!c.DryRun && !await c.Host.FileExistsAsync(AdminConf, ct).ConfigureAwait(false))
            throw new AirgapException($"{AdminConf} is missing; the {phase} phase needs the kubeadm phase to have run kubeadm init: do not skip it");
    }

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var admin = c.DryRun
            ? Encoding.UTF8.GetBytes($"# {AdminConf}, as kubeadm init writes it\n")
            : await c.Host.ReadFileAsync(AdminConf, ct).ConfigureAwait(false)
              ?? throw new AirgapException($"{AdminConf} is missing after kubeadm init");
        var path = c.KubeconfigPath;
        await c.Host.WriteFileAsync(path, admin, HostExtensions.Mode0600, ct).ConfigureAwait(false);
        if (c.Request.KubeconfigUser != "root")
            await c.Host.RunCheckedAsync(new CommandSpec("chown", "-R", $"{c.Request.KubeconfigUser}:", Path.GetDirectoryName(path)!), ct).ConfigureAwait(false);
        // Remembered so airgap reset removes the kubeconfig it wrote, for whichever user.
        await c.Host.WriteTextAsync(Path.Combine(c.Request.StateDirectory, "kubeconfig-path"), path + "\n", HostExtensions.Mode0600, ct).ConfigureAwait(false);
        c.Progress.Info($"  wrote {path} (0600)");
    }

    public async Task CheckAsync(InstallContext c, CancellationToken ct)
    {
        if (!await c.Host.FileExistsAsync(c.KubeconfigPath, ct).ConfigureAwait(false))
            throw new AirgapException($"{c.KubeconfigPath} is gone; run airgap install phase kubeconfig, or airgap reset");
    }
}
