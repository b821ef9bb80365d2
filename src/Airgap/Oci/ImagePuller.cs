namespace Airgap.Oci;

/// <summary>An image to pull: the name it gets in the bundle and the places to try, in order.</summary>
public sealed record ImageRequest(ImageReference Canonical, IReadOnlyList<ImageReference> Sources);

/// <summary>
/// One platform's image, every blob of it in the cache and verified. <see cref="Manifest"/> and
/// <see cref="Index"/> are the documents exactly as the registry served them (bytes, media type and
/// so digest), so a reference pinned to either digest resolves against the bundle as upstream.
/// </summary>
public sealed record PulledImage(
    ImageReference Canonical,
    ImageReference Source,
    Platform Platform,
    Descriptor Manifest,
    Descriptor Config,
    IReadOnlyList<Descriptor> Layers,
    Descriptor? Index)
{
    /// <summary>What the canonical name points at: the multi-arch index when the source had one, else the manifest.</summary>
    public Descriptor Target => Index ?? Manifest;

    public IEnumerable<Descriptor> Blobs => (Index is null ? [] : new[] { Index }).Concat([Manifest, Config]).Concat(Layers);
    public long TotalSize => Blobs.Sum(b => b.Size);
}

/// <summary>
/// Pulls images into the blob cache: resolves a tag through mirrors, picks the wanted platforms from
/// a list, and fetches config and layers in parallel. A blob shared by several images is fetched once.
/// </summary>
public sealed class ImagePuller(RegistryClient registry, BlobCache cache, IProgressSink progress, int parallelBlobs = 6)
{
    private readonly SemaphoreSlim _blobSlots = new(parallelBlobs);
    // Lazy: GetOrAdd may run a factory twice under contention; only the stored Lazy is ever started.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task>> _layers = new();

    /// <summary>
    /// Completes when a layer started by a pull is verified in the cache. Pulls return once manifests
    /// and configs are in, with layers still streaming, so a bundle can be written while they arrive.
    /// </summary>
    public Task LayerReady(string digest) => _layers.TryGetValue(digest, out var task) ? task.Value : Task.CompletedTask;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _downloaded = new();

    /// <summary>True when this puller downloaded the blob and checked its digest itself (not a cache hit).</summary>
    public bool DownloadedThisRun(string digest) => _downloaded.ContainsKey(digest);

    /// <summary>Every layer started so far; await it to observe failures of layers no bundle waited for.</summary>
    public Task AllLayers => Task.WhenAll(_layers.Values.Select(l => l.Value));

    public async Task<IReadOnlyList<PulledImage>> PullAsync(ImageRequest request, IReadOnlyList<Platform> platforms, CancellationToken ct)
    {
        var (source, top) = await ResolveAsync(request, ct).ConfigureAwait(false);
        var result = new List<PulledImage>();
        foreach (var platform in platforms)
        {
            result.Add(await PullPlatformAsync(request.Canonical, source, top, platform, ct).ConfigureAwait(false));
        }
        return result;
    }

    private async Task<(ImageReference Source, ManifestResponse Manifest)> ResolveAsync(ImageRequest request, CancellationToken ct)
    {
        var tried = new List<string>();
        foreach (var source in request.Sources)
        {
            try
            {
                var manifest = await registry.GetManifestAsync(source, ct).ConfigureAwait(false);
                if (tried.Count > 0) progress.Warn($"{request.Canonical}: using {source} after {string.Join("; ", tried)}");
                return (source, manifest);
            }
            catch (AirgapException e)
            {
                if (request.Sources.Count == 1) throw new AirgapException($"image {request.Canonical}: {e.Message}", e);
                tried.Add($"{source} ({(e is RegistryException { Brief.Length: > 0 } r ? r.Brief : e.Message)})");
            }
        }
        throw new AirgapException($"image {request.Canonical} could not be pulled from any source; tried {string.Join("; ", tried)}");
    }

    private async Task<PulledImage> PullPlatformAsync(ImageReference canonical, ImageReference source, ManifestResponse top, Platform platform, CancellationToken ct)
    {
        Descriptor? indexDescriptor = null;
        var manifestResponse = top;
        if (MediaTypes.IsIndex(top.MediaType))
        {
            var index = ManifestJson.Read<ImageIndex>(top.Content, $"manifest list of {source}");
            var entry = index.Manifests.FirstOrDefault(m => m.Platform is not null && m.Platform.Matches(platform) && MediaTypes.IsManifest(m.MediaType))
                ?? throw new AirgapException(
                    $"image {source} has no {platform} variant (it has {string.Join(", ", index.Manifests.Select(m => m.Platform?.ToString() ?? "unknown"))}); pick another --arch or another image");
            indexDescriptor = new Descriptor(top.MediaType, top.Digest.ToString(), top.Content.Length);
            await cache.PutAsync(top.Digest, top.Content, ct).ConfigureAwait(false);
            manifestResponse = await registry.GetManifestAsync(source with { Tag = null, Digest = entry.ParsedDigest }, ct).ConfigureAwait(false);
            if (manifestResponse.Content.Length != entry.Size)
                throw new AirgapException($"manifest {entry.Digest} of {source} is {manifestResponse.Content.Length} bytes, its list says {entry.Size}");
        }
        if (!MediaTypes.IsManifest(manifestResponse.MediaType))
            throw new AirgapException($"{source} is a {manifestResponse.MediaType}, not a container image airgap can bundle");

        var manifest = ManifestJson.Read<ImageManifest>(manifestResponse.Content, $"manifest of {source}");
        await cache.PutAsync(manifestResponse.Digest, manifestResponse.Content, ct).ConfigureAwait(false);

        await FetchBlobAsync(source, manifest.Config, $"pull {canonical.Repository} config", ct).ConfigureAwait(false);
        var config = ManifestJson.Read<ImageConfig>(await File.ReadAllBytesAsync(cache.PathOf(manifest.Config.ParsedDigest), ct).ConfigureAwait(false),
            $"config of {source}");
        // A single-platform tag says nothing about its platform except in its config: check it there.
        var actual = new Platform(config.Architecture ?? "unknown", config.Os ?? "unknown", config.Variant);
        if (!actual.Matches(platform))
            throw new AirgapException($"image {source} is built for {actual}, not {platform}: use a multi-arch tag or another --arch");

        for (var i = 0; i < manifest.Layers.Count; i++)
        {
            var layer = manifest.Layers[i];
            var label = $"pull {canonical.Repository} layer {i + 1}/{manifest.Layers.Count}";
            _ = _layers.GetOrAdd(layer.Digest, _ => new Lazy<Task>(() => Task.Run(() => FetchBlobAsync(source, layer, label, ct), ct))).Value;
        }

        var manifestDescriptor = new Descriptor(manifestResponse.MediaType, manifestResponse.Digest.ToString(), manifestResponse.Content.Length);
        return new PulledImage(canonical, source, platform, manifestDescriptor, manifest.Config, manifest.Layers, indexDescriptor);
    }

    private async Task FetchBlobAsync(ImageReference source, Descriptor blob, string label, CancellationToken ct)
    {
        var digest = blob.ParsedDigest;
        if (blob.Size < 0) throw new AirgapException($"{label} of {source} declares a negative size");
        await _blobSlots.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var started = false;
            var hit = await cache.EnsureAsync(digest, blob.Size, async (tmp, c) =>
            {
                started = true;
                progress.TransferStarted(digest.Hex, label, blob.Size);
                await registry.DownloadBlobAsync(source, digest, blob.Size, tmp, n => progress.TransferAdvanced(digest.Hex, n), c).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
            if (started) _downloaded[blob.Digest] = true;
            if (started || hit) progress.TransferFinished(digest.Hex, fromCache: hit);
        }
        finally
        {
            _blobSlots.Release();
        }
    }
}
