using Airgap.Releases;

namespace Airgap.Nodes.Phases;

public sealed class KubeadmPhase : IInstallPhase
{
    public string Name => "kubeadm";
    public string Description => $"write {KubeadmConfig.DefaultPath} for this Kubernetes version and run kubeadm init (install) or kubeadm join (join)";

    public string Describe(InstallOptions o)
    {
        var api = KubeadmConfig.ApiVersionFor(o.KubernetesVersion).ToApiVersion();
        return o.Role == NodeRole.InitControlPlane
            ? $"write {KubeadmConfig.DefaultPath} ({api}) and run kubeadm init"
            : $"write {KubeadmConfig.DefaultPath} ({api}) and run kubeadm join{(o.Role == NodeRole.JoinControlPlane ? " as a control plane" : "")}";
    }

    public async Task RequireAsync(InstallContext c, CancellationToken ct)
    {
        if (c.DryRun) return;
        var kubeadm = await c.KubeadmProgramAsync(ct).ConfigureAwait(false);
        if ((await c.Host.RunAsync(new CommandSpec(kubeadm, "version", "-o", "short") { Timeout = TimeSpan.FromSeconds(30) }, ct).ConfigureAwait(false)).ExitCode != 0)
            throw new AirgapException($"{kubeadm} is not installed or does not run; the kubeadm phase needs the packages phase: do not skip it");
        await new ImagesPhase().CheckAsync(c, ct).ConfigureAwait(false);
    }

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var facts = await c.FactsAsync(ct).ConfigureAwait(false);
        var request = c.Request;
        var kubeadm = await c.KubeadmProgramAsync(ct).ConfigureAwait(false);
        KubeadmSettings settings = new()
        {
            KubernetesVersion = c.Version,
            CgroupDriver = facts.CgroupDriver,
            AdvertiseAddress = request.AdvertiseAddress,
            PodSubnet = request.PodNetworkCidr,
            ServiceSubnet = request.ServiceCidr,
            ControlPlaneEndpoint = request.ControlPlaneEndpoint,
            CertSans = request.CertSans,
            ImageRepository = ClusterImages.ImageRepository(KubeadmImageTable.Get(c.Version), c.ImageNames),
            ProxyMode = request.ProxyMode,
            CriSocket = c.UsesDocker ? DockerDaemonConfig.DockershimSocket : KubeadmConfig.ContainerdSocket,
            UntaintControlPlane = c.Options.SingleNode,
            Join = request.Join,
            CertificateKey = request.CertificateKey,
        };
        await c.Host.RunCheckedAsync(new CommandSpec("systemctl", "enable", "kubelet"), ct).ConfigureAwait(false);
        var init = c.Options.Role == NodeRole.InitControlPlane;
        if (init && !c.Options.SingleNode)
        {
            // Made here rather than by kubeadm so it can be handed to the next control plane (join-control-plane.txt).
            settings = settings with { CertificateKey = await CertificateKeyAsync(c, kubeadm, ct).ConfigureAwait(false) };
            await c.Host.WriteTextAsync(Path.Combine(request.StateDirectory, "certificate-key"), settings.CertificateKey + "\n", HostExtensions.Mode0600, ct).ConfigureAwait(false);
        }
        if (attempt.ResumesUnfinished)
        {
            // An earlier attempt of this very install that stopped inside kubeadm left its half-made
            // state ("manifests already exist"); it is ours to clear. Anyone else's cluster is refused by preflight.
            c.Progress.Info("  the last attempt stopped inside kubeadm: kubeadm reset -f before trying again");
            await c.Host.RunAsync(new CommandSpec(kubeadm, "reset", "-f") { Timeout = TimeSpan.FromMinutes(5) }, ct).ConfigureAwait(false);
        }
        await c.Host.WriteTextAsync(KubeadmConfig.DefaultPath, KubeadmConfig.Render(settings), HostExtensions.Mode0600, ct).ConfigureAwait(false);
        var args = new List<string> { init ? "init" : "join", "--config", KubeadmConfig.DefaultPath };
        // airgap's own preflight ran; kubeadm's repeats some checks, and the operator's ignores apply to both.
        if (request.IgnorePreflight.Names.Count > 0) args.Add("--ignore-preflight-errors=" + string.Join(',', request.IgnorePreflight.Names));
        if (init && !c.Options.SingleNode) args.Add("--upload-certs");
        var secrets = new List<string>();
        if (request.Join?.Token is { } token) secrets.Add(token);
        if (settings.CertificateKey is { } key) secrets.Add(key);
        await c.Host.RunCheckedAsync(new CommandSpec(kubeadm, [.. args])
        {
            Timeout = TimeSpan.FromMinutes(15),
            // kubeadm prints the tokens and certificate keys it made itself: keep them out of failure tails too.
            Sensitive = true,
            Secrets = secrets,
            OnOutput = line => c.Progress.Info("  kubeadm: " + Redactor.Redact(line.Text, secrets)),
        }, ct).ConfigureAwait(false);
    }

    public async Task CheckAsync(InstallContext c, CancellationToken ct)
    {
        if (!await c.Host.FileExistsAsync("/etc/kubernetes/kubelet.conf", ct).ConfigureAwait(false))
            throw new AirgapException("the journal says kubeadm ran, but /etc/kubernetes/kubelet.conf is gone; run airgap reset, then install again");
    }

    /// <summary>kubeadm moved the command out of alpha in 1.20; older releases only have the alpha form.</summary>
    private static async Task<string> CertificateKeyAsync(InstallContext c, string kubeadm, CancellationToken ct)
    {
        if (c.DryRun) return "<the key `kubeadm certs certificate-key` prints>";
        foreach (var args in new[] { new[] { "certs", "certificate-key" }, ["alpha", "certs", "certificate-key"] })
        {
            var r = await c.Host.RunAsync(new CommandSpec(kubeadm, args), ct).ConfigureAwait(false);
            var key = r.Stdout.Trim();
            if (r.ExitCode == 0 && key.Length == 64 && key.All(Uri.IsHexDigit)) return key;
        }
        throw new AirgapException("kubeadm could not make a certificate key (kubeadm certs certificate-key); install with --single-node or check the kubeadm binary");
    }
}
