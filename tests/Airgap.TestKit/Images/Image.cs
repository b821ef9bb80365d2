namespace Airgap.TestKit;

/// <summary>A gzip'd tar layer: the stored blob plus the uncompressed digest that configs list as diff_id.</summary>
public sealed class Layer
{
    public Layer(ContentBlob compressed, string diffId, long uncompressedSize)
    {
        Compressed = compressed;
        DiffId = diffId;
        UncompressedSize = uncompressedSize;
    }

    public ContentBlob Compressed { get; }

    public string DiffId { get; }

    public long UncompressedSize { get; }

    public string Digest => Compressed.Digest;

    public long Size => Compressed.Size;
}

/// <summary>Process defaults written into the image config.</summary>
public sealed record ImageRunConfig
{
    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string>? Cmd { get; init; }

    public IReadOnlyList<string> Env { get; init; } = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];

    public string? WorkingDir { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>A single-platform image: config, layers and the manifest that ties them together.</summary>
public sealed class Image
{
    internal Image(Platform platform, ManifestFormat format, ContentBlob config, IReadOnlyList<Layer> layers, ContentBlob manifest)
    {
        Platform = platform;
        Format = format;
        Config = config;
        Layers = layers;
        Manifest = manifest;
    }

    public Platform Platform { get; }

    public ManifestFormat Format { get; }

    public ContentBlob Config { get; }

    public IReadOnlyList<Layer> Layers { get; }

    public ContentBlob Manifest { get; }

    public string MediaType => MediaTypes.Manifest(Format);

    public string Digest => Manifest.Digest;

    /// <summary>What a registry stores under /blobs/ for this image: config first, then layers.</summary>
    public IEnumerable<ContentBlob> Blobs => Layers.Select(l => l.Compressed).Prepend(Config);
}

/// <summary>A manifest list (Docker) or image index (OCI) over several platform images.</summary>
public sealed class ImageIndex
{
    internal ImageIndex(ManifestFormat format, IReadOnlyList<Image> images, ContentBlob manifest)
    {
        Format = format;
        Images = images;
        Manifest = manifest;
    }

    public ManifestFormat Format { get; }

    public IReadOnlyList<Image> Images { get; }

    public ContentBlob Manifest { get; }

    public string MediaType => MediaTypes.Index(Format);

    public string Digest => Manifest.Digest;
}
