using System.Collections.Concurrent;
using Airgap.Artifacts;

namespace Airgap.Oci;

/// <summary>
/// The blob cache as the end a build pulls into: content-addressed, so repositories and tags do not
/// matter here, only digests. A blob continues the partial file an earlier (killed) run left: the cache
/// owns the per-digest partial, <see cref="ResumableDownload"/> hashes what is there, asks the source
/// for the rest, and checks the whole against the digest before the cache moves it into place.
/// </summary>
public sealed class CacheImageSink(BlobCache cache, DownloadPolicy policy) : IImageSink
{
    private readonly ConcurrentDictionary<string, bool> downloaded = new(StringComparer.Ordinal);

    public bool BlobsPerRepository => false;

    /// <summary>Blobs a build need not pull because the bundle will not carry them (a delta's base does).</summary>
    public Func<Descriptor, bool> HeldElsewhere { get; init; } = _ => false;

    /// <summary>Reads a blob <see cref="HeldElsewhere"/> that the cache lacks (a config the build checks), checked against its digest.</summary>
    public Func<Descriptor, CancellationToken, Task<Stream>>? ReadElsewhere { get; init; }

    /// <summary>True when this sink fetched the blob and checked its digest itself in this process (not a cache hit).</summary>
    public bool DownloadedThisRun(string digest) => downloaded.ContainsKey(digest);

    /// <summary>A blob the cache holds (verified when it was put there), for reading back what was copied.</summary>
    public Task<Stream> OpenAsync(Descriptor blob, CancellationToken ct)
    {
        var path = cache.PathOf(blob.ParsedDigest);
        if (!cache.Contains(blob.ParsedDigest, blob.Size) && ReadElsewhere is not null && HeldElsewhere(blob)) return ReadElsewhere(blob, ct);
        if (!cache.Contains(blob.ParsedDigest, blob.Size)) throw new AirgapException($"blob {blob.Digest} is not in the cache {cache.Root}");
        return Task.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous));
    }

    public Task<bool> EnsureBlobWithoutUploadAsync(ImageReference repository, Descriptor blob, CancellationToken ct) =>
        Task.FromResult(cache.Contains(blob.ParsedDigest, blob.Size) || HeldElsewhere(blob));

    public async Task PutBlobAsync(ImageReference repository, Descriptor blob, Func<long, CancellationToken, Task<Stream>> open, Action<long>? advanced, CancellationToken ct)
    {
        var digest = blob.ParsedDigest;
        if (blob.Size < 0) throw new AirgapException($"blob {digest} of {repository.Name} declares a negative size");
        var what = $"blob {digest} of {repository.Name}";
        var fetched = false;
        await cache.EnsureAsync(digest, blob.Size, async (partial, c) =>
        {
            fetched = true;
            if (SegmentedBlobDownload.Applies(partial, blob.Size))
            {
                await SegmentedBlobDownload.FetchAsync(open, partial, digest, blob.Size, policy, what,
                    (brief, message, inner) => new RegistryException($"{repository.Name}@{digest}", null, message, inner) { Brief = brief },
                    advanced, c).ConfigureAwait(false);
                return;
            }
            // A source's stream starts exactly where it was asked to (the source's contract), so the
            // body is always the asked-for range.
            await ResumableDownload.ToFileAsync(
                async (offset, c2) => new DownloadBody(await open(offset, c2).ConfigureAwait(false), offset > 0 ? offset : null, null),
                partial, digest, blob.Size, policy, what,
                (brief, message, inner) => new RegistryException($"{repository.Name}@{digest}", null, message, inner) { Brief = brief },
                started: null, advanced, c, resume: true).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        if (fetched) downloaded[blob.Digest] = true;
    }

    public async Task PutDocumentAsync(ImageReference reference, Descriptor document, byte[] content, CancellationToken ct)
    {
        var actual = Digest.Of(content);
        if (actual != document.ParsedDigest || content.Length != document.Size)
            throw new AirgapException($"{reference}: document {document.Digest} ({document.Size} bytes) arrived as {actual} ({content.Length} bytes); refusing it");
        await cache.PutAsync(actual, content, ct).ConfigureAwait(false);
    }
}
