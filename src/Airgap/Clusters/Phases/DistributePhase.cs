using Airgap.Bundles;
using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Clusters.Phases;

/// <summary>
/// The bundle and the node's own airgap (bin/airgap from the bundle: always the bundle's architecture)
/// onto every node, in parallel up to ssh.maxParallel, each sha256-checked on the node.
/// </summary>
public sealed class DistributePhase : IPhase<ClusterContext>
{
    public string Name => "distribute";
    public string Description => $"check the bundle's signature (with trust keys), then send it and its bin/airgap to {ClusterContext.DistDirectory} on every node: sha256-checked there, skipped when present, resumed when cut";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        // Before a byte leaves this host. Each node's own verify phase then checks every member against
        // this (signed) bundle.yaml: the copy it got is sha256-checked against this file.
        var signature = await BundleSignature.CheckAsync(c.Config.BundlePath, c.Trust, ct).ConfigureAwait(false);
        BundleSignature.Report(c.Progress, c.Config.BundlePath, signature);
        var bundle = await UploadItem.FromFileAsync("bundle", c.Config.BundlePath, c.RemoteBundle, ct).ConfigureAwait(false);
        var baseBundle = c.Config.BasePath is { } basePath
            ? await UploadItem.FromFileAsync("base bundle", basePath, c.RemoteBase!, ct).ConfigureAwait(false)
            : null;
        var scratch = Directory.CreateTempSubdirectory("airgap-cluster-");
        try
        {
            var installer = Path.Combine(scratch.FullName, "airgap");
            // From bundle.yaml, which lists it wherever it lies (a delta may leave an unchanged bin/airgap to its base).
            var sha = c.Document.Files.FirstOrDefault(f => f.Path == "bin/airgap")?.Sha256
                ?? throw new AirgapException($"{c.Config.BundlePath} has no bin/airgap (it was built without a self-contained airgap for linux/{c.Document.Arch}); " +
                                             "build it again after make publish, so nodes can run the installer");
            await BundleExtractor.InstallMemberAsync(c.Bundle, "bin/airgap", sha, installer, (UnixFileMode)0x1ED, ct).ConfigureAwait(false);
            var binary = await UploadItem.FromFileAsync("airgap", installer, ClusterContext.RemoteAirgap, ct).ConfigureAwait(false);
            var ca = c.Config.Install.RegistryCa is { } caFile
                ? await UploadItem.FromFileAsync("registry CA", c.Config.Resolve(caFile), ClusterContext.RemoteRegistryCa, ct).ConfigureAwait(false)
                : null;
            await c.ForEachAsync(c.Config.Nodes, async host =>
            {
                var upload = new NodeUpload(c.Ssh(host), c.Progress, host.Name);
                if (ca is not null) await upload.EnsureAsync(ca, ct).ConfigureAwait(false);
                await upload.EnsureAsync(binary, ct).ConfigureAwait(false);
                await c.Ssh(host).RunCheckedAsync(new CommandSpec("chmod", "0755", ClusterContext.RemoteAirgap), ct).ConfigureAwait(false);
                await upload.EnsureAsync(bundle, ct).ConfigureAwait(false);
                if (baseBundle is not null) await upload.EnsureAsync(baseBundle, ct).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }
}
