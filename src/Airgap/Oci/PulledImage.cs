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
