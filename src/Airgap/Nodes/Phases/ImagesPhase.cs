namespace Airgap.Nodes.Phases;

public sealed class ImagesPhase : IInstallPhase
{
    public string Name => "images";
    public string Description => "import the bundle's images into the container runtime (or pull them through --registry-mirror) and check each one kubeadm needs is there";

    public string Describe(InstallOptions o) => o.Runtime == ContainerRuntimeKind.Docker
        ? "load the bundle's images into Docker and check each one kubeadm needs is there"
        : "import the bundle's images into containerd (namespace k8s.io), or with --registry-mirror pull them through it, and check each one kubeadm needs is there";

    public async Task RequireAsync(InstallContext c, CancellationToken ct)
    {
        if (!c.DryRun && !await c.ImageStore.AnswersAsync(ct).ConfigureAwait(false))
            throw new AirgapException($"{c.RuntimeName} does not answer; the images phase needs the runtime phase: do not skip it, or start {c.RuntimeName}");
    }

    public async Task RunAsync(InstallContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        if (c.Request.Mirror is { } mirror && !c.UsesDocker)
        {
            await PullThroughMirrorAsync(c, mirror, ct).ConfigureAwait(false);
            if (!c.DryRun) await CheckAsync(c, ct).ConfigureAwait(false);
            return;
        }
        var runtime = c.UsesDocker ? "Docker" : "containerd (namespace k8s.io)";
        if (c.DryRun)
        {
            c.Progress.Info($"  would import the bundle's {c.Document.Images.Count} images into {runtime}, those it lacks");
            if (c.UsesDocker) return;
        }
        // A run cut inside the import (a kill, a power cut) left some images in: bring only the rest.
        var present = c.DryRun ? new HashSet<string>() : await c.ImageStore.NamesAsync(ct).ConfigureAwait(false);
        var already = c.ImageNames.Count(present.Contains);
        c.Progress.Info(already == 0
            ? $"  importing {c.Document.Images.Count} images into {runtime}"
            : $"  {already} of {c.Document.Images.Count} images already in {runtime}; importing the rest");
        await c.ImageStore.ImportAsync(c.Request.Bundle, present, ct).ConfigureAwait(false);
        if (!c.DryRun) await CheckAsync(c, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Each image pulled by its canonical name through the CRI, exactly as the kubelet would pull it,
    /// so a mirror that lacks an image or a digest fails here, naming the image, not later in a pod.
    /// </summary>
    private static async Task PullThroughMirrorAsync(InstallContext c, RegistryMirror mirror, CancellationToken ct)
    {
        c.Progress.Info($"  pulling {c.ImageNames.Count} images through {mirror} (no import)");
        foreach (var name in c.ImageNames)
        {
            var r = await c.Host.RunAsync(new CommandSpec("crictl", "--runtime-endpoint", "unix:///run/containerd/containerd.sock", "pull", name)
            {
                Timeout = TimeSpan.FromMinutes(15),
            }, ct).ConfigureAwait(false);
            if (r.ExitCode != 0)
                throw new AirgapException($"{name} could not be pulled through {mirror}: {r.StderrTail.LastOrDefault(l => l.Length > 0) ?? $"crictl exited with code {r.ExitCode}"}; " +
                                          "push the bundle there (airgap push) or serve it (airgap serve), or install without --registry-mirror to import it");
        }
    }

    /// <summary>Every image of the bundle is in the runtime under its canonical name.</summary>
    public async Task CheckAsync(InstallContext c, CancellationToken ct)
    {
        var present = await c.ImageStore.NamesAsync(ct).ConfigureAwait(false);
        var missing = c.ImageNames.Where(n => !present.Contains(n)).ToList();
        if (missing.Count > 0)
            throw new AirgapException($"the runtime lacks {missing.Count} of the bundle's images ({string.Join(", ", missing.Take(3))}); " +
                                      "the images phase imports them: do not skip it, and check the runtime's image list");
    }
}
