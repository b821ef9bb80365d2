using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Airgap.Oci;

namespace Airgap.Artifacts;

/// <summary>
/// Downloads plain files (manifests, binaries) into the blob cache, checked against a sha256 known
/// before the download starts. Cut transfers resume with Range; transient failures are retried.
/// </summary>
public sealed class FileDownloader(BlobCache cache, IProgressSink progress, HttpMessageHandler? handler = null) : IDisposable
{
    private readonly HttpClient _http = new(handler ?? new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(15) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
        DefaultRequestHeaders = { { "User-Agent", "airgap" } },
    };

    public int MaxAttempts { get; init; } = 4;

    /// <summary>A transfer that delivers no byte for this long is treated as cut and resumed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public void Dispose() => _http.Dispose();

    /// <summary>Returns the cache path of the verified file.</summary>
    public async Task<string> GetAsync(Uri uri, Digest sha256, string label, CancellationToken ct)
    {
        if (File.Exists(cache.PathOf(sha256))) return cache.PathOf(sha256);
        await DownloadToCacheAsync(uri, sha256, label, ct).ConfigureAwait(false);
        return cache.PathOf(sha256);
    }

    /// <summary>Fetches a small text file whose checksum is not known in advance (checksum files themselves).</summary>
    public async Task<string> GetTextAsync(Uri uri, CancellationToken ct, int maxBytes = 1 << 20) =>
        await TryGetTextAsync(uri, ct, maxBytes).ConfigureAwait(false)
        ?? throw new AirgapException($"{uri} not found (HTTP 404): check the URL or the mirror flag that produced it");

    /// <summary>Like <see cref="GetTextAsync"/>, but null when the server answers 404 (for trying several names).</summary>
    public async Task<string?> TryGetTextAsync(Uri uri, CancellationToken ct, int maxBytes = 1 << 20) =>
        await TryGetBytesAsync(uri, ct, maxBytes).ConfigureAwait(false) is { } bytes ? Text(bytes) : null;

    /// <summary>UTF-8 without a byte-order mark: parsers want the text, signatures want the bytes.</summary>
    public static string Text(byte[] bytes) => System.Text.Encoding.UTF8.GetString(bytes).TrimStart('\uFEFF');

    /// <summary>
    /// The exact bytes of a small file (signed metadata is verified over bytes, never over decoded
    /// text), or null when the server answers 404. At most <paramref name="maxBytes"/> are read.
    /// </summary>
    public async Task<byte[]?> TryGetBytesAsync(Uri uri, CancellationToken ct, int maxBytes = 1 << 20)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (IsRetryable(response.StatusCode) && attempt < MaxAttempts) { await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false); continue; }
                if (response.StatusCode == HttpStatusCode.NotFound) return null;
                Ensure(response, uri);
                return await ResumableDownload.ReadBoundedAsync(response, maxBytes, ct).ConfigureAwait(false)
                    ?? throw new AirgapException($"{uri} is larger than {maxBytes} bytes; it is not the small file expected");
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                // A connect timeout arrives as a cancellation that is not ours.
                if (attempt >= MaxAttempts) throw new AirgapException($"cannot download {uri}: {(e is OperationCanceledException ? "connection timed out" : e.Message)}", e);
                await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task DownloadToCacheAsync(Uri uri, Digest sha256, string label, CancellationToken ct)
    {
        // The cache wants the size up front; plain files announce theirs only in the response, so the
        // download goes to a private temporary file first and is handed to the cache once verified.
        var tmp = Path.Combine(cache.Root, "tmp", $"{sha256.Hex}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        try
        {
            var length = await DownloadAsync(uri, sha256, label, tmp, ct).ConfigureAwait(false);
            await cache.EnsureAsync(sha256, length, (t, c) => { File.Move(tmp, t, overwrite: true); return Task.CompletedTask; }, ct).ConfigureAwait(false);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    private async Task<long> DownloadAsync(Uri uri, Digest sha256, string label, string destination, CancellationToken ct)
    {
        var length = await ResumableDownload.ToFileAsync(async (offset, c) => await DownloadBody.FromResponseAsync(await OpenAsync(uri, offset, c).ConfigureAwait(false), offset, c).ConfigureAwait(false),
            destination, sha256, size: null,
            new DownloadPolicy(MaxAttempts, IdleTimeout, Backoff), uri.ToString(),
            (_, message, inner) => new AirgapException(message, inner ?? new Exception(message)),
            started: total => progress.TransferStarted(sha256.Hex, label, total ?? 0),
            progress: n => progress.TransferAdvanced(sha256.Hex, n), ct).ConfigureAwait(false);
        progress.TransferFinished(sha256.Hex, fromCache: false);
        return length;
    }

    /// <summary>The GET for a (resumed) download: connection failures and 408/429/5xx are retried here.</summary>
    private async Task<HttpResponseMessage> OpenAsync(Uri uri, long offset, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            HttpResponseMessage? response = null;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (IsRetryable(response.StatusCode) && attempt < MaxAttempts)
                {
                    response.Dispose();
                    await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
                    continue;
                }
                Ensure(response, uri);
                return response;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                response?.Dispose();
                if (attempt >= MaxAttempts)
                    throw new AirgapException($"cannot download {uri}: {(e is OperationCanceledException ? "connection timed out" : e.Message)}", e);
                await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
            }
            catch
            {
                response?.Dispose();
                throw;
            }
        }
    }

    private static void Ensure(HttpResponseMessage response, Uri uri)
    {
        if (response.IsSuccessStatusCode) return;
        throw new AirgapException(response.StatusCode == HttpStatusCode.NotFound
            ? $"{uri} not found (HTTP 404): check the URL or the mirror flag that produced it"
            : $"{uri} answered HTTP {(int)response.StatusCode}");
    }

    private static bool IsRetryable(HttpStatusCode s) => s is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)s >= 500;

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(Math.Min(10_000, 400 * Math.Pow(2, attempt - 1)));
}
