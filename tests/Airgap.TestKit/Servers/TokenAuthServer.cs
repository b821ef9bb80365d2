using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Airgap.TestKit.Infrastructure;

namespace Airgap.TestKit;

/// <summary>How the token's JWT header names its signing key; distribution v2.8 accepts either.</summary>
public enum TokenKeyHint
{
    /// <summary>"kid": the libtrust fingerprint of the key, looked up among the rootcertbundle's keys (what docker/auth_server does).</summary>
    LibtrustKeyId,

    /// <summary>"x5c": the signing certificate itself, verified against the rootcertbundle (what Harbor does).</summary>
    X5cChain,
}

/// <summary>What the token service answers an anonymous request for something anonymous users may not pull.</summary>
public enum AnonymousDenial
{
    /// <summary>A token with an empty access list, as Docker Hub and Harbor do; the registry then answers 401 insufficient_scope.</summary>
    EmptyToken,

    /// <summary>401 from the token endpoint itself.</summary>
    Unauthorized,
}

/// <summary>A user of the token service: HTTP basic on the token endpoint; pull everywhere, push too if <paramref name="CanPush"/>.</summary>
public sealed record TokenUser(string Username, string Password, bool CanPush = false)
{
    public RegistryCredentials Credentials => new(Username, Password);

    public override string ToString() => $"{Username}:***{(CanPush ? " (push)" : "")}";
}

/// <summary>Policy and identity of a <see cref="TokenAuthServer"/>.</summary>
public sealed record TokenAuthOptions
{
    /// <summary>Whether requests without credentials get pull access (public repositories).</summary>
    public bool AnonymousPull { get; init; }

    public AnonymousDenial AnonymousDenial { get; init; } = AnonymousDenial.EmptyToken;

    /// <summary>Users besides <see cref="Pusher"/>.</summary>
    public IReadOnlyList<TokenUser> Users { get; init; } = [];

    /// <summary>The user the test kit fills registries with; may pull and push everything.</summary>
    public TokenUser Pusher { get; init; } = new("testkit-pusher", "testkit-push-secret", CanPush: true);

    public TokenKeyHint KeyHint { get; init; } = TokenKeyHint.LibtrustKeyId;

    /// <summary>The registry's auth.token.service; becomes the token's "aud".</summary>
    public string Service { get; init; } = "airgap-testkit-registry";

    /// <summary>The registry's auth.token.issuer; becomes the token's "iss".</summary>
    public string Issuer { get; init; } = "airgap-testkit-token-service";

    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>One request to the token endpoint, as the token service saw and answered it.</summary>
/// <param name="Username">From HTTP basic auth, whether or not the password was right; null when anonymous.</param>
/// <param name="Scopes">The scope parameters asked for, e.g. "repository:google_containers/pause:pull".</param>
/// <param name="Granted">What the issued token grants, in the same form; empty when none was issued.</param>
public sealed record TokenRequest(
    DateTimeOffset At, string Method, string Target, string? Service, IReadOnlyList<string> Scopes, bool BasicAuth, string? Username,
    int Status, IReadOnlyList<string> Granted);

/// <summary>
/// A Docker-style token service (https://distribution.github.io/distribution/spec/auth/token/) on a loopback
/// port: GET /token?service=S&amp;scope=repository:NAME:pull answers {"token": JWT} signed RS256 with a
/// self-signed certificate made at start, which the registry trusts via <see cref="CertificatePem"/>
/// (auth.token.rootcertbundle). Access follows <see cref="TokenAuthOptions"/>: wrong passwords get 401,
/// requested actions are cut down to what the user may do.
/// </summary>
public sealed class TokenAuthServer : IAsyncDisposable
{
    public const string TokenPath = "/token";

    private readonly ConcurrentQueue<TokenRequest> _log = new();
    private readonly RSA _key;
    private readonly X509Certificate2 _certificate;
    private readonly LoopbackHttpListener _listener;
    private readonly Lock _faultLock = new();
    private int _faultsLeft;
    private int _faultStatus;
    private string? _faultRetryAfter;

    private TokenAuthServer(TokenAuthOptions options)
    {
        Options = options;
        _key = RSA.Create(2048);
        var request = new CertificateRequest("CN=airgap-testkit token signer", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        var now = DateTimeOffset.UtcNow;
        _certificate = request.CreateSelfSigned(now.AddHours(-1), now.AddDays(2));
        CertificatePem = _certificate.ExportCertificatePem() + "\n";
        KeyId = LibtrustKeyId(_key.ExportSubjectPublicKeyInfo());

        _listener = LoopbackHttpListener.StartServer(RespondAsync);
    }

    public static TokenAuthServer Start(TokenAuthOptions? options = null) => new(options ?? new TokenAuthOptions());

    public TokenAuthOptions Options { get; }

    public int Port => _listener.Port;

    public string Host => _listener.Host;

    /// <summary>The registry's auth.token.realm.</summary>
    public Uri Realm => new($"http://{Host}{TokenPath}");

    /// <summary>The signing certificate in PEM, for the registry's auth.token.rootcertbundle.</summary>
    public string CertificatePem { get; }

    /// <summary>libtrust fingerprint of the signing key ("ABCD:EFGH:…", 12 groups), the "kid" distribution looks up.</summary>
    public string KeyId { get; }

    /// <summary>
    /// Makes the next <paramref name="count"/> token requests fail with <paramref name="status"/> (429: a rate-limited
    /// auth service, 503: an overloaded one) and <paramref name="retryAfter"/> as Retry-After (null for none).
    /// </summary>
    public void InjectFaults(int count, int status = 429, string? retryAfter = "1")
    {
        if (status is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "a fault is a 4xx or 5xx status");
        }
        lock (_faultLock)
        {
            (_faultStatus, _faultRetryAfter) = (status, retryAfter);
            _faultsLeft = count;
        }
    }

    /// <summary>Every token request so far, in arrival order.</summary>
    public IReadOnlyList<TokenRequest> Requests => _log.ToArray();

    /// <summary>
    /// libtrust's key ID: SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32 without padding,
    /// in groups of four joined by ':' (github.com/docker/libtrust util.go keyIDFromCryptoKey).
    /// </summary>
    public static string LibtrustKeyId(byte[] subjectPublicKeyInfo)
    {
        var hash = SHA256.HashData(subjectPublicKeyInfo).AsSpan(0, 30);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var base32 = new StringBuilder();
        int buffer = 0, bits = 0;
        foreach (var b in hash)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                base32.Append(alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0)
        {
            base32.Append(alphabet[(buffer << (5 - bits)) & 31]);
        }
        var s = base32.ToString();
        return string.Join(':', Enumerable.Range(0, s.Length / 4).Select(i => s.Substring(i * 4, 4)));
    }

    /// <summary>Issues a token directly (no HTTP), e.g. to probe the registry with a hand-made grant.</summary>
    public string IssueToken(string? subject, IEnumerable<(string Type, string Name, IReadOnlyList<string> Actions)> access)
    {
        var now = DateTimeOffset.UtcNow;
        var header = new Dictionary<string, object> { ["typ"] = "JWT", ["alg"] = "RS256" };
        if (Options.KeyHint == TokenKeyHint.LibtrustKeyId)
        {
            header["kid"] = KeyId;
        }
        else
        {
            header["x5c"] = new[] { Convert.ToBase64String(_certificate.RawData) };
        }
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Options.Issuer,
            ["sub"] = subject ?? "",
            // distribution 2.8 reads "aud" as a single string, not an array.
            ["aud"] = Options.Service,
            ["exp"] = (now + Options.TokenLifetime).ToUnixTimeSeconds(),
            ["nbf"] = now.AddSeconds(-5).ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["jti"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(12)),
            ["access"] = access.Select(a => new Dictionary<string, object> { ["type"] = a.Type, ["name"] = a.Name, ["actions"] = a.Actions })
                .ToArray(),
        };
        var signingInput = Base64Url(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync().ConfigureAwait(false);
        _certificate.Dispose();
        _key.Dispose();
    }

    private static string Base64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private async Task RespondAsync(NetworkStream stream, HttpHead request, bool keepAlive, CancellationToken ct)
    {
        var (status, reason, headers, body) = Answer(request);
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {reason}\r\n")
            .Append("Content-Type: application/json\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n")
            .Append(headers)
            .Append(keepAlive ? "" : "Connection: close\r\n")
            .Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), ct).ConfigureAwait(false);
        if (request.Parts.First != "HEAD")
        {
            await stream.WriteAsync(body, ct).ConfigureAwait(false);
        }
    }

    private (int Status, string Reason, string Headers, byte[] Body) Answer(HttpHead request)
    {
        var (method, target) = request.Parts;
        var at = DateTimeOffset.UtcNow;
        var path = target.Split('?', 2)[0];
        var query = ParseQuery(target.Contains('?', StringComparison.Ordinal) ? target[(target.IndexOf('?', StringComparison.Ordinal) + 1)..] : "");
        var service = query.FirstOrDefault(p => p.Key == "service").Value;
        var scopes = query.Where(p => p.Key == "scope").SelectMany(p => p.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();

        var authorization = request.Header("Authorization");
        var basic = authorization?.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) == true;
        string? username = null;
        string? password = null;
        if (basic && TryDecodeBasic(authorization![6..].Trim(), out var u, out var p))
        {
            (username, password) = (u, p);
        }

        (int, string, string, byte[]) Reply(int status, string reason, string headers, object body, IReadOnlyList<string> granted)
        {
            _log.Enqueue(new TokenRequest(at, method, target, service, scopes, basic, username, status, granted));
            return (status, reason, headers, JsonSerializer.SerializeToUtf8Bytes(body));
        }

        if (method is not ("GET" or "HEAD"))
        {
            // Docker's OAuth2 POST flow is optional; clients fall back to GET when it is refused.
            return Reply(405, "Method Not Allowed", "Allow: GET\r\n", new { details = "only GET is supported" }, []);
        }
        if (path != TokenPath)
        {
            return Reply(404, "Not Found", "", new { details = "not found" }, []);
        }
        lock (_faultLock)
        {
            if (_faultsLeft > 0)
            {
                _faultsLeft--;
                var reason = _faultStatus switch { 429 => "Too Many Requests", 503 => "Service Unavailable", 500 => "Internal Server Error", _ => "Error" };
                return Reply(_faultStatus, reason, _faultRetryAfter is null ? "" : $"Retry-After: {_faultRetryAfter}\r\n",
                    new { details = $"{reason} (injected by the test kit)" }, []);
            }
        }
        if (service is not null && service != Options.Service)
        {
            return Reply(400, "Bad Request", "", new { details = $"unknown service {service}" }, []);
        }

        TokenUser? user = null;
        if (authorization is not null)
        {
            user = Options.Users.Append(Options.Pusher).FirstOrDefault(x => x.Username == username);
            if (!basic || user is null || !CryptographicOperations.FixedTimeEquals(
                    Encoding.UTF8.GetBytes(user.Password), Encoding.UTF8.GetBytes(password ?? "")))
            {
                return Reply(401, "Unauthorized", "WWW-Authenticate: Basic realm=\"airgap-testkit token service\"\r\n",
                    new { details = "incorrect username or password" }, []);
            }
        }

        var access = new List<(string Type, string Name, IReadOnlyList<string> Actions)>();
        foreach (var scope in scopes)
        {
            // type:name:actions; the name may itself contain ':' (a registry port in some clients' scopes).
            var first = scope.IndexOf(':', StringComparison.Ordinal);
            var last = scope.LastIndexOf(':');
            if (first <= 0 || last <= first)
            {
                return Reply(400, "Bad Request", "", new { details = $"malformed scope {scope}" }, []);
            }
            var (type, name, actions) = (scope[..first], scope[(first + 1)..last], scope[(last + 1)..].Split(','));
            if (type != "repository")
            {
                continue;
            }
            var allowed = actions.Where(a => a switch
            {
                "pull" => user is not null || Options.AnonymousPull,
                "push" or "delete" or "*" => user?.CanPush == true,
                _ => false,
            }).Distinct(StringComparer.Ordinal).ToList();
            if (user is null && !Options.AnonymousPull && Options.AnonymousDenial == AnonymousDenial.Unauthorized)
            {
                return Reply(401, "Unauthorized", "WWW-Authenticate: Basic realm=\"airgap-testkit token service\"\r\n",
                    new { details = "authentication required" }, []);
            }
            if (allowed.Count > 0)
            {
                access.Add(("repository", name, allowed));
            }
        }

        var token = IssueToken(user?.Username, access);
        var granted = access.Select(a => $"{a.Type}:{a.Name}:{string.Join(',', a.Actions)}").ToList();
        return Reply(200, "OK", "", new Dictionary<string, object>
        {
            ["token"] = token,
            ["access_token"] = token,
            ["expires_in"] = (int)Options.TokenLifetime.TotalSeconds,
            ["issued_at"] = at.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        }, granted);
    }

    private static bool TryDecodeBasic(string value, out string username, out string password)
    {
        username = password = "";
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(value));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                return false;
            }
            (username, password) = (text[..colon], text[(colon + 1)..]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static List<KeyValuePair<string, string>> ParseQuery(string query)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var part in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? part : part[..eq];
            var value = eq < 0 ? "" : part[(eq + 1)..];
            result.Add(new(Uri.UnescapeDataString(key.Replace('+', ' ')), Uri.UnescapeDataString(value.Replace('+', ' '))));
        }
        return result;
    }
}
