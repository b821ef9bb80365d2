using System.Collections.Concurrent;

namespace Airgap.Oci;

/// <summary>
/// A registry as the end images go to (push). Before any byte moves, a blob is checked with HEAD and,
/// when this push already put it into another repository of the same registry, mounted from there:
/// a second push of the same bundle sends no blob at all.
/// </summary>
public sealed class RegistryImageSink(RegistryClient client) : IImageSink
{
    // Where each blob is known to be in this registry, for cross-repository mounts.
    private readonly ConcurrentDictionary<string, string> placed = new();

    public bool BlobsPerRepository => true;

    public async Task<bool> EnsureBlobWithoutUploadAsync(ImageReference repository, Descriptor blob, CancellationToken ct)
    {
        var digest = blob.ParsedDigest;
        if (await client.BlobExistsAsync(repository, digest, blob.Size, ct).ConfigureAwait(false))
        {
            placed.TryAdd(blob.Digest, repository.Repository);
            client.ForgetUpload(repository, digest);
            return true;
        }
        if (placed.TryGetValue(blob.Digest, out var from) && from != repository.Repository &&
            await client.MountBlobAsync(repository, digest, from, ct).ConfigureAwait(false))
        {
            client.ForgetUpload(repository, digest);
            return true;
        }
        return false;
    }

    public async Task PutBlobAsync(ImageReference repository, Descriptor blob, Func<long, CancellationToken, Task<Stream>> open, Action<long>? advanced, CancellationToken ct)
    {
        await client.UploadBlobAsync(repository, blob.ParsedDigest, blob.Size, open, advanced, ct).ConfigureAwait(false);
        placed.TryAdd(blob.Digest, repository.Repository);
    }

    public Task PutDocumentAsync(ImageReference reference, Descriptor document, byte[] content, CancellationToken ct) =>
        client.PutManifestAsync(reference, document.MediaType, content, ct);
}
