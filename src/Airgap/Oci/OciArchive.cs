using Airgap.Bundles;

namespace Airgap.Oci;

/// <summary>
/// The tarball end: the images of any <see cref="IImageSource"/> as one OCI image layout archive
/// (with Docker's manifest.json beside it), written as a stream, for runtimes that take archives —
/// containerd's `ctr images import -` and the Docker engine's load. index.json and manifest.json come
/// from the same <see cref="OciLayout"/> code the build uses, so an import names images exactly as a
/// bundle does (tags and name@digest aliases); every blob passes the source's digest check on its way.
/// </summary>
public static class OciArchive
{
    public static async Task<int> WriteAsync(IImageSource source, IReadOnlyList<NamedImage> images, Platform platform, Stream output, CancellationToken ct)
    {
        var resolved = new List<PulledImage>();
        foreach (var image in images) resolved.Add(await ResolveAsync(source, image, platform, ct).ConfigureAwait(false));
        var tar = new TarArchiveWriter(output);
        await tar.WriteFileAsync("oci-layout", OciLayout.LayoutFile(), 0x1A4, ct).ConfigureAwait(false);
        await tar.WriteFileAsync("index.json", OciLayout.Index(resolved), 0x1A4, ct).ConfigureAwait(false);
        await tar.WriteFileAsync("manifest.json", OciLayout.DockerManifest(resolved), 0x1A4, ct).ConfigureAwait(false);
        var blobs = resolved.SelectMany(i => i.Blobs).DistinctBy(b => b.Digest).OrderBy(b => b.Digest, StringComparer.Ordinal).ToList();
        foreach (var blob in blobs)
        {
            var path = OciLayout.BlobPath(blob.ParsedDigest);
            if (MediaTypes.IsIndex(blob.MediaType) || MediaTypes.IsManifest(blob.MediaType))
            {
                await tar.WriteFileAsync(path, await source.ReadDocumentAsync(blob, ct).ConfigureAwait(false), 0x1A4, ct).ConfigureAwait(false);
                continue;
            }
            await using var content = await source.OpenBlobAsync(blob, 0, ct).ConfigureAwait(false);
            await tar.WriteFileAsync(path, content, blob.Size, 0x1A4, ct, hash: false).ConfigureAwait(false);
        }
        await tar.FinishAsync(ct).ConfigureAwait(false);
        return resolved.Count;
    }

    /// <summary>The image for one platform: its index (when it has one), that platform's manifest, config and layers.</summary>
    public static async Task<PulledImage> ResolveAsync(IImageSource source, NamedImage image, Platform platform, CancellationToken ct)
    {
        Descriptor? index = null;
        var manifest = image.Target;
        if (MediaTypes.IsIndex(image.Target.MediaType))
        {
            index = image.Target;
            var list = ManifestJson.Read<ImageIndex>(await source.ReadDocumentAsync(image.Target, ct).ConfigureAwait(false), $"index of {image.Name}");
            Descriptor? found = null;
            foreach (var child in list.Manifests.Where(m => m.Platform is { } p && p.Matches(platform) && MediaTypes.IsManifest(m.MediaType)))
                if (await source.HasAsync(child, ct).ConfigureAwait(false)) { found = child; break; }
            manifest = found ?? throw new AirgapException($"image {image.Name} has no {platform} manifest here; the bundle is for another platform or incomplete");
        }
        var parsed = ManifestJson.Read<ImageManifest>(await source.ReadDocumentAsync(manifest, ct).ConfigureAwait(false), $"manifest of {image.Name}");
        return new PulledImage(image.Name, image.Name, platform, manifest with { Platform = null, Annotations = null }, parsed.Config, parsed.Layers, index);
    }
}
