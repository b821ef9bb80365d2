using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Airgap.TestKit;

/// <summary>
/// Docker's client side of token auth, for the test kit's own HTTP calls (pushing, probing): pings GET /v2/
/// once per registry to learn the Bearer challenge's realm and service, then, before each request for
/// /v2/NAME/…, fetches (and caches) a token for "repository:NAME:ACTIONS" with HTTP basic credentials.
/// Asking up front rather than after a 401 means request bodies (blob PUTs) are sent exactly once.
/// Requests outside a repository (/v2/_catalog) that get a Bearer 401 are retried once with a token for the
/// challenge's own scope. Registries that answer /v2/ without a challenge are spoken to without tokens.
/// </summary>
public sealed partial class BearerAuthHandler : DelegatingHandler
{
    private readonly RegistryCredentials? _credentials;
    private readonly string _actions;
    private readonly ConcurrentDictionary<string, Lazy<Task<Challenge?>>> _challenges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _tokens = new(StringComparer.Ordinal);

    /// <param name="credentials">Sent to the token endpoint; null asks anonymously.</param>
    /// <param name="actions">What to ask for on each repository, e.g. "pull,push" or "pull".</param>
    public BearerAuthHandler(RegistryCredentials? credentials, string actions = "pull,push", HttpMessageHandler? inner = null)
        : base(inner ?? new SocketsHttpHandler())
    {
        _credentials = credentials;
        _actions = actions;
    }

    public sealed record Challenge(Uri Realm, string? Service);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri ?? throw new InvalidOperationException("request without a URI");
        var authority = uri.GetLeftPart(UriPartial.Authority);
        var repository = RepositoryOf(uri.AbsolutePath);
        if (repository is not null && request.Headers.Authorization is null)
        {
            var challenge = await ChallengeForAsync(authority, cancellationToken).ConfigureAwait(false);
            if (challenge is not null)
            {
                var token = await TokenAsync(challenge, $"repository:{repository}:{_actions}", cancellationToken).ConfigureAwait(false);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
        }

        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || repository is not null || request.Content is not null
            || ParseChallenge(response) is not { } fresh)
        {
            return response;
        }
        var scope = fresh.Scope;
        response.Dispose();
        var retry = new HttpRequestMessage(request.Method, uri) { Version = request.Version };
        foreach (var h in request.Headers.Where(h => h.Key != "Authorization"))
        {
            retry.Headers.TryAddWithoutValidation(h.Key, h.Value);
        }
        retry.Headers.Authorization = new AuthenticationHeaderValue("Bearer",
            await TokenAsync(fresh.Challenge, scope, cancellationToken).ConfigureAwait(false));
        return await base.SendAsync(retry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>NAME in /v2/NAME/(blobs|manifests|tags)/…, or null.</summary>
    public static string? RepositoryOf(string path)
    {
        var m = RepositoryPath().Match(path);
        return m.Success ? m.Groups[1].Value : null;
    }

    [GeneratedRegex("^/v2/(.+?)/(?:blobs|manifests|tags)/")]
    private static partial Regex RepositoryPath();

    [GeneratedRegex("""(\w+)\s*=\s*"([^"]*)"|(\w+)\s*=\s*([^,\s]+)""")]
    private static partial Regex ChallengeParameter();

    private Task<Challenge?> ChallengeForAsync(string authority, CancellationToken cancellationToken) =>
        _challenges.GetOrAdd(authority, a => new Lazy<Task<Challenge?>>(() => PingAsync(a, cancellationToken))).Value;

    private async Task<Challenge?> PingAsync(string authority, CancellationToken cancellationToken)
    {
        using var ping = new HttpRequestMessage(HttpMethod.Get, authority + "/v2/");
        using var response = await base.SendAsync(ping, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return null;
        }
        return ParseChallenge(response)?.Challenge
               ?? throw new HttpRequestException($"{authority}/v2/ answered 401 without a Bearer challenge", null, response.StatusCode);
    }

    private static (Challenge Challenge, string? Scope)? ParseChallenge(HttpResponseMessage response)
    {
        var bearer = response.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase));
        if (bearer?.Parameter is null)
        {
            return null;
        }
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (Match m in ChallengeParameter().Matches(bearer.Parameter))
        {
            values[m.Groups[1].Success ? m.Groups[1].Value : m.Groups[3].Value] = m.Groups[2].Success ? m.Groups[2].Value : m.Groups[4].Value;
        }
        if (!values.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
        {
            return null;
        }
        return (new Challenge(realmUri, values.GetValueOrDefault("service")), values.GetValueOrDefault("scope"));
    }

    private Task<string> TokenAsync(Challenge challenge, string? scope, CancellationToken cancellationToken)
    {
        var key = $"{challenge.Realm}|{challenge.Service}|{scope}";
        var lazy = _tokens.GetOrAdd(key, _ => new Lazy<Task<string>>(() => FetchTokenAsync(challenge, scope, cancellationToken)));
        var task = lazy.Value;
        // A failed fetch must not stick: the next request asks again.
        _ = task.ContinueWith(t => _tokens.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(key, lazy)),
            CancellationToken.None, TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);
        return task;
    }

    private async Task<string> FetchTokenAsync(Challenge challenge, string? scope, CancellationToken cancellationToken)
    {
        var query = new List<string>();
        if (challenge.Service is not null)
        {
            query.Add("service=" + Uri.EscapeDataString(challenge.Service));
        }
        if (scope is not null)
        {
            query.Add("scope=" + Uri.EscapeDataString(scope));
        }
        var uri = new UriBuilder(challenge.Realm) { Query = string.Join('&', query) }.Uri;
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (_credentials is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", _credentials.HeaderValue);
        }
        using var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"token service {uri} answered {(int)response.StatusCode}: {body}", null, response.StatusCode);
        }
        using var doc = JsonDocument.Parse(body);
        var token = doc.RootElement.TryGetProperty("token", out var t) ? t.GetString()
            : doc.RootElement.TryGetProperty("access_token", out var at) ? at.GetString() : null;
        return token ?? throw new HttpRequestException($"token service {uri} sent no token: {body}");
    }
}
