using Airgap.Bundles;
using Airgap.Bundles.Parts;
using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Clusters.Phases;

/// <summary>
/// The bundle and the node's own airgap (bin/airgap from the bundle: always the bundle's architecture)
/// onto every node, in parallel up to ssh.maxParallel, each sha256-checked on the node. A split bundle
/// travels as its parts and index (never joined, here or there): the node's airgap reads the index.
/// </summary>
public sealed class DistributePhase : IPhase<ClusterContext>
{
    public string Name => "distribute";
    public string Description => $"check the bundle's signature (with trust keys, which every node then trusts too), then send it and its bin/airgap to {ClusterContext.DistDirectory} on every node: sha256-checked there, skipped when present, resumed when cut";

    public async Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct)
    {
        // Before a byte leaves this host. Each node's own verify phase then checks every member against
        // this (signed) bundle.yaml: the copy it got is sha256-checked against this file.
        var signature = await BundleSignature.CheckAsync(c.Config.BundlePath, c.Trust, ct).ConfigureAwait(false);
        BundleSignature.Report(c.Progress, c.Config.BundlePath, signature);
        var bundle = await BundleUploadsAsync(c.StoredBundle, "bundle", c.RemoteBundle, ct).ConfigureAwait(false);
        var baseBundle = c.Config.BasePath is { } basePath
            ? await BundleUploadsAsync(StoredBundle.Open(basePath), "base bundle", c.RemoteBase!, ct).ConfigureAwait(false)
            : [];
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
                await ShipTrustKeysAsync(c, host, ct).ConfigureAwait(false);
                var upload = new NodeUpload(c.Ssh(host), c.Progress, host.Name);
                if (ca is not null) await upload.EnsureAsync(ca, ct).ConfigureAwait(false);
                await upload.EnsureAsync(binary, ct).ConfigureAwait(false);
                await c.Ssh(host).RunCheckedAsync(new CommandSpec("chmod", "0755", ClusterContext.RemoteAirgap), ct).ConfigureAwait(false);
                foreach (var item in bundle.Concat(baseBundle)) await upload.EnsureAsync(item, ct).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    /// <summary>The tar; or every part (checked here against the index, whose digests the nodes then check) and the index last.</summary>
    /// <summary>
    /// What sends a bundle to <paramref name="remotePath"/>: the tar, or each part (under its own name,
    /// beside it, as the index lists them) and then the index, which is the path the node's airgap reads.
    /// </summary>
    internal static async Task<IReadOnlyList<UploadItem>> BundleUploadsAsync(StoredBundle stored, string label, string remotePath, CancellationToken ct)
    {
        var remoteDirectory = remotePath[..remotePath.LastIndexOf('/')];
        if (stored.Index is not { } index)
            return [await UploadItem.FromFileAsync(label, stored.Path, remotePath, ct).ConfigureAwait(false)];
        await stored.VerifyPartsAsync(ct).ConfigureAwait(false);
        var items = index.Parts.Select(p =>
        {
            var local = stored.PartPath(p);
            return new UploadItem($"{label} {p.Name}", $"{remoteDirectory}/{p.Name}", p.Size, p.Sha256, _ => Task.FromResult<Stream>(File.OpenRead(local)));
        }).ToList();
        items.Add(await UploadItem.FromFileAsync($"{label} index", stored.Path, remotePath, ct).ConfigureAwait(false));
        return items;
    }

    /// <summary>
    /// The keys this host checked the bundle with go to the node's trusted directory first: from then on
    /// the node's own verify (this deploy's, and any later install, join or upgrade there) refuses an
    /// unsigned or foreign bundle, even one that reaches it some other way than this jump host.
    /// </summary>
    private static async Task ShipTrustKeysAsync(ClusterContext c, ClusterHost host, CancellationToken ct)
    {
        foreach (var key in c.Trust.Keys)
        {
            var path = $"{BundleTrust.DefaultDirectory}/{key.FileName}";
            if (await c.Ssh(host).ReadTextAsync(path, ct).ConfigureAwait(false) == key.Pem) continue;
            await c.Ssh(host).WriteTextAsync(path, key.Pem, HostExtensions.Mode0644, ct).ConfigureAwait(false);
            c.Progress.Info($"{host.Name}: trusts {key.Fingerprint} ({path})");
        }
    }
}
