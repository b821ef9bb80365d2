namespace Airgap.Oci;

/// <summary>An image by the name a source offers it under, and what that name points at (an index or a manifest).</summary>
public sealed record NamedImage(ImageReference Name, Descriptor Target);

/// <summary>
/// Where images come from, as go-containerregistry's remote/layout/tarball sources: every end that
/// holds images (a bundle read in place, a registry) answers the same questions, so copying, pushing
/// and serving are compositions of ends rather than paths of their own. Documents handed out have the
/// digest they are asked for; blob bytes are checked against their digest before they land anywhere
/// (a bundle hashes a blob before handing it out, a registry's bytes are checked by the sink taking them).
/// </summary>
public interface IImageSource
{
    /// <summary>What <paramref name="name"/> points at (by tag or digest), or null (or an error saying why) when the source lacks it.</summary>
    Task<Descriptor?> ResolveAsync(ImageReference name, CancellationToken ct);

    /// <summary>A manifest or index, checked against its digest.</summary>
    Task<byte[]> ReadDocumentAsync(Descriptor document, CancellationToken ct);

    /// <summary>Whether the source holds this document or blob (a bundle holds its own platform of a multi-arch index only).</summary>
    Task<bool> HasAsync(Descriptor content, CancellationToken ct);

    /// <summary>A blob's bytes from exactly <paramref name="start"/>, so a taker that was cut continues where it is.</summary>
    Task<Stream> OpenBlobAsync(Descriptor blob, long start, CancellationToken ct);
}

/// <summary>Where images go: a registry (push) or the blob cache (build), with what it already has skipped.</summary>
public interface IImageSink
{
    /// <summary>Whether a blob must be placed in each repository (a registry) or once for all (a content-addressed store).</summary>
    bool BlobsPerRepository { get; }

    /// <summary>True when the blob is already at <paramref name="repository"/> (or was made so without sending it, by a mount).</summary>
    Task<bool> EnsureBlobWithoutUploadAsync(ImageReference repository, Descriptor blob, CancellationToken ct);

    /// <summary>Sends the blob's bytes; <paramref name="open"/> opens the source at an offset, so a cut transfer continues.</summary>
    Task PutBlobAsync(ImageReference repository, Descriptor blob, Func<long, CancellationToken, Task<Stream>> open, Action<long>? advanced, CancellationToken ct);

    /// <summary>Stores a manifest or index under <paramref name="reference"/> (a tag, or its digest), byte for byte.</summary>
    Task PutDocumentAsync(ImageReference reference, Descriptor document, byte[] content, CancellationToken ct);
}
