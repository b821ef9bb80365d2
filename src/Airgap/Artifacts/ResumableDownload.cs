using System.Net;
using System.Security.Cryptography;
using Airgap.Oci;

namespace Airgap.Artifacts;

/// <summary>How hard a download tries before it gives up.</summary>
public sealed record DownloadPolicy(int MaxAttempts, TimeSpan IdleTimeout, Func<int, TimeSpan> Backoff);

/// <summary>
/// What one request of a download answered: the body, where in the whole it starts when the server
/// honoured the range asked for (null when it sent the whole from byte 0), and its length when told.
/// Any end can answer this way, an HTTP response or an image source's blob stream.
/// </summary>
public sealed class DownloadBody(Stream content, long? rangeStart, long? length, IDisposable? owner = null) : IAsyncDisposable
{
    public Stream Content => content;
    public long? RangeStart => rangeStart;
    public long? Length => length;

    /// <summary>The body of a successful response to a GET from <paramref name="offset"/>; disposing it disposes the response.</summary>
    public static async Task<DownloadBody> FromResponseAsync(HttpResponseMessage response, long offset, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        long? start = response.StatusCode == HttpStatusCode.PartialContent ? response.Content.Headers.ContentRange?.From ?? offset : null;
        return new DownloadBody(body, start, response.Content.Headers.ContentLength, response);
    }

    public async ValueTask DisposeAsync()
    {
        await content.DisposeAsync().ConfigureAwait(false);
        owner?.Dispose();
    }
}

/// <summary>
/// The one loop behind every download, blobs and plain files alike: stream to disk while hashing,
/// resume a cut transfer with Range (starting over when a server ignores it), treat a stall as a cut,
/// refuse more bytes than announced, and delete the file unless it has exactly the expected digest.
/// </summary>
public static class ResumableDownload
{
    /// <param name="open">Asks for the content from the given offset (a GET with Range when it is not 0, or a source's blob stream) and returns the body.</param>
    /// <param name="what">Names the download in messages ("blob sha256:… from google_containers/etcd", a URL).</param>
    /// <param name="fail">Makes the exception for a failure from a short reason and a full message.</param>
    /// <returns>The number of bytes written.</returns>
    /// <param name="resume">
    /// Continue a file an earlier, interrupted run left at <paramref name="destination"/> (its bytes are
    /// hashed first, so the digest still covers the whole), and keep what arrived when this run is cut
    /// or killed; only content proved wrong is deleted.
    /// </param>
    public static async Task<long> ToFileAsync(Func<long, CancellationToken, Task<DownloadBody>> open, string destination,
        Digest expected, long? size, DownloadPolicy policy, string what, Func<string, string, Exception?, Exception> fail,
        Action<long?>? started, Action<long>? progress, CancellationToken ct, bool resume = false)
    {
        var buffer = new byte[128 * 1024];
        var failures = 0;
        var announced = false;
        var wrong = false;
        Exception Wrong(string brief, string message)
        {
            wrong = true;
            return fail(brief, message, null);
        }
        try
        {
            await using var file = new FileStream(destination, resume ? FileMode.OpenOrCreate : FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long have = 0;
            if (resume && file.Length > 0)
            {
                // What an earlier run fetched is checked as part of the whole: hash it, then ask for the rest.
                int n;
                while ((n = await file.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    have += n;
                }
            }
            var kept = have;
            // Killed after the last byte but before the file was moved into place: nothing is left to ask for
            // (a Range past the end would only earn a 416); the digest check below decides.
            while (size is not { } whole || have < whole)
            {
                var resumeAt = have;
                await using var response = await open(resumeAt, ct).ConfigureAwait(false);
                if (resumeAt > 0 && response.RangeStart is null)
                {
                    // The server ignored Range: start over rather than append a second copy.
                    file.SetLength(0);
                    file.Position = 0;
                    hash.GetHashAndReset();
                    progress?.Invoke(-have);
                    have = 0;
                }
                else if (resumeAt > 0 && response.RangeStart is { } from && from != resumeAt)
                {
                    throw Wrong("bad range", $"{what}: asked to resume at byte {resumeAt}, the server sent from {from}");
                }
                if (!announced)
                {
                    announced = true;
                    started?.Invoke(size ?? response.Length);
                    if (have > 0) progress?.Invoke(have);
                }
                var total = size ?? (resumeAt == 0 ? response.Length : null);

                try
                {
                    var body = response.Content;
                    using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    while (true)
                    {
                        idle.CancelAfter(policy.IdleTimeout);
                        var n = await body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                        if (n == 0) break;
                        have += n;
                        if (size is { } limit && have > limit)
                            throw Wrong("too large", $"{what} is larger than the {limit} bytes announced for it; refusing it");
                        hash.AppendData(buffer, 0, n);
                        await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        progress?.Invoke(n);
                    }
                }
                catch (Exception e) when (!ct.IsCancellationRequested && e is IOException or HttpRequestException or OperationCanceledException)
                {
                    if (++failures >= policy.MaxAttempts)
                        throw fail("transfer cut", $"{what} was cut {failures} times (last at byte {have}{(size is null ? "" : $" of {size}")}): {e.Message}", e);
                    await Task.Delay(policy.Backoff(failures), ct).ConfigureAwait(false);
                    continue;
                }

                if (total is { } expectedLength && have < expectedLength)
                {
                    // The server closed cleanly before the end: treat like a cut and resume.
                    if (++failures >= policy.MaxAttempts)
                        throw fail("truncated", $"{what} ended at byte {have} of {expectedLength}, {failures} times", null);
                    continue;
                }
                break;
            }
            var actual = Digest.FromHash(hash.GetHashAndReset());
            if (actual != expected)
                throw Wrong("digest mismatch", kept > 0
                    ? $"{what} has sha256 {actual.Hex}, expected {expected.Hex} (continued from {kept} bytes an earlier run left; they are discarded, run again)"
                    : $"{what} has sha256 {actual.Hex}, expected {expected.Hex}: the mirror serves different content; refusing it (corrupt in transit, or changed at the source)");
            return have;
        }
        catch
        {
            // A resumable file keeps what arrived for the next run, unless its content was proved wrong.
            if (!resume || wrong)
                try { File.Delete(destination); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>
    /// A small body (manifest, checksum file, signed metadata) read whole, but never more than
    /// <paramref name="limit"/> bytes, with or without a Content-Length; null when it is larger.
    /// </summary>
    public static async Task<byte[]?> ReadBoundedAsync(HttpResponseMessage response, int limit, CancellationToken ct)
    {
        if (response.Content.Headers.ContentLength > limit) return null;
        await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var memory = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            memory.Write(buffer, 0, n);
            if (memory.Length > limit) return null;
        }
        return memory.ToArray();
    }
}
