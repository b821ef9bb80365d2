using System.Net;
using System.Net.Http.Headers;

namespace Airgap.Oci;

/// <summary>The distribution v2 push API: blob checks and mounts, monolithic and chunked uploads that resume, manifests.</summary>
public sealed partial class RegistryClient
{
    private const string PushActions = "pull,push";

    /// <summary>
    /// A blob found in place needs no remembered upload: a push killed after the registry closed the upload
    /// but before it forgot the session leaves one, and the next run finds the blob by HEAD.
    /// </summary>
    public void ForgetUpload(ImageReference repository, Digest digest) => _options.UploadSessions?.Forget(repository, digest);

    /// <summary>HEAD on the blob: true when the repository already has it (with the expected size).</summary>
    public async Task<bool> BlobExistsAsync(ImageReference repository, Digest digest, long size, CancellationToken ct)
    {
        var uri = ApiUri(repository, "blobs/" + digest);
        using var response = await SendAsync(repository, () => new HttpRequestMessage(HttpMethod.Head, uri),
            HttpCompletionOption.ResponseHeadersRead, ct, PushActions).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        await EnsureSuccessAsync(response, repository, $"blob {digest}", ct).ConfigureAwait(false);
        return response.Content.Headers.ContentLength is not { } length || length == size;
    }

    /// <summary>
    /// Asks the registry to link a blob it holds in <paramref name="fromRepository"/> into this one
    /// (no bytes move). False when it will not (not there, no access, mounts unsupported): upload then.
    /// </summary>
    public async Task<bool> MountBlobAsync(ImageReference repository, Digest digest, string fromRepository, CancellationToken ct)
    {
        var uri = ApiUri(repository, $"blobs/uploads/?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(fromRepository)}");
        using var response = await SendAsync(repository, () => new HttpRequestMessage(HttpMethod.Post, uri),
            HttpCompletionOption.ResponseHeadersRead, ct, PushActions, alsoPull: fromRepository).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Created) return true;
        if (response.StatusCode == HttpStatusCode.Accepted && response.Headers.Location is { } location)
        {
            // The registry opened a plain upload instead; close it rather than leave it to expire.
            using var cancel = await SendAsync(repository, () => new HttpRequestMessage(HttpMethod.Delete, Resolve(uri, location)),
                HttpCompletionOption.ResponseHeadersRead, ct, PushActions, maxAttempts: 1).ConfigureAwait(false);
        }
        return false;
    }

    /// <summary>
    /// Uploads a blob: one PUT up to <see cref="RegistryClientOptions.UploadChunkSize"/>, PATCH chunks
    /// above it. A chunked upload cut short asks the registry how much it has and continues from
    /// there — in this run, or, with <see cref="RegistryClientOptions.UploadSessions"/>, in the next
    /// one after a kill; the registry checks the digest when the upload is closed.
    /// </summary>
    public async Task UploadBlobAsync(ImageReference repository, Digest digest, long size,
        Func<long, CancellationToken, Task<Stream>> open, Action<long>? advanced, CancellationToken ct)
    {
        var chunk = Math.Max(1, _options.UploadChunkSize);
        var sessions = size > chunk ? _options.UploadSessions : null;
        for (var attempt = 1; ; attempt++)
        {
            var (location, offset) = attempt == 1 && sessions?.Find(repository, digest) is { } saved &&
                                     await UploadStatusAsync(repository, saved, ct).ConfigureAwait(false) is { } status
                ? status
                : (await StartUploadAsync(repository, ct).ConfigureAwait(false), 0L);
            try
            {
                if (size <= chunk)
                {
                    await CloseUploadAsync(repository, digest, location, new UploadContent(open, 0, size, advanced), ct).ConfigureAwait(false);
                    return;
                }
                sessions?.Save(repository, digest, location);
                await UploadChunksAsync(repository, digest, size, chunk, location, offset, open, advanced, sessions, ct).ConfigureAwait(false);
                sessions?.Forget(repository, digest);
                return;
            }
            catch (RegistryException e) when ((e.Transient || e.Status == HttpStatusCode.RequestedRangeNotSatisfiable) && attempt < _options.MaxAttempts)
            {
                sessions?.Forget(repository, digest);
                await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
            }
            catch (RegistryException e) when (e.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest && offset > 0 && attempt < _options.MaxAttempts)
            {
                // The remembered upload went away between the status and the next chunk (purged, or the
                // registry restarted without its upload state): send the blob again from the start.
                sessions?.Forget(repository, digest);
            }
        }
    }

    /// <summary>Where a remembered upload stands at the registry, or null when the registry no longer has it.</summary>
    private async Task<(Uri Location, long Offset)?> UploadStatusAsync(ImageReference repository, Uri location, CancellationToken ct)
    {
        try
        {
            using var status = await SendAsync(repository, () => new HttpRequestMessage(HttpMethod.Get, location),
                HttpCompletionOption.ResponseHeadersRead, ct, PushActions, maxAttempts: 1).ConfigureAwait(false);
            if (!status.IsSuccessStatusCode || ReceivedUpTo(status) is not { } offset) return null;
            return (status.Headers.Location is { } next ? Resolve(location, next) : location, offset);
        }
        catch (Exception e) when (e is RegistryException or HttpRequestException or IOException || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    private async Task UploadChunksAsync(ImageReference repository, Digest digest, long size, long chunk, Uri location, long offset,
        Func<long, CancellationToken, Task<Stream>> open, Action<long>? advanced, UploadSessions? sessions, CancellationToken ct)
    {
        var failures = 0;
        while (offset < size)
        {
            var length = Math.Min(chunk, size - offset);
            var start = offset;
            try
            {
                using var response = await SendAsync(repository, () =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new UploadContent(open, start, length, advanced) };
                    // distribution's form: "first-last", no unit.
                    request.Content.Headers.TryAddWithoutValidation("Content-Range", $"{start}-{start + length - 1}");
                    return request;
                }, HttpCompletionOption.ResponseHeadersRead, ct, PushActions, maxAttempts: 1).ConfigureAwait(false);
                await EnsureSuccessAsync(response, repository, $"upload of blob {digest}", ct).ConfigureAwait(false);
                location = response.Headers.Location is { } next ? Resolve(location, next) : location;
                offset = ReceivedUpTo(response) ?? start + length;
                sessions?.Save(repository, digest, location);
                failures = 0;
            }
            catch (Exception e) when (IsCut(e, ct) && ++failures < _options.MaxAttempts)
            {
                await Task.Delay(Backoff(failures), ct).ConfigureAwait(false);
                // Ask the registry how far it got, and continue from exactly there.
                using var status = await SendAsync(repository, () => new HttpRequestMessage(HttpMethod.Get, location),
                    HttpCompletionOption.ResponseHeadersRead, ct, PushActions).ConfigureAwait(false);
                await EnsureSuccessAsync(status, repository, $"upload of blob {digest}", ct).ConfigureAwait(false);
                location = status.Headers.Location is { } next ? Resolve(location, next) : location;
                offset = ReceivedUpTo(status) ?? 0;
            }
        }
        await CloseUploadAsync(repository, digest, location, null, ct).ConfigureAwait(false);
    }

    private static bool IsCut(Exception e, CancellationToken ct) =>
        e is HttpRequestException or IOException || (e is OperationCanceledException && !ct.IsCancellationRequested) || e is RegistryException { Transient: true };

    /// <summary>The offset after the last byte the registry holds, from its Range: 0-N header.</summary>
    private static long? ReceivedUpTo(HttpResponseMessage response) =>
        // Range is a request header to .NET: read it unvalidated, or it is silently not there.
        response.Headers.NonValidated.TryGetValues("Range", out var values) && values.FirstOrDefault() is { } range &&
        range.Split('-') is [_, var last] && long.TryParse(last, out var end)
            // distribution says "0-0" for an empty upload as well as for one byte: an empty one is by far the likelier.
            ? end == 0 ? 0 : end + 1
            : null;

    private async Task<Uri> StartUploadAsync(ImageReference repository, CancellationToken ct)
    {
        var uri = ApiUri(repository, "blobs/uploads/");
        using var response = await SendAsync(repository, () => new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent([]) },
            HttpCompletionOption.ResponseHeadersRead, ct, PushActions).ConfigureAwait(false);
        await EnsureSuccessAsync(response, repository, "upload", ct).ConfigureAwait(false);
        return response.Headers.Location is { } location ? Resolve(uri, location)
            : throw new RegistryException(repository.ApiHost, response.StatusCode, $"registry {repository.ApiHost} opened an upload without a Location") { Brief = "no upload location" };
    }

    private async Task CloseUploadAsync(ImageReference repository, Digest digest, Uri location, HttpContent? body, CancellationToken ct)
    {
        var separator = location.Query.Length > 0 ? "&" : "?";
        var uri = new Uri(location + separator + "digest=" + Uri.EscapeDataString(digest.ToString()));
        using var response = await SendAsync(repository, () => new HttpRequestMessage(HttpMethod.Put, uri) { Content = body ?? new ByteArrayContent([]) },
            HttpCompletionOption.ResponseHeadersRead, ct, PushActions, maxAttempts: 1).ConfigureAwait(false);
        await EnsureSuccessAsync(response, repository, $"upload of blob {digest}", ct).ConfigureAwait(false);
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var sent) && Digest.TryParse(sent.FirstOrDefault(), out var stored) && stored != digest)
            throw new RegistryException(repository.ApiHost, response.StatusCode,
                $"registry {repository.ApiHost} stored blob {digest} of {repository.Name} as {stored}; refusing a registry that changes content") { Brief = "digest mismatch" };
    }

    /// <summary>
    /// Stores a manifest or index byte for byte under a tag or its digest; refuses a registry that
    /// answers another digest than the bytes sent (one that rewrites manifests breaks every pinned reference).
    /// </summary>
    public async Task PutManifestAsync(ImageReference reference, string mediaType, byte[] content, CancellationToken ct)
    {
        var digest = Digest.Of(content);
        var uri = ApiUri(reference, "manifests/" + reference.ManifestReference);
        using var response = await SendAsync(reference, () =>
        {
            var body = new ByteArrayContent(content);
            body.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return new HttpRequestMessage(HttpMethod.Put, uri) { Content = body };
        }, HttpCompletionOption.ResponseHeadersRead, ct, PushActions).ConfigureAwait(false);
        await EnsureSuccessAsync(response, reference, "manifest", ct).ConfigureAwait(false);
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var sent) && Digest.TryParse(sent.FirstOrDefault(), out var stored) && stored != digest)
            throw new RegistryException(reference.ApiHost, response.StatusCode,
                $"registry {reference.ApiHost} answered digest {stored} for {reference}, but the manifest sent is {digest}: it rewrites manifests, so pinned references would break; use a registry that stores them as sent") { Brief = "digest mismatch" };
    }

    private static Uri Resolve(Uri request, Uri location) => location.IsAbsoluteUri ? location : new Uri(request, location);

    /// <summary>A blob's bytes from an offset, opened only when sent, so a retried request reads them again.</summary>
    private sealed class UploadContent(Func<long, CancellationToken, Task<Stream>> open, long start, long length, Action<long>? advanced) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await using var source = await open(start, cancellationToken).ConfigureAwait(false);
            var buffer = new byte[1 << 20];
            var left = length;
            while (left > 0)
            {
                var n = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                if (n == 0) throw new IOException($"the source ended {left} bytes early");
                await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                advanced?.Invoke(n);
                left -= n;
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length1)
        {
            length1 = length;
            return true;
        }
    }
}
