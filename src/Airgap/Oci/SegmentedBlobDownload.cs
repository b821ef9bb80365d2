using System.Security.Cryptography;
using Airgap.Artifacts;

namespace Airgap.Oci;

/// <summary>
/// A large blob fetched as a few byte ranges at once, each over its own connection. Mirrors far away
/// throttle each connection (4 MB/s behind the GFW is common) far below the link, so one connection per
/// blob leaves the largest layer setting the build's finish; ranges side by side fill the link.
/// </summary>
/// <remarks>
/// Segment 0 is the blob cache's own partial (HEX.partial); segment i &gt; 0 lands in HEX-i.partial beside
/// it, under the same lock. Each continues where a killed run left it. Once all are complete they are
/// appended to the partial in order and the whole is hashed against the digest, so nothing unverified
/// ever reaches the cache. A partial longer than segment 0 (an older sequential fetch, or a run killed
/// while appending) is continued sequentially instead, and stray segments are removed.
/// </remarks>
internal static class SegmentedBlobDownload
{
    /// <summary>Blobs at least this large are fetched in segments.</summary>
    public const long Threshold = 16L * 1024 * 1024;

    private const long MinSegment = 4L * 1024 * 1024;
    private const int MaxSegments = 8;

    /// <summary>How many segments a blob of <paramref name="size"/> bytes is fetched in: 1 below the threshold. Fixed by size, so a resumed run finds the same layout.</summary>
    public static int SegmentsFor(long size) => size < Threshold ? 1 : (int)Math.Clamp(size / MinSegment, 2, MaxSegments);

    /// <summary>The file of segment <paramref name="index"/> (1 and up) of the blob whose partial is <paramref name="partial"/>.</summary>
    public static string SegmentPath(string partial, int index) =>
        partial.EndsWith(".partial", StringComparison.Ordinal)
            ? $"{partial[..^".partial".Length]}-{index}.partial"
            : $"{partial}-{index}";

    /// <summary>True when the segmented fetch applies: a big blob whose partial holds no more than its first segment.</summary>
    public static bool Applies(string partial, long size)
    {
        var segments = SegmentsFor(size);
        if (segments == 1) return false;
        var have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (have <= Bounds(size, segments, 0).Length) return true;
        RemoveSegments(partial, segments);
        return false;
    }

    public static async Task FetchAsync(Func<long, CancellationToken, Task<Stream>> open, string partial, Digest digest, long size,
        DownloadPolicy policy, string what, Func<string, string, Exception?, Exception> fail, Action<long>? advanced, CancellationToken ct)
    {
        var segments = SegmentsFor(size);
        var paths = Enumerable.Range(0, segments).Select(i => i == 0 ? partial : SegmentPath(partial, i)).ToList();
        await Task.WhenAll(paths.Select((path, i) =>
            FetchRangeAsync(open, path, Bounds(size, segments, i), policy, what, fail, advanced, ct))).ConfigureAwait(false);

        // All there: one file in order, then the digest over all of it.
        await using (var whole = new FileStream(partial, FileMode.Append, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
        {
            foreach (var path in paths.Skip(1))
            {
                await using (var segment = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous))
                    await segment.CopyToAsync(whole, 1024 * 1024, ct).ConfigureAwait(false);
                await whole.FlushAsync(ct).ConfigureAwait(false);
                File.Delete(path);
            }
        }
        Digest actual;
        await using (var check = new FileStream(partial, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan))
            actual = Digest.FromHash(await SHA256.HashDataAsync(check, ct).ConfigureAwait(false));
        if (actual != digest)
        {
            File.Delete(partial);
            throw fail("digest mismatch",
                $"{what} has sha256 {actual.Hex}, expected {digest.Hex}: the mirror serves different content; refusing it (corrupt in transit, or changed at the source)", null);
        }
    }

    private readonly record struct Range(long Start, long Length);

    private static Range Bounds(long size, int segments, int index)
    {
        var length = (size + segments - 1) / segments;
        var start = Math.Min(size, index * length);
        return new Range(start, Math.Min(length, size - start));
    }

    /// <summary>One range into its own file, continued from what the file holds, cut transfers retried.</summary>
    private static async Task FetchRangeAsync(Func<long, CancellationToken, Task<Stream>> open, string path, Range range,
        DownloadPolicy policy, string what, Func<string, string, Exception?, Exception> fail, Action<long>? advanced, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        if (file.Length > range.Length) file.SetLength(0);
        var have = file.Length;
        file.Position = have;
        if (have > 0) advanced?.Invoke(have);
        var buffer = new byte[128 * 1024];
        var failures = 0;
        while (have < range.Length)
        {
            try
            {
                // The source's stream runs to the blob's end; it is closed once this range is in (the
                // connection then goes, which costs one new connection per segment, not per blob).
                await using var body = await open(range.Start + have, ct).ConfigureAwait(false);
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                while (have < range.Length)
                {
                    idle.CancelAfter(policy.IdleTimeout);
                    var n = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, range.Length - have)), idle.Token).ConfigureAwait(false);
                    if (n == 0) throw new IOException($"ended at byte {range.Start + have}");
                    await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                    have += n;
                    advanced?.Invoke(n);
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is IOException or HttpRequestException or OperationCanceledException)
            {
                if (++failures >= policy.MaxAttempts)
                    throw fail("transfer cut", $"{what} was cut {failures} times (last at byte {range.Start + have} of the range from {range.Start}): {e.Message}", e);
                await Task.Delay(policy.Backoff(failures), ct).ConfigureAwait(false);
            }
        }
    }

    private static void RemoveSegments(string partial, int segments)
    {
        for (var i = 1; i < segments; i++)
            try { File.Delete(SegmentPath(partial, i)); } catch (IOException) { }
    }
}
