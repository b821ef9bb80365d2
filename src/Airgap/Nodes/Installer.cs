using Airgap.Bundles;
using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Nodes;

/// <summary>What an operator asked `airgap install` for, beyond the plan's role and CNI.</summary>
public sealed record InstallRequest
{
    public required string BundlePath { get; init; }

    /// <summary>The base of a delta bundle (--base), or null for a full bundle.</summary>
    public string? BasePath { get; init; }

    /// <summary>The bundle as members (the delta over its base, when there is one): what every phase reads from.</summary>
    public BundleSet Bundle => bundle is not null && bundle.Path == BundlePath && bundle.BasePath == BasePath
        ? bundle
        : bundle = new BundleSet(BundlePath, BasePath); // `with` copies the field: a changed path gets a set of its own
    private BundleSet? bundle;
    public required InstallOptions Options { get; init; }
    public string PodNetworkCidr { get; init; } = "10.244.0.0/16";
    public string ServiceCidr { get; init; } = "10.96.0.0/12";
    public ProxyMode ProxyMode { get; init; } = ProxyMode.Iptables;
    public string? AdvertiseAddress { get; init; }
    public string? ControlPlaneEndpoint { get; init; }
    public IReadOnlyList<string> CertSans { get; init; } = [];
    public IgnoredPreflightErrors IgnorePreflight { get; init; } = IgnoredPreflightErrors.None;
    public bool Fix { get; init; }
    public KubeadmJoinSettings? Join { get; init; }

    /// <summary>For a control plane joining: the key `kubeadm init --upload-certs` printed.</summary>
    public string? CertificateKey { get; init; }
    public string StateDirectory { get; init; } = "/var/lib/airgap";
    public string KubeconfigUser { get; init; } = "root";
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Upgrade: how long kubectl drain may wait for PodDisruptionBudgets before the upgrade stops and names what blocks.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The cluster's other nodes, probed over SSH so preflight can refuse cloned host names, MACs and product_uuids.</summary>
    public IReadOnlyList<SshTarget> Peers { get; init; } = [];

    public SshSettings Ssh { get; init; } = new();

    /// <summary>The site's registry for containerd to pull through (push or serve fed it); the images phase then pulls instead of importing.</summary>
    public RegistryMirror? Mirror { get; init; }

    /// <summary>
    /// Plan only: the host is a <see cref="DryRunHost"/> (commands and writes recorded, reads real), and
    /// what the installer itself would unpack or wait for is named instead of done.
    /// </summary>
    public bool DryRun { get; init; }

    /// <summary>The keys the bundle must be signed with (--trust-key, /etc/airgap/trusted); none means unsigned bundles are taken.</summary>
    public BundleTrust Trust { get; init; } = BundleTrust.None;
}

/// <summary>
/// Runs install or join on one node through an <see cref="IHost"/>: the workflow for the node's role
/// (<see cref="NodeWorkflows"/>), planned from the flags and run by the <see cref="PhaseRunner"/> with
/// the node's journal, so a re-run checks finished phases instead of redoing them and continues where
/// a failure stopped.
/// </summary>
public sealed class Installer(IHost host, IProgressSink progress)
{
    public Task<IReadOnlyList<PhaseReport>> InstallAsync(InstallRequest request, CancellationToken ct) => RunAsync(request, only: null, ct);

    /// <summary>One phase alone, with its requirement checks, whatever the journal says (`airgap install phase NAME`); journaled like any run.</summary>
    public Task<IReadOnlyList<PhaseReport>> RunPhaseAsync(InstallRequest request, string phase, CancellationToken ct) => RunAsync(request, phase, ct);

    private async Task<IReadOnlyList<PhaseReport>> RunAsync(InstallRequest request, string? only, CancellationToken ct)
    {
        // Here and not only in the verify phase: a skipped or already journaled verify must not let a bundle
        // through that this node's trust keys refuse.
        BundleSignature.Report(progress, request.BundlePath, await BundleSignature.CheckAsync(request.BundlePath, request.Trust, ct).ConfigureAwait(false));
        var document = (await request.Bundle.LayoutAsync(ct).ConfigureAwait(false)).Document;
        var version = KubernetesVersion.Parse(document.Kubernetes);
        var options = request.Options with { KubernetesVersion = version };
        var plan = InstallPlan.Create(options);
        var sums = await BundleExtractor.ReadMemberAsync(request.Bundle, BundleDocument.SumsFileName, ct).ConfigureAwait(false)
            ?? throw new AirgapException($"{request.BundlePath} has no SHA256SUMS; it is not a complete bundle");
        // The bundle and every setting a phase uses: a re-run with other flags is a different install, not "done".
        var fingerprint = PhaseJournal.Fingerprint(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(sums)),
            options.Role.ToString(), options.SingleNode.ToString(), options.Cni.ToString(), options.Runtime.ToString(),
            request.PodNetworkCidr, request.ServiceCidr, request.ProxyMode.ToString(), request.AdvertiseAddress ?? "",
            request.ControlPlaneEndpoint ?? "", string.Join(',', request.CertSans), request.Join?.ApiServerEndpoint ?? "", request.Mirror?.ToString() ?? "");
        var journal = await PhaseJournal.LoadAsync(host, ct, Path.Combine(request.StateDirectory, "journal.json")).ConfigureAwait(false);
        using var context = new InstallContext(host, progress, request with { Options = options }, document, version, fingerprint);
        var settings = new PhaseRunSettings { Journal = journal, Fingerprint = fingerprint, DryRun = request.DryRun, Only = only };
        return await new PhaseRunner(progress).RunAsync(plan.Phases, context, settings, ct).ConfigureAwait(false);
    }
}

/// <summary>
/// `airgap reset`: what kubeadm reset does, plus what airgap itself wrote, so a later install starts
/// from a clean state (the usual "manifests already exist, run kubeadm reset" pitfall). Not journaled:
/// every phase runs every time, and the journal is one of the files it removes.
/// </summary>
public sealed class NodeReset(IHost host, IProgressSink progress)
{
    public Task<IReadOnlyList<PhaseReport>> ResetAsync(CancellationToken ct) =>
        new PhaseRunner(progress).RunAsync(
            NodeWorkflows.Reset.Phases.Select(p => new PlannedPhase<ResetContext>(p, p.Description)).ToList(),
            new ResetContext(host, progress), new PhaseRunSettings(), ct);
}
