using System.Collections.Concurrent;
using System.Text;
using Airgap.Bundles;

namespace Airgap.Oci;

/// <summary>
/// A bundle as an image source, read in place: the tar is indexed by its headers, documents are read
/// and checked against their digests, and each blob is hashed once before its bytes are first handed
/// out, so a tampered blob is refused by name and never reaches a registry or a client.
/// </summary>
public sealed class BundleImageSource : IImageSource, IDisposable
{
    private const long DocumentLimit = 4 * 1024 * 1024;
    private const string BlobPrefix = "images/blobs/sha256/";

    private readonly BundleIndex tar;
    private readonly BundleIndex? baseTar;
    private readonly BundleLayout layout;
    private readonly Dictionary<string, Descriptor> targets;
    private readonly Dictionary<string, string> mediaTypes;
    private readonly ConcurrentDictionary<string, Lazy<Task>> verified = new();

    private BundleImageSource(BundleIndex tar, BundleIndex? baseTar, BundleLayout layout, IReadOnlyList<NamedImage> images, Dictionary<string, string> mediaTypes)
    {
        this.tar = tar;
        this.baseTar = baseTar;
        this.layout = layout;
        Document = layout.Document;
        Images = images;
        this.mediaTypes = mediaTypes;
        targets = images.ToDictionary(i => i.Name.ToString(), i => i.Target, StringComparer.Ordinal);
    }

    public BundleDocument Document { get; }

    /// <summary>Every image of the bundle under its canonical name, sorted.</summary>
    public IReadOnlyList<NamedImage> Images { get; }

    public string Path => tar.Path;

    /// <summary>A bundle, or a delta with its base: blobs the delta leaves to the base are read from the base in place.</summary>
    public static async Task<BundleImageSource> OpenAsync(BundleSet bundle, CancellationToken ct)
    {
        var bundlePath = bundle.Path;
        var tar = await BundleIndex.OpenAsync(bundlePath, ct).ConfigureAwait(false);
        BundleIndex? baseTar = null;
        try
        {
            var sumsMember = tar.Find(BundleDocument.SumsFileName)
                ?? throw new AirgapException($"{bundlePath} has no SHA256SUMS: it is not a complete airgap bundle, build it again");
            if (sumsMember.Size > DocumentLimit) throw new AirgapException($"{bundlePath}: SHA256SUMS is implausibly large; the bundle is damaged");
            var sumsBytes = new byte[sumsMember.Size];
            await using (var s = tar.Open(sumsMember)) await s.ReadExactlyAsync(sumsBytes, ct).ConfigureAwait(false);
            var sums = BundleReader.ParseSums(bundlePath, Encoding.UTF8.GetString(sumsBytes));

            async Task<byte[]> Read(BundleIndex from, string name, string? sha)
            {
                var member = from.Find(name) ?? throw new AirgapException($"{from.Path} has no {name}; the bundle is incomplete, copy it again");
                return await from.ReadCheckedAsync(member, sha ?? throw new AirgapException($"{bundlePath}: {name} is not covered by SHA256SUMS or bundle.yaml; the bundle was altered"),
                    DocumentLimit, ct).ConfigureAwait(false);
            }

            var document = BundleDocument.Parse(Encoding.UTF8.GetString(await Read(tar, BundleDocument.FileName, sums.GetValueOrDefault(BundleDocument.FileName)).ConfigureAwait(false)), bundlePath);
            if (bundle.BasePath is { } basePath)
            {
                if (document.Base is null) throw BundleDelta.BaseForFullBundle(bundlePath, document, basePath);
                baseTar = await BundleIndex.OpenAsync(basePath, ct).ConfigureAwait(false);
                var baseYaml = baseTar.Find(BundleDocument.FileName) ?? throw new AirgapException($"{basePath} has no bundle.yaml: it is not an airgap bundle");
                var bytes = new byte[Math.Min(baseYaml.Size, DocumentLimit)];
                await using (var s = baseTar.Open(baseYaml)) await s.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
                BundleDelta.CheckBase(bundlePath, document, basePath, bytes);
            }
            var layout = new BundleLayout(bundlePath, bundle.BasePath, document);
            if (document.Images.Count == 0) throw new AirgapException($"{bundlePath} holds no images (it was built with --no-images)");
            var indexAt = layout.Locate("images/index.json");
            var index = ManifestJson.Read<ImageIndex>(await Read(indexAt.InBase ? baseTar! : tar, indexAt.Member, layout.File("images/index.json")?.Sha256).ConfigureAwait(false),
                $"{bundlePath}: images/index.json");
            var images = new List<NamedImage>();
            var mediaTypes = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in index.Manifests)
            {
                if (entry.Annotations?.GetValueOrDefault(OciLayout.ContainerdNameAnnotation) is not { } name) continue;
                mediaTypes[entry.Digest] = entry.MediaType;
                // name@sha256:… entries are aliases for the runtime's digest lookups, not images of their own.
                if (ImageReference.Parse(name) is { Digest: null } reference) images.Add(new NamedImage(reference, entry));
            }
            var source = new BundleImageSource(tar, baseTar, layout, images.OrderBy(i => i.Name.ToString(), StringComparer.Ordinal).ToList(), mediaTypes);
            // The platform manifests an index names get their media types from it, as a registry would send them.
            foreach (var image in images.Where(i => MediaTypes.IsIndex(i.Target.MediaType)))
                foreach (var child in ManifestJson.Read<ImageIndex>(await source.ReadDocumentAsync(image.Target, ct).ConfigureAwait(false), $"index of {image.Name}").Manifests)
                    mediaTypes.TryAdd(child.Digest, child.MediaType);
            return source;
        }
        catch
        {
            tar.Dispose();
            baseTar?.Dispose();
            throw;
        }
    }

    public Task<Descriptor?> ResolveAsync(ImageReference name, CancellationToken ct)
    {
        if (name.Digest is { } digest)
        {
            var member = Member(digest);
            return Task.FromResult(member is null ? null : new Descriptor(MediaTypeOf(digest) ?? "", digest.ToString(), member.Size));
        }
        return Task.FromResult(targets.TryGetValue(name.ToString(), out var target) ? target : null);
    }

    /// <summary>The media type a document is known by (from images/index.json or its index), or null for a plain blob.</summary>
    public string? MediaTypeOf(Digest digest) => mediaTypes.GetValueOrDefault(digest.ToString());

    public async Task<byte[]> ReadDocumentAsync(Descriptor document, CancellationToken ct)
    {
        var blob = Member(document.ParsedDigest)
            ?? throw new AirgapException($"{tar.Path}: {document.Digest} is not in the bundle; the bundle is incomplete, copy it again");
        return await blob.Tar.ReadCheckedAsync(blob.Member, document.ParsedDigest.Hex, DocumentLimit, ct).ConfigureAwait(false);
    }

    public Task<bool> HasAsync(Descriptor content, CancellationToken ct) =>
        Task.FromResult(Member(content.ParsedDigest) is { } m && m.Size == content.Size);

    public async Task<Stream> OpenBlobAsync(Descriptor blob, long start, CancellationToken ct)
    {
        var digest = blob.ParsedDigest;
        var member = Member(digest) ?? throw new AirgapException($"{tar.Path}: blob {blob.Digest} is not in the bundle; the bundle is incomplete, copy it again");
        await VerifyAsync(digest, member, ct).ConfigureAwait(false);
        return Open(member, start, member.Size);
    }

    /// <summary>A blob's bytes in place, from <paramref name="start"/> up to <paramref name="end"/> (exclusive); check it with <see cref="VerifyAsync"/> first.</summary>
    public Stream Open(BundleBlob blob, long start, long end) => blob.Tar.Open(blob.Member, start, end);

    /// <summary>Where a digest's content lies (the bundle, or a delta's base), when the bundle has it.</summary>
    public BundleBlob? Member(Digest digest)
    {
        var at = layout.Locate(BlobPrefix + digest.Hex);
        var from = at.InBase ? baseTar! : tar;
        return from.Find(at.Member) is { } member ? new BundleBlob(from, member) : null;
    }

    /// <summary>Hashes a blob once per process; every later read of it is served straight from the tar.</summary>
    public Task VerifyAsync(Digest digest, BundleBlob blob, CancellationToken ct)
    {
        var check = verified.GetOrAdd(digest.Hex, _ => new Lazy<Task>(async () =>
        {
            if (!await blob.Tar.HasSha256Async(blob.Member, digest.Hex, CancellationToken.None).ConfigureAwait(false))
                throw new AirgapException($"{blob.Tar.Path}: blob {digest} is damaged (its bytes do not hash to its name); the bundle is corrupt, copy it again");
        }));
        return check.Value.WaitAsync(ct);
    }

    public void Dispose()
    {
        tar.Dispose();
        baseTar?.Dispose();
    }
}

/// <summary>A blob's member and the tar it lies in (a delta's or its base's).</summary>
public sealed record BundleBlob(BundleIndex Tar, BundleIndex.Member Member)
{
    public long Size => Member.Size;
}
