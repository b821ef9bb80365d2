using System.Text;
using System.Text.Json;

namespace Airgap.Oci;

public sealed record RegistryCredential(string Username, string Password)
{
    public string BasicHeaderValue => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Username}:{Password}"));
}

/// <summary>
/// Where credentials come from, in the order an operator expects: explicit flags first, then the
/// file `docker login` writes. Credential helpers (credsStore) are not run: a build host for an
/// air-gapped site usually has plain auths, and running arbitrary helpers from a build is a surprise.
/// </summary>
public sealed class RegistryCredentials
{
    private readonly Dictionary<string, RegistryCredential> _byHost = new(StringComparer.OrdinalIgnoreCase);

    public static RegistryCredentials None { get; } = new();

    public void Add(string host, RegistryCredential credential) => _byHost[NormalizeHost(host)] = credential;

    public RegistryCredential? Find(string host) =>
        _byHost.TryGetValue(NormalizeHost(host), out var c) ? c : null;

    /// <summary>Reads ~/.docker/config.json (or $DOCKER_CONFIG/config.json) when it exists; entries already added win.</summary>
    public void AddDockerConfig(string? path = null)
    {
        path ??= Path.Combine(Environment.GetEnvironmentVariable("DOCKER_CONFIG")
                              ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker"),
                              "config.json");
        if (!File.Exists(path)) return;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new AirgapException($"{path} is not valid JSON ({e.Message.Split('\n')[0]}); fix or move it"); }
        using (doc)
        {
            if (!doc.RootElement.TryGetProperty("auths", out var auths) || auths.ValueKind != JsonValueKind.Object) return;
            foreach (var entry in auths.EnumerateObject())
            {
                var host = NormalizeHost(entry.Name);
                if (_byHost.ContainsKey(host)) continue;
                if (TryRead(entry.Value, out var credential)) _byHost[host] = credential;
            }
        }
    }

    private static bool TryRead(JsonElement e, out RegistryCredential credential)
    {
        credential = null!;
        if (e.TryGetProperty("auth", out var auth) && auth.GetString() is { Length: > 0 } b64)
        {
            string decoded;
            try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(b64)); }
            catch (FormatException) { return false; }
            var colon = decoded.IndexOf(':');
            if (colon <= 0) return false;
            credential = new RegistryCredential(decoded[..colon], decoded[(colon + 1)..]);
            return true;
        }
        if (e.TryGetProperty("username", out var u) && e.TryGetProperty("password", out var p) &&
            u.GetString() is { } user && p.GetString() is { } pass)
        {
            credential = new RegistryCredential(user, pass);
            return true;
        }
        return false;
    }

    /// <summary>docker login stores Docker Hub as https://index.docker.io/v1/ and others as bare hosts or URLs.</summary>
    internal static string NormalizeHost(string host)
    {
        var h = host.Trim();
        if (h.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) h = h[8..];
        else if (h.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) h = h[7..];
        var slash = h.IndexOf('/');
        if (slash >= 0) h = h[..slash];
        return h is "index.docker.io" or "registry-1.docker.io" or "docker.io" ? ImageReference.DockerHub : h;
    }
}
