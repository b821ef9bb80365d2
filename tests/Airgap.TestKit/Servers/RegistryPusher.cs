using System.Net;
using System.Net.Http.Headers;

namespace Airgap.TestKit;

/// <summary>
/// Pushes blobs and manifests with plain distribution v2 HTTP calls, so the test images do not depend
/// on the code under test or on an external tool.
/// </summary>
public sealed class RegistryPusher : IDisposable
{
    private readonly HttpClient _client;

    /// <param name="host">"host:port", spoken to over plain HTTP.</param>
    /// <param name="credentials">Sent pre-emptively as HTTP basic (htpasswd registries).</param>
    /// <param name="handler">Used for every request (e.g. a <see cref="BearerAuthHandler"/>).</param>
    /// <param name="ownsHandler">Dispose <paramref name="handler"/> with the pusher.</param>
    public RegistryPusher(string host, RegistryCredentials? credentials = null, HttpMessageHandler? handler = null, bool ownsHandler = false)
    {
        _client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: ownsHandler);
        _client.BaseAddress = new Uri($"http://{host}/");
        // Large benchmark layers over loopback still take a while on a busy machine.
        _client.Timeout = TimeSpan.FromMinutes(10);
        if (credentials is not null)
        {
            _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", credentials.HeaderValue);
        }
        Host = host;
    }

    public string Host { get; }

    /// <summary>A pusher for a token-auth registry: follows its Bearer challenge and asks for pull,push with <paramref name="credentials"/>.</summary>
    public static RegistryPusher WithBearerAuth(string host, RegistryCredentials credentials)
        => new(host, null, new BearerAuthHandler(credentials, "pull,push"), ownsHandler: true);

    /// <summary>Uploads a blob unless the repository already has it. Returns true if bytes were sent.</summary>
    public Task<bool> PushBlobAsync(string repository, byte[] data, CancellationToken cancellationToken = default)
        => PushBlobAsync(repository, new MemoryStream(data, writable: false), Digests.Sha256(data), data.Length, cancellationToken);

    public Task<bool> PushBlobAsync(string repository, ContentBlob blob, CancellationToken cancellationToken = default)
        => PushBlobAsync(repository, new MemoryStream(blob.Data, writable: false), blob.Digest, blob.Size, cancellationToken);

    /// <summary>
    /// Uploads a blob from a stream whose digest the caller already knows (the registry verifies it).
    /// HEAD first so shared layers are sent once; then POST an upload session and finish it with one
    /// monolithic PUT ?digest=.
    /// </summary>
    public async Task<bool> PushBlobAsync(string repository, Stream content, string digest, long size, CancellationToken cancellationToken = default)
    {
        using (var head = new HttpRequestMessage(HttpMethod.Head, $"v2/{repository}/blobs/{digest}"))
        using (var headResponse = await _client.SendAsync(head, cancellationToken).ConfigureAwait(false))
        {
            if (headResponse.StatusCode == HttpStatusCode.OK)
            {
                return false;
            }
            if (headResponse.StatusCode != HttpStatusCode.NotFound)
            {
                throw await Failure("HEAD blob", repository, headResponse, cancellationToken).ConfigureAwait(false);
            }
        }

        Uri location;
        using (var post = new HttpRequestMessage(HttpMethod.Post, $"v2/{repository}/blobs/uploads/"))
        using (var postResponse = await _client.SendAsync(post, cancellationToken).ConfigureAwait(false))
        {
            if (postResponse.StatusCode != HttpStatusCode.Accepted || postResponse.Headers.Location is null)
            {
                throw await Failure("POST upload", repository, postResponse, cancellationToken).ConfigureAwait(false);
            }
            // Location may be absolute or relative; it already carries the session state query.
            location = postResponse.Headers.Location.IsAbsoluteUri
                ? postResponse.Headers.Location
                : new Uri(_client.BaseAddress!, postResponse.Headers.Location);
        }

        var separator = string.IsNullOrEmpty(location.Query) ? "?" : "&";
        var putUri = new Uri(location + separator + "digest=" + Uri.EscapeDataString(digest));
        using var put = new HttpRequestMessage(HttpMethod.Put, putUri) { Content = new StreamContent(content) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        put.Content.Headers.ContentLength = size;
        using var putResponse = await _client.SendAsync(put, cancellationToken).ConfigureAwait(false);
        if (putResponse.StatusCode != HttpStatusCode.Created)
        {
            throw await Failure("PUT blob", repository, putResponse, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>PUTs a manifest (by tag or digest) and returns the digest the registry computed.</summary>
    public async Task<string> PushManifestAsync(string repository, string reference, byte[] body, string mediaType,
        CancellationToken cancellationToken = default)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, $"v2/{repository}/manifests/{reference}")
        {
            Content = new ByteArrayContent(body),
        };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = await _client.SendAsync(put, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw await Failure($"PUT manifest {reference}", repository, response, cancellationToken).ConfigureAwait(false);
        }
        var digest = response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() : null;
        return digest ?? Digests.Sha256(body);
    }

    /// <summary>Pushes an image's config and layers, then its manifest under <paramref name="reference"/> (tag or digest).</summary>
    public async Task<string> PushImageAsync(string repository, string reference, Image image, CancellationToken cancellationToken = default)
    {
        foreach (var blob in image.Blobs)
        {
            await PushBlobAsync(repository, blob, cancellationToken).ConfigureAwait(false);
        }
        return await PushManifestAsync(repository, reference, image.Manifest.Data, image.MediaType, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pushes every platform image by digest (the registry wants them before the list), then the list by tag.</summary>
    public async Task<string> PushIndexAsync(string repository, string tag, ImageIndex index, CancellationToken cancellationToken = default)
    {
        foreach (var image in index.Images)
        {
            await PushImageAsync(repository, image.Digest, image, cancellationToken).ConfigureAwait(false);
        }
        return await PushManifestAsync(repository, tag, index.Manifest.Data, index.MediaType, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _client.Dispose();

    private static async Task<Exception> Failure(string what, string repository, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return new HttpRequestException(
            $"{what} in {repository} failed: {(int)response.StatusCode} {response.ReasonPhrase}: {body}", null, response.StatusCode);
    }
}
