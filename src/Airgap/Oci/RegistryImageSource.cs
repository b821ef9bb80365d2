using System.Collections.Concurrent;

namespace Airgap.Oci;

/// <summary>
/// A registry as the end images come from (go-containerregistry's remote), mirror-aware: a name
/// resolves through its candidate sources in order (an <see cref="ImageRequest"/> names them; any
/// other name is its own only candidate), and everything the image refers to is then read from the
/// repository the name resolved in.
/// </summary>
/// <remarks>
/// The source contract addresses content by digest, a registry by repository and digest: the source
/// remembers, for each digest it has seen named (a resolved target, an index's manifests, a
/// manifest's config and layers), the repository that named it. Copiers read parents before
/// children, so every digest is known before it is asked for.
/// </remarks>
public sealed class RegistryImageSource(RegistryClient client, IProgressSink progress, IEnumerable<ImageRequest>? requests = null) : IImageSource
{
    private const int DocumentLimit = 4 * 1024 * 1024;

    private readonly Dictionary<string, IReadOnlyList<ImageReference>> candidates =
        (requests ?? []).ToDictionary(r => r.Canonical.ToString(), r => r.Sources, StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ImageReference> resolved = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ImageReference> located = new(StringComparer.Ordinal);
    // Targets as fetched by name: the copier asks for them again by digest right away, and that is not worth a second GET.
    private readonly ConcurrentDictionary<string, byte[]> fetched = new(StringComparer.Ordinal);

    /// <summary>The reference <paramref name="name"/> resolved to (a mirror's, when one answered), once it did.</summary>
    public ImageReference? SourceOf(ImageReference name) => resolved.GetValueOrDefault(name.ToString());

    public async Task<Descriptor?> ResolveAsync(ImageReference name, CancellationToken ct)
    {
        var sources = candidates.GetValueOrDefault(name.ToString()) ?? [name];
        var tried = new List<string>();
        foreach (var source in sources)
        {
            ManifestResponse manifest;
            try
            {
                manifest = await client.GetManifestAsync(source, ct).ConfigureAwait(false);
            }
            catch (AirgapException e)
            {
                if (sources.Count == 1) throw new AirgapException($"image {name}: {e.Message}", e);
                tried.Add($"{source} ({(e is RegistryException { Brief.Length: > 0 } r ? r.Brief : e.Message)})");
                continue;
            }
            if (tried.Count > 0) progress.Warn($"{name}: using {source} after {string.Join("; ", tried)}");
            var target = new Descriptor(manifest.MediaType, manifest.Digest.ToString(), manifest.Content.Length);
            resolved[name.ToString()] = source;
            Learn(source, target.Digest, manifest.MediaType, manifest.Content);
            fetched[target.Digest] = manifest.Content;
            return target;
        }
        throw new AirgapException($"image {name} could not be pulled from any source; tried {string.Join("; ", tried)}");
    }

    public async Task<byte[]> ReadDocumentAsync(Descriptor document, CancellationToken ct)
    {
        if (fetched.TryGetValue(document.Digest, out var known)) return known;
        var repository = RepositoryOf(document);
        var source = repository with { Tag = null, Digest = document.ParsedDigest };
        // GetManifestAsync checks the digest; the size is the referring document's word, checked here.
        var manifest = await client.GetManifestAsync(source, ct).ConfigureAwait(false);
        if (manifest.Content.Length != document.Size)
            throw new AirgapException($"manifest {document.Digest} of {repository} is {manifest.Content.Length} bytes, its list says {document.Size}");
        Learn(repository, document.Digest, document.MediaType, manifest.Content);
        return manifest.Content;
    }

    public async Task<bool> HasAsync(Descriptor content, CancellationToken ct) =>
        located.TryGetValue(content.Digest, out var repository) &&
        await client.HasAsync(repository, content.ParsedDigest, MediaTypes.IsIndex(content.MediaType) || MediaTypes.IsManifest(content.MediaType), ct).ConfigureAwait(false);

    /// <summary>
    /// One ranged GET. This source does not retry a cut or check the digest itself: the sink drives
    /// <see cref="Artifacts.ResumableDownload"/> (the one resumable, verified transfer loop) through this
    /// method, asking again from where it got to, and checks the whole; a registry sink checks it on upload.
    /// </summary>
    public async Task<Stream> OpenBlobAsync(Descriptor blob, long start, CancellationToken ct)
    {
        var repository = RepositoryOf(blob);
        var body = await client.OpenBlobAsync(repository, blob.ParsedDigest, start, ct).ConfigureAwait(false);
        try
        {
            if (start > 0 && body.RangeStart is { } from && from != start)
                throw new RegistryException($"{repository.Name}@{blob.Digest}", null,
                    $"blob {blob.Digest} from {repository.Name}: asked to resume at byte {start}, the server sent from {from}") { Brief = "bad range" };
            if (start > 0 && body.RangeStart is null)
            {
                // The registry (or the CDN behind it) ignored Range and sends the whole: the first bytes are
                // passed over here, which costs what starting over would, and the caller's partial stays good.
                var skip = new byte[64 * 1024];
                for (var left = start; left > 0;)
                {
                    var n = await body.Content.ReadAsync(skip.AsMemory(0, (int)Math.Min(skip.Length, left)), ct).ConfigureAwait(false);
                    if (n == 0) throw new IOException($"blob {blob.Digest} from {repository.Name} ended before byte {start}");
                    left -= n;
                }
            }
            // Disposing a response's content stream releases its connection; the response holds nothing else.
            return body.Content;
        }
        catch
        {
            await body.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private ImageReference RepositoryOf(Descriptor content) =>
        located.TryGetValue(content.Digest, out var repository) ? repository
            : throw new AirgapException($"{content.Digest} was not named by any image resolved through this registry source; this is a bug in airgap");

    /// <summary>Notes where the documents and blobs a document names are: the repository it came from.</summary>
    private void Learn(ImageReference source, string digest, string mediaType, byte[] content)
    {
        var repository = source with { Tag = null, Digest = null };
        located.TryAdd(digest, repository);
        if (content.Length > DocumentLimit) return;
        if (MediaTypes.IsIndex(mediaType))
        {
            foreach (var child in ManifestJson.Read<ImageIndex>(content, $"manifest list of {source}").Manifests) located.TryAdd(child.Digest, repository);
        }
        else if (MediaTypes.IsManifest(mediaType))
        {
            var manifest = ManifestJson.Read<ImageManifest>(content, $"manifest of {source}");
            foreach (var blob in manifest.Layers.Prepend(manifest.Config)) located.TryAdd(blob.Digest, repository);
        }
    }
}
