using System.Text.RegularExpressions;
using Airgap.Nodes;
using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Upgrades.Phases;

/// <summary>Reads the cluster, applies the version skew rules and prints what changes; refuses, naming the rule, before anything does.</summary>
public sealed class UpgradePlanPhase : IInstallPhase
{
    public string Name => "plan";
    public string Description => "read the running cluster and this node, check the version skew rules against the bundle, and print what changes";

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        if (c.DryRun && !await c.Host.FileExistsAsync("/etc/kubernetes/admin.conf", ct).ConfigureAwait(false))
        {
            c.Progress.Info("  would read the cluster through /etc/kubernetes/admin.conf (there is none here)");
            return;
        }
        var decision = await NodeUpgradePlanning.DecideAsync(c, ct).ConfigureAwait(false);
        foreach (var line in NodeUpgradePlanning.Lines(decision)) c.Progress.Info("  " + line);
        if (decision.Plan.Config.MigrateFirst)
            throw new AirgapException($"refusing: the kubeadm config on this cluster is {decision.Plan.Config.From.ToApiVersion()}, which kubeadm {decision.Target} no longer reads; " +
                                      "upgrade through the minors between one at a time (each rewrites it)");
    }
}

/// <summary>kubeadm at the bundle's version (held), then `kubeadm upgrade apply` on the first control plane or `kubeadm upgrade node` on the others.</summary>
public sealed class UpgradeKubeadmPhase : IInstallPhase
{
    public string Name => "kubeadm";
    public string Description => "install the bundle's kubeadm (held at its version), then kubeadm upgrade apply on the first control plane, kubeadm upgrade node on any other node";

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var software = await c.SoftwareAsync(ct).ConfigureAwait(false);
        if (software.FromBinaries)
        {
            await new BinaryInstaller(c.Host, c.Progress, c.DryRun).InstallKubeadmAsync(c.Request.Bundle, c.Document, ct).ConfigureAwait(false);
        }
        else
        {
            await c.PrepareRepositoryAsync(software, ct).ConfigureAwait(false);
            await software.Source!.InstallAsync(software.Packages.Where(p => p.Name == "kubeadm").ToList(), ct).ConfigureAwait(false);
        }
        var kubeadm = await c.KubeadmProgramAsync(ct).ConfigureAwait(false);
        if (c.DryRun)
        {
            c.Progress.Info($"  would run kubeadm upgrade apply {c.Version} -y on the first control plane, kubeadm upgrade node elsewhere");
            return;
        }
        CommandSpec? spec;
        if (!await c.Host.FileExistsAsync(NodeUpgradeProbe.ApiServerManifest, ct).ConfigureAwait(false))
        {
            // A worker: no API server to upgrade, and no admin kubeconfig to read the cluster with.
            spec = new CommandSpec(kubeadm, ["upgrade", "node", .. IgnoredPreflight(c)]);
        }
        else
        {
            var view = await NodeUpgradeProbe.ReadAsync(c, ct).ConfigureAwait(false);
            var own = NodeUpgradeProbe.TagVersion(view.ApiServerImage);
            var applied = view.Cluster.Nodes.Any(n => n.Name != view.Node && n.ApiServer is { } v && v >= c.Version);
            spec = own is not null && own >= c.Version && !attempt.ResumesUnfinished ? null
                : applied ? new CommandSpec(kubeadm, ["upgrade", "node", .. IgnoredPreflight(c)])
                // The first control plane to move: kubeadm upgrade apply upgrades the cluster's configuration and add-ons too.
                : new CommandSpec(kubeadm, ["upgrade", "apply", c.Version.ToString(), "-y", .. IgnoredPreflight(c)]);
            if (spec is null)
            {
                c.Progress.Info($"  this control plane already runs {own}: kubeadm has nothing to upgrade");
                return;
            }
        }
        // kubeadm pre-pulls the new images through the CRI: the images phase put them there, so nothing is fetched.
        await c.Host.RunCheckedAsync(spec with
        {
            Timeout = TimeSpan.FromMinutes(20),
            OnOutput = line => c.Progress.Info("  kubeadm: " + line.Text),
        }, ct).ConfigureAwait(false);
        await CheckAsync(c, ct).ConfigureAwait(false);
    }

    private static IEnumerable<string> IgnoredPreflight(InstallContext c) =>
        c.Request.IgnorePreflight.Names.Count > 0 ? ["--ignore-preflight-errors=" + string.Join(',', c.Request.IgnorePreflight.Names)] : [];

    /// <summary>kubeadm is the bundle's, and on a control plane the API server's manifest names the bundle's version.</summary>
    public async Task CheckAsync(InstallContext c, CancellationToken ct)
    {
        if (c.DryRun) return;
        var kubeadm = await c.KubeadmProgramAsync(ct).ConfigureAwait(false);
        var version = (await c.Host.RunAsync(new CommandSpec(kubeadm, "version", "-o", "short"), ct).ConfigureAwait(false)).Stdout.Trim();
        if (version != c.Version.ToString())
            throw new AirgapException($"kubeadm is {(version.Length == 0 ? "missing" : version)}, the bundle holds {c.Version}; run airgap upgrade again");
        if (await c.Host.ReadTextAsync(NodeUpgradeProbe.ApiServerManifest, ct).ConfigureAwait(false) is { } manifest &&
            NodeUpgradeProbe.TagVersion(NodeUpgradeProbe.ImageOf(manifest)) is { } running && running < c.Version)
            throw new AirgapException($"the API server's manifest still names {running}, not {c.Version}; kubeadm's upgrade did not finish: run airgap upgrade again");
    }
}

/// <summary>
/// kubectl drain before the kubelet changes: PodDisruptionBudgets are respected (eviction API), with a
/// timeout and the pods that blocked it named. A single-node cluster is not drained: its pods have
/// nowhere to go, and they keep running through the kubelet's restart.
/// </summary>
public sealed class DrainPhase : IInstallPhase
{
    public string Name => "drain";
    public string Description => "cordon and drain this node (PodDisruptionBudgets respected, with a timeout naming what blocks); a single-node cluster is not drained";

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        if (c.DryRun)
        {
            c.Progress.Info("  would drain this node unless it is the whole cluster");
            return;
        }
        var view = await NodeUpgradeProbe.ReadAsync(c, ct).ConfigureAwait(false);
        if (view.SingleNode)
        {
            c.Progress.Info($"  {view.Node} is the whole cluster: not drained (its pods keep running through the kubelet's restart)");
            return;
        }
        if (view.Self.Kubelet >= c.Version && !attempt.ResumesUnfinished)
        {
            c.Progress.Info($"  {view.Node}'s kubelet already runs {view.Self.Kubelet}: not drained");
            return;
        }
        var kubectl = await c.KubectlAsync(ct, Drain.Arguments(view.Node, view.Self.Kubectl, c.Request.DrainTimeout)).ConfigureAwait(false);
        await Drain.RunAsync(c.Host, kubectl, view.Node, c.Request.DrainTimeout, c.Progress.Info, ct).ConfigureAwait(false);
    }
}

/// <summary>kubelet and kubectl (and the bundle's other packages) at the bundle's version, held; the sandbox image if it changed; the kubelet restarted.</summary>
public sealed partial class UpgradeKubeletPhase : IInstallPhase
{
    public string Name => "kubelet";
    public string Description => "install the bundle's kubelet and kubectl (held at its version), point containerd at the new pause image if it changed, restart the kubelet";

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        var software = await c.SoftwareAsync(ct).ConfigureAwait(false);
        if (software.FromBinaries)
        {
            await new BinaryInstaller(c.Host, c.Progress, c.DryRun).InstallKubernetesAsync(c.Request.Bundle, c.Document, ct).ConfigureAwait(false);
        }
        else
        {
            await c.PrepareRepositoryAsync(software, ct).ConfigureAwait(false);
            await software.Source!.InstallAsync(software.Packages.Where(p => BundlePackageSources.Held.Contains(p.Name) || p.Requested).ToList(), ct).ConfigureAwait(false);
        }
        if (!c.UsesDocker) await SandboxImageAsync(c, ct).ConfigureAwait(false);
        await c.Host.RunCheckedAsync(new CommandSpec("systemctl", "daemon-reload"), ct).ConfigureAwait(false);
        await c.Host.RunCheckedAsync(new CommandSpec("systemctl", "restart", "kubelet"), ct).ConfigureAwait(false);
        await CheckAsync(c, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A new minor may ask for another pause image; containerd's sandbox_image must name it before the
    /// kubelet makes new pods, or each pod would need the old one. Only that line changes: everything else
    /// the install wrote (mirrors, cgroup driver) stays. containerd restarts without stopping containers.
    /// </summary>
    private static async Task SandboxImageAsync(InstallContext c, CancellationToken ct)
    {
        var pause = ClusterImages.PauseImage(KubeadmImageTable.Get(c.Version), c.ImageNames);
        var config = await c.Host.ReadTextAsync(ContainerdConfig.DefaultPath, ct).ConfigureAwait(false);
        if (config is null || SandboxLine().Match(config) is not { Success: true } line || line.Groups["image"].Value == pause) return;
        c.Progress.Info($"  containerd's sandbox image: {line.Groups["image"].Value} → {pause}");
        await c.Host.WriteTextAsync(ContainerdConfig.DefaultPath, SandboxLine().Replace(config, m => $"{m.Groups["lead"].Value}\"{pause}\"", 1), HostExtensions.Mode0644, ct).ConfigureAwait(false);
        await c.Host.RunCheckedAsync(new CommandSpec("systemctl", "restart", "containerd"), ct).ConfigureAwait(false);
        await InstallContext.WaitForAsync("containerd to answer", TimeSpan.FromSeconds(60), () => c.ImageStore.AnswersAsync(ct), ct).ConfigureAwait(false);
    }

    [GeneratedRegex("""(?<lead>sandbox_image\s*=\s*)"(?<image>[^"]*)"(?=\s*$)""", RegexOptions.Multiline)]
    private static partial Regex SandboxLine();

    public async Task CheckAsync(InstallContext c, CancellationToken ct)
    {
        if (c.DryRun) return;
        var software = await c.SoftwareAsync(ct).ConfigureAwait(false);
        var kubelet = (await c.Host.RunAsync(new CommandSpec(software.FromBinaries ? BinaryInstaller.PathOf("kubelet") : "kubelet", "--version"), ct).ConfigureAwait(false)).Stdout.Trim();
        if (kubelet != $"Kubernetes {c.Version}")
            throw new AirgapException($"the kubelet is {(kubelet.Length == 0 ? "missing" : kubelet)}, the bundle holds {c.Version}; run airgap upgrade again");
    }
}

/// <summary>The node Ready with the new kubelet, uncordoned, and on a control plane its pods running again.</summary>
public sealed class UncordonPhase : IInstallPhase
{
    private static readonly string[] ControlPlanePods = ["etcd-", "kube-apiserver-", "kube-controller-manager-", "kube-scheduler-"];

    public string Name => "uncordon";
    public string Description => "wait until the node is Ready on the new kubelet (and its control-plane pods run), then uncordon it";

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        if (c.DryRun)
        {
            c.Progress.Info("  would wait for the node to be Ready on the new kubelet, then uncordon it");
            return;
        }
        var node = (await c.FactsAsync(ct).ConfigureAwait(false)).Hostname.ToLowerInvariant();
        await InstallContext.WaitForAsync($"node {node} to report kubelet {c.Version}", c.Request.ReadyTimeout, async () =>
        {
            var r = await c.Host.RunAsync(await c.KubectlAsync(ct, "get", "node", node, "-o", "jsonpath={.status.nodeInfo.kubeletVersion}").ConfigureAwait(false), ct).ConfigureAwait(false);
            return r.ExitCode == 0 && r.Stdout.Trim() == c.Version.ToString();
        }, ct).ConfigureAwait(false);
        await c.WaitNodeReadyAsync(c.Request.ReadyTimeout, ct).ConfigureAwait(false);
        await c.Host.RunCheckedAsync(await c.KubectlAsync(ct, "uncordon", node).ConfigureAwait(false), ct).ConfigureAwait(false);
        if (await c.Host.FileExistsAsync(NodeUpgradeProbe.ApiServerManifest, ct).ConfigureAwait(false))
        {
            await InstallContext.WaitForAsync("this control plane's pods to run", c.Request.ReadyTimeout, async () =>
            {
                var r = await c.Host.RunAsync(await c.KubectlAsync(ct, "get", "pods", "-n", "kube-system", "--field-selector", $"spec.nodeName={node}",
                    "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.phase}{\"\\n\"}{end}").ConfigureAwait(false), ct).ConfigureAwait(false);
                if (r.ExitCode != 0) return false;
                var pods = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=')).ToList();
                return ControlPlanePods.All(n => pods.Any(p => p[0].StartsWith(n, StringComparison.Ordinal) && p[1] == "Running"));
            }, ct).ConfigureAwait(false);
        }
        c.Progress.Info($"  {node} runs {c.Version}, Ready and schedulable");
    }

    public Task CheckAsync(InstallContext c, CancellationToken ct) => c.WaitNodeReadyAsync(TimeSpan.FromSeconds(60), ct);
}
