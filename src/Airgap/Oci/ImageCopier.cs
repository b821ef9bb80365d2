using System.Collections.Concurrent;

namespace Airgap.Oci;

/// <summary>
/// One image to copy: from its name at the source to its name at the sink (tags kept). With
/// <see cref="Platforms"/>, only those platforms' manifests of an index are copied (each must be
/// there) and every copied manifest's config must say it is for its platform; without, every platform
/// the source holds.
/// </summary>
public sealed record ImageCopy(ImageReference From, ImageReference To, IReadOnlyList<Platform>? Platforms = null);

/// <summary>One image as copied: the digest its tag points at in the sink (the index's, unless the sink refused it).</summary>
public sealed record CopiedImage(ImageReference From, ImageReference To, string Digest);

/// <summary>What a copy moved: blobs sent, blobs the sink had or mounted, and bytes sent.</summary>
public sealed record CopyReport(IReadOnlyList<CopiedImage> Images, int BlobsSent, int BlobsSkipped, long BytesSent);

/// <summary>One platform's manifest of an image as the source holds it; <see cref="Platform"/> is the one asked for, if any.</summary>
public sealed record ResolvedManifest(Platform? Platform, Descriptor Descriptor, byte[] Content, ImageManifest Parsed);

/// <summary>An image as resolved at the source: what its name points at, byte for byte, and the manifests to copy.</summary>
public sealed record ResolvedImage(ImageCopy Copy, Descriptor Target, byte[] Content, IReadOnlyList<ResolvedManifest> Manifests)
{
    public Descriptor? Index => MediaTypes.IsIndex(Target.MediaType) ? Target : null;
}

/// <summary>A copy under way: every image resolved (documents read, configs in the sink), the rest still moving.</summary>
public sealed record StartedCopy(IReadOnlyList<ResolvedImage> Images, Task<CopyReport> Rest);

/// <summary>
/// Copies images from any <see cref="IImageSource"/> to any <see cref="IImageSink"/>, children before
/// parents (blobs, then manifests, then the index, then the tag), so a reader of the sink never sees
/// a manifest whose blobs are missing. Documents travel byte for byte: digests are the source's.
/// Blobs go in parallel; one blob shared by several images is sent once (per repository, where the
/// sink keeps repositories apart).
/// </summary>
public sealed class ImageCopier(IImageSource source, IImageSink sink, IProgressSink progress, int parallelBlobs = 4)
{
    private readonly SemaphoreSlim slots = new(parallelBlobs);
    private readonly ConcurrentDictionary<(string Scope, string Digest), Lazy<Task<bool>>> blobs = new();
    // Manifests and indexes by digest: true once in the sink, false for an index the sink refused.
    private readonly ConcurrentDictionary<(string Scope, string Digest), Lazy<Task<bool>>> documents = new();
    private long bytesSent;

    /// <summary>The word each transfer's progress line starts with ("pull", "push").</summary>
    public string Verb { get; init; } = "copy";

    /// <summary>
    /// Reads a blob back from the sink, when the sink can (the blob cache is both ends). Config checks read
    /// there, so a second build from a warm cache asks the source for nothing; without it they read the source.
    /// </summary>
    public Func<Descriptor, CancellationToken, Task<Stream>>? ReadBack { get; init; }

    /// <summary>Called as each image is in the sink under its name.</summary>
    public Action<CopiedImage>? Copied { get; init; }

    public async Task<CopyReport> CopyAsync(IReadOnlyList<ImageCopy> images, CancellationToken ct)
    {
        // A few images at a time keeps every blob slot busy without resolving the whole list up front.
        using var imageSlots = new SemaphoreSlim(Math.Max(1, parallelBlobs / 2));
        var copied = await Task.WhenAll(images.Select(async image =>
        {
            await imageSlots.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                return await TransferAsync(await ResolveAsync(image, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            }
            finally
            {
                imageSlots.Release();
            }
        })).ConfigureAwait(false);
        return Report(copied);
    }

    /// <summary>
    /// Resolves every image at once — documents read, platforms chosen, configs in the sink and checked —
    /// and leaves the layers moving, so a bundle can be written from the sink while they land
    /// (<see cref="Landed"/>). Await <see cref="StartedCopy.Rest"/> to see failures nobody waited for.
    /// </summary>
    public async Task<StartedCopy> StartAsync(IReadOnlyList<ImageCopy> images, CancellationToken ct)
    {
        var resolved = await Task.WhenAll(images.Select(image => ResolveAsync(image, ct))).ConfigureAwait(false);
        // Biggest layers of all images first: on a link capped per connection the largest blob sets the
        // finish, so it must not start last behind a queue of small ones (slots are handed out in order).
        foreach (var (repository, layer, label) in resolved
                     .SelectMany(image => image.Manifests.SelectMany(m => m.Parsed.Layers.Select((layer, i) =>
                         (Repository: image.Copy.To with { Tag = null, Digest = null }, Layer: layer,
                          Label: $"{Verb} {image.Copy.To.Repository} layer {i + 1}/{m.Parsed.Layers.Count}"))))
                     .OrderByDescending(x => x.Layer.Size))
            _ = CopyBlobAsync(repository, layer, label, ct);
        // Every transfer registers its blobs and documents before its first await, so Landed knows them all on return.
        var transfers = resolved.Select(image => TransferAsync(image, ct)).ToList();
        return new StartedCopy(resolved, RestAsync());

        async Task<CopyReport> RestAsync() => Report(await Task.WhenAll(transfers).ConfigureAwait(false));
    }

    /// <summary>Completes when a blob or document of a started copy is in the sink at <paramref name="repository"/>.</summary>
    public Task Landed(ImageReference repository, Descriptor content)
    {
        var key = Key(repository, content.Digest);
        if (blobs.TryGetValue(key, out var blob)) return blob.Value;
        if (documents.TryGetValue(key, out var document)) return document.Value;
        throw new AirgapException($"{content.Digest} is not part of any image this copy started; this is a bug in airgap");
    }

    private CopyReport Report(IReadOnlyList<CopiedImage> copied)
    {
        var sent = blobs.Values.Count(b => b.Value.IsCompletedSuccessfully && b.Value.Result);
        return new CopyReport(copied, sent, blobs.Count - sent, Interlocked.Read(ref bytesSent));
    }

    private (string, string) Key(ImageReference repository, string digest) => (sink.BlobsPerRepository ? repository.Name : "", digest);

    private async Task<ResolvedImage> ResolveAsync(ImageCopy image, CancellationToken ct)
    {
        var target = await source.ResolveAsync(image.From, ct).ConfigureAwait(false)
            ?? throw new AirgapException($"image {image.From} is not in the source");
        var content = await source.ReadDocumentAsync(target, ct).ConfigureAwait(false);
        var chosen = MediaTypes.IsIndex(target.MediaType)
            ? await ChooseAsync(image, ManifestJson.Read<ImageIndex>(content, $"manifest list of {image.From}"), ct).ConfigureAwait(false)
            : image.Platforms is { } platforms ? platforms.Select(p => ((Platform?)p, target)).ToList() : [(null, target)];
        var manifests = new List<ResolvedManifest>();
        foreach (var (platform, descriptor) in chosen)
        {
            if (!MediaTypes.IsManifest(descriptor.MediaType))
                throw new AirgapException($"image {image.From}: {descriptor.Digest} is a {descriptor.MediaType}, not a container image airgap can bundle");
            var bytes = manifests.FirstOrDefault(m => m.Descriptor.Digest == descriptor.Digest)?.Content
                ?? (descriptor == target ? content : await source.ReadDocumentAsync(descriptor, ct).ConfigureAwait(false));
            manifests.Add(new ResolvedManifest(platform, descriptor, bytes, ManifestJson.Read<ImageManifest>(bytes, $"manifest of {image.From}")));
        }
        if (image.Platforms is not null) await CheckConfigsAsync(image, manifests, ct).ConfigureAwait(false);
        return new ResolvedImage(image, target, content, manifests);
    }

    /// <summary>The manifests of an index to copy: the platforms asked for, or every one the source holds.</summary>
    private async Task<List<(Platform?, Descriptor)>> ChooseAsync(ImageCopy image, ImageIndex index, CancellationToken ct)
    {
        if (image.Platforms is { } wanted)
            return wanted.Select(platform => ((Platform?)platform, index.Manifests.FirstOrDefault(m => m.Platform is not null && m.Platform.Matches(platform) && MediaTypes.IsManifest(m.MediaType))
                ?? throw new AirgapException(
                    $"image {image.From} has no {platform} variant (it has {string.Join(", ", index.Manifests.Select(m => m.Platform?.ToString() ?? "unknown"))}); pick another --arch or another image"))).ToList();
        var present = new List<(Platform?, Descriptor)>();
        foreach (var child in index.Manifests)
            if (await source.HasAsync(child, ct).ConfigureAwait(false)) present.Add((child.Platform, child));
        if (present.Count == 0) throw new AirgapException($"image {image.From}: none of the platforms its index names is in the source");
        return present;
    }

    /// <summary>
    /// Each config into the sink first, then read back and checked: a single-platform tag says nothing about
    /// its platform except in its config, and an index's word for a platform is checked against it too.
    /// </summary>
    private async Task CheckConfigsAsync(ImageCopy image, IReadOnlyList<ResolvedManifest> manifests, CancellationToken ct)
    {
        var repository = image.To with { Tag = null, Digest = null };
        foreach (var manifest in manifests)
        {
            var config = manifest.Parsed.Config;
            await CopyBlobAsync(repository, config, $"{Verb} {image.To.Repository} config", ct).ConfigureAwait(false);
            await using var stream = ReadBack is null
                ? await source.OpenBlobAsync(config, 0, ct).ConfigureAwait(false)
                : await ReadBack(config, ct).ConfigureAwait(false);
            var bytes = new byte[config.Size];
            await stream.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
            var parsed = ManifestJson.Read<ImageConfig>(bytes, $"config of {image.From}");
            var actual = new Platform(parsed.Architecture ?? "unknown", parsed.Os ?? "unknown", parsed.Variant);
            if (manifest.Platform is { } wanted && !actual.Matches(wanted))
                throw new AirgapException($"image {image.From} is built for {actual}, not {wanted}: use a multi-arch tag or another --arch");
        }
    }

    private async Task<CopiedImage> TransferAsync(ResolvedImage image, CancellationToken ct)
    {
        var to = image.Copy.To;
        var repository = to with { Tag = null, Digest = null };
        var manifests = image.Manifests.DistinctBy(m => m.Descriptor.Digest)
            .Select(m => PutOnceAsync(repository, m.Descriptor, () => CopyManifestAsync(image.Copy, repository, m, ct))).ToList();
        var index = image.Index is { } descriptor
            ? PutOnceAsync(repository, descriptor, async () =>
            {
                await Task.WhenAll(manifests).ConfigureAwait(false);
                return await PutIndexAsync(image, repository, ct).ConfigureAwait(false);
            })
            : null;
        await Task.WhenAll(manifests).ConfigureAwait(false);
        var (target, content) = (image.Target, image.Content);
        // A refused index: the tag then names the first platform's manifest, still upstream's bytes and digest for it.
        if (index is not null && !await index.ConfigureAwait(false)) (target, content) = (image.Manifests[0].Descriptor, image.Manifests[0].Content);
        if (to.Tag is not null) await sink.PutDocumentAsync(to with { Digest = null }, target, content, ct).ConfigureAwait(false);
        var copied = new CopiedImage(image.Copy.From, to, target.Digest);
        Copied?.Invoke(copied);
        return copied;
    }

    private Task<bool> PutOnceAsync(ImageReference repository, Descriptor document, Func<Task<bool>> put) =>
        documents.GetOrAdd(Key(repository, document.Digest), _ => new Lazy<Task<bool>>(put)).Value;

    /// <summary>True when the sink took the index; false when it refused it for the platforms the copy leaves out.</summary>
    private async Task<bool> PutIndexAsync(ResolvedImage image, ImageReference repository, CancellationToken ct)
    {
        var index = image.Target;
        try
        {
            // Under its digest first, then the tag: a pinned reference works even where tags are immutable.
            await sink.PutDocumentAsync(repository with { Digest = index.ParsedDigest }, index, image.Content, ct).ConfigureAwait(false);
            return true;
        }
        catch (RegistryException e) when (e.Status == System.Net.HttpStatusCode.BadRequest &&
                                          ManifestJson.Read<ImageIndex>(image.Content, $"index of {image.Copy.From}").Manifests is var all &&
                                          image.Manifests.Count < all.Count)
        {
            // distribution (and Harbor on it) refuses an index whose other platforms' manifests it lacks.
            var first = image.Manifests[0].Descriptor;
            progress.Warn($"{image.Copy.To}: {image.Copy.To.Registry} refuses the {all.Count}-platform index without the platforms this bundle does not carry ({e.Brief}); " +
                          $"the tag points at the {first.Platform} manifest {first.Digest}, and references pinned to the index digest will not resolve there (airgap serve answers them)");
            return false;
        }
    }

    private async Task<bool> CopyManifestAsync(ImageCopy image, ImageReference repository, ResolvedManifest manifest, CancellationToken ct)
    {
        var layers = manifest.Parsed.Layers;
        var label = $"{Verb} {image.To.Repository}";
        await Task.WhenAll(layers.Select((layer, i) => CopyBlobAsync(repository, layer, $"{label} layer {i + 1}/{layers.Count}", ct))
            .Prepend(CopyBlobAsync(repository, manifest.Parsed.Config, $"{label} config", ct))).ConfigureAwait(false);
        await sink.PutDocumentAsync(repository with { Digest = manifest.Descriptor.ParsedDigest }, manifest.Descriptor, manifest.Content, ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>True when the blob was sent; false when the sink had it or mounted it.</summary>
    private Task<bool> CopyBlobAsync(ImageReference repository, Descriptor blob, string label, CancellationToken ct) =>
        // On the thread pool: a caller registering many blobs must not run their first steps (hashing a partial) itself.
        blobs.GetOrAdd(Key(repository, blob.Digest), _ => new Lazy<Task<bool>>(() => Task.Run(() => SendAsync(repository, blob, label, ct), ct))).Value;

    private async Task<bool> SendAsync(ImageReference repository, Descriptor blob, string label, CancellationToken ct)
    {
        await slots.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (await sink.EnsureBlobWithoutUploadAsync(repository, blob, ct).ConfigureAwait(false)) return false;
            var id = $"{repository.Name}@{blob.Digest}";
            progress.TransferStarted(id, label, blob.Size);
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
