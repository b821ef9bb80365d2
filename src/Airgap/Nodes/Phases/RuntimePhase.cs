using Airgap.Releases;

namespace Airgap.Nodes.Phases;

public sealed class RuntimePhase : IInstallPhase
{
    public string Name => "runtime";
    public string Description => "install and configure the container runtime (containerd, or with --runtime docker the node's Docker engine) and start it";

    public string Describe(InstallOptions o) => o.Runtime == ContainerRuntimeKind.Docker
        ? "configure Docker's cgroup driver to match the kubelet's"
        : $"install containerd, write {ContainerdConfig.DefaultPath} (CRI on, cgroup driver, the bundle's pause image), start it";

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        if (c.UsesDocker)
        {
            await DockerAsync(c, ct).ConfigureAwait(false);
            return;
        }
        var facts = await c.FactsAsync(ct).ConfigureAwait(false);
        var software = await c.SoftwareAsync(ct).ConfigureAwait(false);
        var runtimePackages = software.Source is null ? [] : software.Packages.Where(p => p.Name is "containerd" or "containerd.io" or "runc").ToList();
        var installedContainerd = await c.AnyExistsAsync(ct, "/usr/bin/containerd", "/usr/local/bin/containerd").ConfigureAwait(false);
        if (runtimePackages.Count > 0)
        {
            await c.PrepareRepositoryAsync(software, ct).ConfigureAwait(false);
            await software.Source!.InstallAsync(runtimePackages, ct).ConfigureAwait(false);
        }
        else if (installedContainerd)
        {
            c.Progress.Info("  the bundle has no containerd package for this node; configuring the containerd already installed");
        }
        else if (BinaryInstaller.HasRuntime(c.Document))
        {
            await new BinaryInstaller(c.Host, c.Progress, c.DryRun).InstallRuntimeAsync(c.Request.Bundle, c.Document, ct).ConfigureAwait(false);
        }
        else
        {
            throw new AirgapException($"the bundle has neither a containerd package for {software.Os} nor containerd binaries, and none is installed; " +
                                      $"build the bundle with --os {software.Os} or without --no-binaries");
        }

        var version = ContainerdConfig.VersionFrom((await c.Host.RunAsync(new CommandSpec("containerd", "--version"), ct).ConfigureAwait(false)).Stdout);
        var settings = new ContainerdSettings
        {
            SandboxImage = ClusterImages.PauseImage(KubeadmImageTable.Get(c.Version), c.ImageNames),
            CgroupDriver = facts.CgroupDriver,
            RestrictOomScoreAdj = facts.RestrictOomScoreAdj,
            // A dry run has no containerd to ask; it plans for the installed or bundled one as 1.x.
            ConfigVersion = version is null ? 2 : ContainerdConfig.ConfigVersionFor(version),
            HostsDirectory = version is null || ContainerdConfig.HasHostsDirectory(version),
            Mirror = c.Request.Mirror,
            MirroredRegistries = c.Request.Mirror is null ? [] : RegistryMirror.Registries(c.ImageNames),
        };
        if (c.Request.Mirror is { } mirror) await WriteMirrorAsync(c, mirror, settings, version, ct).ConfigureAwait(false);
        if (!facts.SystemdIsInit) c.Progress.Info("  PID 1 is not systemd: containerd and kubelet use the cgroupfs driver");
        if (facts.RestrictOomScoreAdj) c.Progress.Info("  CAP_SYS_RESOURCE is missing: containerd gets restrict_oom_score_adj = true");
        await c.Host.WriteTextAsync(ContainerdConfig.DefaultPath, ContainerdConfig.Render(settings), HostExtensions.Mode0644, ct).ConfigureAwait(false);
        await c.Host.RunCheckedAsync(new CommandSpec("systemctl", "enable", "containerd"), ct).ConfigureAwait(false);
        await c.Host.RunCheckedAsync(new CommandSpec("systemctl", "restart", "containerd"), ct).ConfigureAwait(false);
        await InstallContext.WaitForAsync("containerd to answer", TimeSpan.FromSeconds(60), () => c.ImageStore.AnswersAsync(ct), ct).ConfigureAwait(false);
    }

    /// <summary>The mirror's CA and one hosts.toml per mirrored registry (containerd 1.5+), before containerd restarts and reads them.</summary>
    private static async Task WriteMirrorAsync(InstallContext c, RegistryMirror mirror, ContainerdSettings settings, string? version, CancellationToken ct)
    {
        if (!settings.HostsDirectory && mirror.Prefix.Length > 0)
            throw new AirgapException($"containerd {version} (before 1.5) asks a mirror for images by their path alone, so --registry-mirror {mirror} cannot have a path; " +
                                      "serve the bundle with airgap serve, or push it with --flat to a registry without a prefix");
        if (mirror.CaFile is { } ca)
            await c.Host.WriteTextAsync(RegistryMirror.CaPath, await File.ReadAllTextAsync(ca, ct).ConfigureAwait(false), HostExtensions.Mode0644, ct).ConfigureAwait(false);
        if (!settings.HostsDirectory) return;
        foreach (var registry in settings.MirroredRegistries)
            await c.Host.WriteTextAsync($"{RegistryMirror.HostsDirectory}/{registry}/hosts.toml", mirror.HostsToml(registry, mirror.CaFile is not null), HostExtensions.Mode0644, ct).ConfigureAwait(false);
        c.Progress.Info($"  {settings.MirroredRegistries.Count} registries pull through {mirror} ({string.Join(", ", settings.MirroredRegistries)})");
    }

    public async Task CheckAsync(InstallContext c, CancellationToken ct)
    {
        if (!await c.ImageStore.AnswersAsync(ct).ConfigureAwait(false))
            throw new AirgapException($"{c.RuntimeName} does not answer; start it (systemctl start {(c.UsesDocker ? "docker" : "containerd")}) or run airgap reset and install again");
    }

    /// <summary>
    /// --runtime docker uses the node's own Docker engine (bundles carry containerd, not Docker): its
    /// cgroup driver is set to the kubelet's, other daemon.json settings are kept, and it is restarted.
    /// </summary>
    private static async Task DockerAsync(InstallContext c, CancellationToken ct)
    {
        var facts = await c.FactsAsync(ct).ConfigureAwait(false);
        if (!await c.AnyExistsAsync(ct, "/usr/bin/dockerd", "/usr/sbin/dockerd", "/usr/local/bin/dockerd").ConfigureAwait(false))
            throw new AirgapException("--runtime docker uses the node's own Docker engine and dockerd is not installed; install Docker from the OS media, or use --runtime containerd");
        var existing = await c.Host.ReadTextAsync(DockerDaemonConfig.DefaultPath, ct).ConfigureAwait(false);
        await c.Host.WriteTextAsync(DockerDaemonConfig.DefaultPath, DockerDaemonConfig.Render(existing, facts.CgroupDriver, facts.RestrictOomScoreAdj), HostExtensions.Mode0644, ct).ConfigureAwait(false);
        c.Progress.Info($"  {DockerDaemonConfig.DefaultPath}: native.cgroupdriver={facts.CgroupDriver.ToConfigValue()}{(facts.RestrictOomScoreAdj ? ", oom-score-adjust 0 (no CAP_SYS_RESOURCE)" : "")}");
        await c.Host.RunCheckedAsync(new CommandSpec("systemctl", "enable", "docker"), ct).ConfigureAwait(false);
        await c.Host.RunCheckedAsync(new CommandSpec("systemctl", "restart", "docker"), ct).ConfigureAwait(false);
        if (c.DryRun) return;
        var store = (DockerImageStore)c.ImageStore;
        await InstallContext.WaitForAsync("the Docker engine to answer", TimeSpan.FromSeconds(60), () => store.AnswersAsync(ct), ct).ConfigureAwait(false);
        c.Progress.Info($"  Docker {await store.VersionAsync(ct).ConfigureAwait(false)} answers at {store.Endpoint}");
    }
}
