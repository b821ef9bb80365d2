using System.Collections.Concurrent;

namespace Airgap.Oci;

/// <summary>One image to copy: from its name at the source to its name at the sink (tags kept).</summary>
public sealed record ImageCopy(ImageReference From, ImageReference To);

/// <summary>One image as copied: the digest its tag points at in the sink (the index's, unless the sink refused it).</summary>
public sealed record CopiedImage(ImageReference From, ImageReference To, string Digest);

/// <summary>What a copy moved: blobs sent, blobs the sink had or mounted, and bytes sent.</summary>
public sealed record CopyReport(IReadOnlyList<CopiedImage> Images, int BlobsSent, int BlobsSkipped, long BytesSent);

/// <summary>
/// Copies images from any <see cref="IImageSource"/> to any <see cref="IImageSink"/>, children before
/// parents (blobs, then manifests, then the index, then the tag), so a reader of the sink never sees
/// a manifest whose blobs are missing. Documents travel byte for byte: digests are the source's.
/// Blobs go in parallel; one blob shared by several images is sent once.
/// </summary>
public sealed class ImageCopier(IImageSource source, IImageSink sink, IProgressSink progress, int parallelBlobs = 4)
{
    private readonly SemaphoreSlim slots = new(parallelBlobs);
    private readonly ConcurrentDictionary<(string Repository, string Digest), Lazy<Task<bool>>> blobs = new();
    private long bytesSent;

    public async Task<CopyReport> CopyAsync(IReadOnlyList<ImageCopy> images, CancellationToken ct)
    {
        // A few images at a time keeps every blob slot busy without resolving the whole list up front.
        using var imageSlots = new SemaphoreSlim(Math.Max(1, parallelBlobs / 2));
        var copied = await Task.WhenAll(images.Select(async image =>
        {
            await imageSlots.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                return await CopyOneAsync(image, ct).ConfigureAwait(false);
            }
            finally
            {
                imageSlots.Release();
            }
        })).ConfigureAwait(false);
        var sent = blobs.Values.Count(b => b.Value.IsCompletedSuccessfully && b.Value.Result);
        return new CopyReport(copied, sent, blobs.Count - sent, Interlocked.Read(ref bytesSent));
    }

    private async Task<CopiedImage> CopyOneAsync(ImageCopy image, CancellationToken ct)
    {
        var target = await source.ResolveAsync(image.From, ct).ConfigureAwait(false)
            ?? throw new AirgapException($"image {image.From} is not in the source");
        var content = await source.ReadDocumentAsync(target, ct).ConfigureAwait(false);
        var repository = image.To with { Tag = null, Digest = null };
        if (MediaTypes.IsIndex(target.MediaType))
        {
            var index = ManifestJson.Read<ImageIndex>(content, $"index of {image.From}");
            var present = new List<Descriptor>();
            foreach (var child in index.Manifests)
                if (await source.HasAsync(child, ct).ConfigureAwait(false)) present.Add(child);
            if (present.Count == 0) throw new AirgapException($"image {image.From}: none of the platforms its index names is in the source");
            var children = new List<(Descriptor Descriptor, byte[] Content)>();
            foreach (var child in present)
            {
                var bytes = await source.ReadDocumentAsync(child, ct).ConfigureAwait(false);
                await CopyManifestAsync(image, repository, child, bytes, ct).ConfigureAwait(false);
                children.Add((child, bytes));
            }
            try
            {
                // Under its digest first, then the tag: a pinned reference works even where tags are immutable.
                await sink.PutDocumentAsync(repository with { Digest = target.ParsedDigest }, target, content, ct).ConfigureAwait(false);
            }
            catch (RegistryException e) when (present.Count < index.Manifests.Count && e.Status == System.Net.HttpStatusCode.BadRequest)
            {
                // distribution (and Harbor on it) refuses an index whose other platforms' manifests it lacks.
                // The tag then names this platform's manifest: still upstream's bytes and digest for it.
                (target, content) = children[0];
                progress.Warn($"{image.To}: {image.To.Registry} refuses the {index.Manifests.Count}-platform index without the platforms this bundle does not carry ({e.Brief}); " +
                              $"the tag points at the {present[0].Platform} manifest {target.Digest}, and references pinned to the index digest will not resolve there (airgap serve answers them)");
            }
        }
        else
        {
            await CopyManifestAsync(image, repository, target, content, ct).ConfigureAwait(false);
        }
        if (image.To.Tag is not null) await sink.PutDocumentAsync(image.To with { Digest = null }, target, content, ct).ConfigureAwait(false);
        progress.Info($"{image.To}: {target.Digest}");
        return new CopiedImage(image.From, image.To, target.Digest);
    }

    private async Task CopyManifestAsync(ImageCopy image, ImageReference repository, Descriptor descriptor, byte[] content, CancellationToken ct)
    {
        if (!MediaTypes.IsManifest(descriptor.MediaType))
            throw new AirgapException($"image {image.From}: {descriptor.Digest} is a {descriptor.MediaType}, not an image manifest");
        var manifest = ManifestJson.Read<ImageManifest>(content, $"manifest {descriptor.Digest} of {image.From}");
        var label = image.To.Repository;
        await Task.WhenAll(manifest.Layers.Prepend(manifest.Config).Select(blob => CopyBlobAsync(repository, blob, label, ct))).ConfigureAwait(false);
        await sink.PutDocumentAsync(repository with { Digest = descriptor.ParsedDigest }, descriptor, content, ct).ConfigureAwait(false);
    }

    /// <summary>True when the blob was sent; false when the sink had it or mounted it.</summary>
    private Task<bool> CopyBlobAsync(ImageReference repository, Descriptor blob, string label, CancellationToken ct) =>
        blobs.GetOrAdd((repository.Name, blob.Digest), _ => new Lazy<Task<bool>>(() => SendAsync(repository, blob, label, ct))).Value;

    private async Task<bool> SendAsync(ImageReference repository, Descriptor blob, string label, CancellationToken ct)
    {
        await slots.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (await sink.EnsureBlobWithoutUploadAsync(repository, blob, ct).ConfigureAwait(false)) return false;
            var id = $"{repository.Name}@{blob.Digest}";
            progress.TransferStarted(id, $"push {label} {blob.ParsedDigest.Hex[..12]}", blob.Size);
            await sink.PutBlobAsync(repository, blob, (start, c) => source.OpenBlobAsync(blob, start, c), n =>
            {
                Interlocked.Add(ref bytesSent, n);
                progress.TransferAdvanced(id, n);
            }, ct).ConfigureAwait(false);
            progress.TransferFinished(id, fromCache: false);
            return true;
        }
        finally
        {
            slots.Release();
        }
    }
}
