using Airgap.Oci;

namespace Airgap.Artifacts;

public sealed record FetchedBinary(BinaryArtifact Artifact, string Sha256, long Size, string CachePath, Uri ChecksumSource);

/// <summary>
/// Fetches binaries into the cache, each checked against the checksum its publisher put beside it.
/// A file without a findable published checksum is refused: trusting whatever a mirror serves is
/// exactly what an offline bundle must not do.
/// </summary>
public sealed class BinaryFetcher(FileDownloader downloads, int parallel = 4)
{
    /// <summary>
    /// The size of a binary (by architecture and published sha256) the bundle will not carry because a delta's
    /// base does, or null: such a binary's checksum is read, the binary itself is not downloaded.
    /// </summary>
    public Func<string, string, long?> SizeHeldElsewhere { get; init; } = (_, _) => null;

    public async Task<IReadOnlyList<FetchedBinary>> FetchAsync(IReadOnlyList<BinaryArtifact> artifacts, CancellationToken ct)
    {
        using var slots = new SemaphoreSlim(parallel);
        return await Task.WhenAll(artifacts.Select(async a =>
        {
            await slots.WaitAsync(ct).ConfigureAwait(false);
            try { return await FetchOneAsync(a, ct).ConfigureAwait(false); }
            finally { slots.Release(); }
        })).ConfigureAwait(false);
    }

    private async Task<FetchedBinary> FetchOneAsync(BinaryArtifact artifact, CancellationToken ct)
    {
        string? sha = null;
        Uri? source = null;
        foreach (var candidate in artifact.ChecksumUrls)
        {
            var text = await downloads.TryGetTextAsync(candidate, ct).ConfigureAwait(false);
            if (text is null) continue;
            sha = ChecksumFile.FindSha256(text, artifact.FileName)
                ?? throw new AirgapException($"{candidate} has no sha256 for {artifact.FileName}; the mirror's checksum file does not match the release");
            source = candidate;
            break;
        }
        if (sha is null || source is null)
            throw new AirgapException(
                $"no published checksum for {artifact.Name} {artifact.Version} ({artifact.Url}); tried {string.Join(", ", artifact.ChecksumUrls.Select(u => u.Segments[^1]))}: check the version and the mirror URL");
        // No file behind it: the bundle lists it as its base's and never opens it.
        if (SizeHeldElsewhere(artifact.Arch, sha) is { } held)
            return new FetchedBinary(artifact, sha, held, Path.Combine(Path.GetTempPath(), "airgap-held-by-base", artifact.FileName), source);
        var path = await downloads.GetAsync(artifact.Url, Digest.FromHex(sha), $"download {artifact.FileName}", ct).ConfigureAwait(false);
        return new FetchedBinary(artifact, sha, new FileInfo(path).Length, path, source);
    }
}
