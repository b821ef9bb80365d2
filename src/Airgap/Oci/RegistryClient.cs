using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;

namespace Airgap.Oci;

public sealed record RegistryClientOptions
{
    public RegistryCredentials Credentials { get; init; } = RegistryCredentials.None;

    /// <summary>Hosts spoken to over plain HTTP. Loopback always is; anything else must be named, never guessed.</summary>
    public IReadOnlySet<string> PlainHttpHosts { get; init; } = new HashSet<string>();

    public int MaxAttempts { get; init; } = 4;

    /// <summary>Blobs up to this size go in one PUT; bigger ones in PATCH chunks of this size, each a point to resume from.</summary>
    public long UploadChunkSize { get; init; } = 32L * 1024 * 1024;

    /// <summary>Where chunked uploads are remembered so a killed push continues them; null keeps them in this run only.</summary>
    public UploadSessions? UploadSessions { get; init; }

    /// <summary>Certificate authorities to trust for HTTPS registries, besides the system's (a site's private CA).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2Collection? CaCertificates { get; init; }
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(400);
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>A transfer that delivers no byte for this long is treated as cut and resumed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public string UserAgent { get; init; } = "airgap";
}

public sealed record ManifestResponse(byte[] Content, string MediaType, Digest Digest);

/// <summary>
/// A client for the distribution v2 API: manifests and blobs, anonymous/bearer/basic auth, retries
/// with backoff, ranged blob reads, and (RegistryClient.Push.cs) uploads.
/// </summary>
public sealed partial class RegistryClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly RegistryClientOptions _options;
    // Tokens are scoped per repository; a build touches a few dozen, so a plain cache is enough.
    private readonly Dictionary<string, AuthenticationHeaderValue> _auth = new();
    private readonly Lock _authLock = new();

    public RegistryClient(RegistryClientOptions? options = null, HttpMessageHandler? handler = null)
    {
        _options = options ?? new RegistryClientOptions();
        handler ??= new SocketsHttpHandler
        {
            AllowAutoRedirect = true, // blobs are often redirected to object storage; .NET drops Authorization on redirect
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(15),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = 16,
            SslOptions = _options.CaCertificates is { Count: > 0 } cas ? new System.Net.Security.SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => TrustedBy(cas, certificate, chain, errors),
            } : new System.Net.Security.SslClientAuthenticationOptions(),
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(_options.UserAgent);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>A certificate the system trusts, or one that chains to the site's own CA (with the name checks intact).</summary>
    private static bool TrustedBy(System.Security.Cryptography.X509Certificates.X509Certificate2Collection cas,
        System.Security.Cryptography.X509Certificates.X509Certificate? certificate, System.Security.Cryptography.X509Certificates.X509Chain? chain,
        System.Net.Security.SslPolicyErrors errors)
    {
        if (errors == System.Net.Security.SslPolicyErrors.None) return true;
        if (errors != System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors || certificate is null) return false;
        using var custom = new System.Security.Cryptography.X509Certificates.X509Chain();
        custom.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(cas);
        custom.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
        if (chain is not null)
            foreach (var element in chain.ChainElements.Skip(1)) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
        return custom.Build(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    public bool UsesPlainHttp(string host)
    {
        if (_options.PlainHttpHosts.Contains(host)) return true;
        var bare = host.StartsWith('[') ? host[1..host.IndexOf(']')] : host.Split(':')[0];
        if (bare == "localhost") return true;
        return IPAddress.TryParse(bare, out var ip) && IPAddress.IsLoopback(ip);
    }

    private Uri ApiUri(ImageReference image, string tail) =>
        new($"{(UsesPlainHttp(image.ApiHost) ? "http" : "https")}://{image.ApiHost}/v2/{image.Repository}/{tail}");

    public async Task<ManifestResponse> GetManifestAsync(ImageReference image, CancellationToken ct)
    {
        var uri = ApiUri(image, "manifests/" + image.ManifestReference);
        using var response = await SendAsync(image, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, uri);
            foreach (var mt in MediaTypes.AcceptedManifests) request.Headers.Accept.ParseAdd(mt);
            return request;
        }, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, image, "manifest", ct).ConfigureAwait(false);

        // A manifest is small, but a hostile or broken server must not make us hold gigabytes,
        // with or without a Content-Length: read at most one byte past the limit.
        const int limit = 4 * 1024 * 1024;
        var content = await Artifacts.ResumableDownload.ReadBoundedAsync(response, limit, ct).ConfigureAwait(false)
            ?? throw new RegistryException(image.ToString(), null, $"manifest of {image} is larger than 4 MiB; refusing it") { Brief = "manifest too large" };
        var digest = Digest.Of(content);
        if (image.Digest is not null && image.Digest != digest)
            throw new RegistryException(image.ToString(), response.StatusCode,
                $"manifest of {image} has digest {digest}, not the {image.Digest} asked for: the registry served different content") { Brief = "digest mismatch" };
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var sent) &&
            Digest.TryParse(sent.FirstOrDefault(), out var sentDigest) && sentDigest != digest)
            throw new RegistryException(image.ToString(), response.StatusCode,
                $"manifest of {image} has digest {digest} but the registry announced {sentDigest}: content was altered in transit") { Brief = "digest mismatch" };

        var mediaType = ManifestJson.DetectMediaType(content, response.Content.Headers.ContentType?.MediaType);
        if (mediaType == MediaTypes.DockerSchema1Signed)
            throw new RegistryException(image.ToString(), response.StatusCode,
                $"{image} is only available as a Docker schema1 manifest, which has no verifiable digests; push it again with a current client") { Brief = "schema1 only" };
        return new ManifestResponse(content, mediaType, digest);
    }

    /// <summary>
    /// One GET of a blob from <paramref name="offset"/> (with Range when it is not 0), connection
    /// failures and 408/429/5xx retried. Continuing after a cut and checking the digest are the
    /// caller's: <see cref="Artifacts.ResumableDownload"/> drives this through an image source.
    /// </summary>
    public async Task<Artifacts.DownloadBody> OpenBlobAsync(ImageReference repository, Digest digest, long offset, CancellationToken ct)
    {
        var uri = ApiUri(repository, "blobs/" + digest);
        var response = await SendAsync(repository, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);
            return request;
        }, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        try
        {
            await EnsureSuccessAsync(response, repository, $"blob {digest}", ct).ConfigureAwait(false);
            return await Artifacts.DownloadBody.FromResponseAsync(response, offset, ct).ConfigureAwait(false);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>HEAD on a manifest or blob with pull rights only: true when the repository has it.</summary>
    public async Task<bool> HasAsync(ImageReference repository, Digest digest, bool manifest, CancellationToken ct)
    {
        var uri = ApiUri(repository, (manifest ? "manifests/" : "blobs/") + digest);
        using var response = await SendAsync(repository, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Head, uri);
            if (manifest) foreach (var mt in MediaTypes.AcceptedManifests) request.Headers.Accept.ParseAdd(mt);
            return request;
        }, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        await EnsureSuccessAsync(response, repository, manifest ? $"manifest {digest}" : $"blob {digest}", ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>How a blob transfer from this client's registries retries: its attempts, idle timeout and backoff.</summary>
    public Artifacts.DownloadPolicy DownloadPolicy => new(_options.MaxAttempts, _options.IdleTimeout, Backoff);

    private TimeSpan Backoff(int failures)
    {
        var ms = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, failures - 1);
        ms = Math.Min(ms, _options.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms * (0.75 + Random.Shared.NextDouble() * 0.5));
    }

    /// <summary>
    /// Sends with auth and retries. 401 triggers one challenge round (bearer token or basic); 408, 429
    /// and 5xx and connection failures are retried with backoff, honouring Retry-After.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(ImageReference repository, Func<HttpRequestMessage> makeRequest,
        HttpCompletionOption completion, CancellationToken ct, string actions = "pull", string? alsoPull = null, int? maxAttempts = null)
    {
        var scopeKey = $"{repository.ApiHost}/{repository.Repository}:{actions}{(alsoPull is null ? "" : "+" + alsoPull)}";
        var challenged = false;
        for (var attempt = 1; ; attempt++)
        {
            using var request = makeRequest();
            lock (_authLock)
            {
                if (_auth.TryGetValue(scopeKey, out var header)) request.Headers.Authorization = header;
            }
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                // A connect timeout surfaces as a cancellation that is not ours: a silently dropping
                // firewall, the usual case behind the GFW. Treat it like any other unreachable host.
                var why = e is HttpRequestException h ? Describe(h) : "connection timed out";
                if (attempt >= (maxAttempts ?? _options.MaxAttempts))
                    throw new RegistryException(repository.ApiHost, null,
                        $"cannot reach registry {repository.ApiHost}: {why}", e) { Brief = why };
                await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
                continue;
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized && !challenged)
            {
                challenged = true;
                var header = await AnswerChallengeAsync(repository, response, actions, alsoPull, ct).ConfigureAwait(false);
                response.Dispose();
                lock (_authLock) _auth[scopeKey] = header;
                attempt--; // the challenge round is not a failure
                continue;
            }

            if (IsRetryable(response.StatusCode) && attempt < (maxAttempts ?? _options.MaxAttempts))
            {
                var delay = Capped(RetryAfter(response) ?? Backoff(attempt));
                response.Dispose();
                await Task.Delay(delay, ct).ConfigureAwait(false);
                continue;
            }
            return response;
        }
    }

    /// <summary>A server's Retry-After is honoured up to a limit: an hour-long ask must not stall a build silently.</summary>
    private TimeSpan Capped(TimeSpan delay) => delay < _options.RetryMaxDelay ? delay : _options.RetryMaxDelay;

    private static bool IsRetryable(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta) return delta;
        if (retryAfter?.Date is { } date) return date - DateTimeOffset.UtcNow is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero;
        return null;
    }

    private static string Describe(HttpRequestException e) =>
        e.InnerException is SocketException se ? se.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused",
            SocketError.HostNotFound or SocketError.NoData => "host not found",
            SocketError.TimedOut => "connection timed out",
            SocketError.NetworkUnreachable or SocketError.HostUnreachable => "network unreachable",
            _ => se.Message,
        } : e.Message;

    private async Task<AuthenticationHeaderValue> AnswerChallengeAsync(ImageReference repository, HttpResponseMessage response,
        string actions, string? alsoPull, CancellationToken ct)
    {
        var credential = _options.Credentials.Find(repository.Registry);
        var challenge = response.Headers.WwwAuthenticate.FirstOrDefault();
        if (challenge is null || challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            if (credential is null)
                throw new RegistryException(repository.ApiHost, HttpStatusCode.Unauthorized,
                    $"registry {repository.ApiHost} requires a login: pass --username/--password or run docker login {repository.Registry}") { Brief = "401 login required" };
            return new AuthenticationHeaderValue("Basic", credential.BasicHeaderValue);
        }
        if (!challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            throw new RegistryException(repository.ApiHost, HttpStatusCode.Unauthorized,
                $"registry {repository.ApiHost} asks for {challenge.Scheme} authentication, which airgap does not speak") { Brief = "401 unsupported auth" };

        var parameters = ParseChallenge(challenge.Parameter ?? "");
        if (!parameters.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
            throw new RegistryException(repository.ApiHost, HttpStatusCode.Unauthorized,
                $"registry {repository.ApiHost} sent a Bearer challenge without a usable realm") { Brief = "401 bad challenge" };
        var query = new List<string>();
        if (parameters.TryGetValue("service", out var service)) query.Add("service=" + Uri.EscapeDataString(service));
        query.Add("scope=" + Uri.EscapeDataString($"repository:{repository.Repository}:{actions}"));
        // A cross-repository mount reads the other repository: its pull scope rides along in the same token.
        if (alsoPull is not null) query.Add("scope=" + Uri.EscapeDataString($"repository:{alsoPull}:pull"));
        var tokenUri = new UriBuilder(realmUri) { Query = string.Join('&', query) }.Uri;

        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, tokenUri);
            if (credential is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", credential.BasicHeaderValue);
            HttpResponseMessage tokenResponse;
            try
            {
                tokenResponse = await _http.SendAsync(request, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                if (attempt < _options.MaxAttempts)
                {
                    await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
                    continue;
                }
                var why = e is HttpRequestException h ? Describe(h) : "connection timed out";
                throw new RegistryException(tokenUri.Host, null, $"cannot reach the token service {tokenUri.Host} of {repository.ApiHost}: {why}", e) { Brief = "token service unreachable" };
            }
            using (tokenResponse)
            {
                if (IsRetryable(tokenResponse.StatusCode) && attempt < _options.MaxAttempts)
                {
                    await Task.Delay(Capped(RetryAfter(tokenResponse) ?? Backoff(attempt)), ct).ConfigureAwait(false);
                    continue;
                }
                if (tokenResponse.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                    throw new RegistryException(repository.ApiHost, tokenResponse.StatusCode,
                        credential is null
                            ? $"registry {repository.ApiHost} refused anonymous access to {repository.Repository} (HTTP {(int)tokenResponse.StatusCode}): pass --username/--password or docker login"
                            : $"registry {repository.ApiHost} rejected the credentials for user {credential.Username} (HTTP {(int)tokenResponse.StatusCode}): check --username/--password or ~/.docker/config.json")
                        { Brief = $"{(int)tokenResponse.StatusCode} credentials rejected" };
                if (!tokenResponse.IsSuccessStatusCode)
                    throw new RegistryException(tokenUri.Host, tokenResponse.StatusCode,
                        $"token service {tokenUri.Host} answered HTTP {(int)tokenResponse.StatusCode} for {repository.Repository}") { Brief = $"{(int)tokenResponse.StatusCode} from token service" };
                var json = await tokenResponse.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
                JsonDocument doc;
                try { doc = JsonDocument.Parse(json); }
                catch (JsonException)
                {
                    throw new RegistryException(tokenUri.Host, tokenResponse.StatusCode, $"token service {tokenUri.Host} answered something that is not JSON; is the realm of {repository.ApiHost} right?") { Brief = "bad token reply" };
                }
                using var disposeDoc = doc;
                var token = doc.RootElement.TryGetProperty("token", out var t) ? t.GetString()
                    : doc.RootElement.TryGetProperty("access_token", out var at) ? at.GetString() : null;
                if (string.IsNullOrEmpty(token))
                    throw new RegistryException(tokenUri.Host, tokenResponse.StatusCode, $"token service {tokenUri.Host} sent no token") { Brief = "no token" };
                return new AuthenticationHeaderValue("Bearer", token);
            }
        }
    }

    internal static Dictionary<string, string> ParseChallenge(string parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i]))) i++;
            var eq = parameter.IndexOf('=', i);
            if (eq < 0) break;
            var key = parameter[i..eq].Trim();
            i = eq + 1;
            string value;
            if (i < parameter.Length && parameter[i] == '"')
            {
                var end = parameter.IndexOf('"', i + 1);
                if (end < 0) end = parameter.Length;
                value = parameter[(i + 1)..end];
                i = end + 1;
            }
            else
            {
                var end = parameter.IndexOf(',', i);
                if (end < 0) end = parameter.Length;
                value = parameter[i..end].Trim();
                i = end;
            }
            result[key] = value;
        }
        return result;
    }

    private async Task EnsureSuccessAsync(HttpResponseMessage response, ImageReference image, string what, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var code = (int)response.StatusCode;
        var detail = await ReadErrorAsync(response, ct).ConfigureAwait(false);
        var brief = $"{code} {detail}".Trim();
        var message = response.StatusCode switch
        {
            HttpStatusCode.NotFound => $"{what} of {image} not found at {image.ApiHost} (HTTP 404{(detail.Length > 0 ? ", " + detail : "")})",
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden when _options.Credentials.Find(image.Registry) is null =>
                $"registry {image.ApiHost} denied anonymous access to {image.Repository} (HTTP {code}{(detail.Length > 0 ? ", " + detail : "")}): pass --username/--password or docker login {image.Registry}",
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                $"registry {image.ApiHost} denied access to {image.Repository} (HTTP {code}{(detail.Length > 0 ? ", " + detail : "")}): check the credentials for {image.Registry}",
            _ => $"registry {image.ApiHost} answered HTTP {code} for the {what} of {image}{(detail.Length > 0 ? ": " + detail : "")}",
        };
        throw new RegistryException(image.ApiHost, response.StatusCode, message) { Brief = brief };
    }

    /// <summary>Distribution errors come as {"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]}.</summary>
    private static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            if (bytes.Length == 0 || bytes.Length > 64 * 1024) return "";
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array &&
                errors.GetArrayLength() > 0 && errors[0].TryGetProperty("message", out var m))
                return m.GetString() ?? "";
        }
        catch (JsonException) { }
        catch (IOException) { }
        return "";
    }
}
