namespace Airgap.TestKit;

/// <summary>Basic credentials for a registry (sent pre-emptively, as docker does for htpasswd realms).</summary>
public sealed record RegistryCredentials(string Username, string Password)
{
    public string HeaderValue => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{Username}:{Password}"));

    /// <summary>Parses "user:pass" (the password may contain colons).</summary>
    public static RegistryCredentials Parse(string userColonPassword)
    {
        var colon = userColonPassword.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new FormatException("Expected user:password");
        }
        return new RegistryCredentials(userColonPassword[..colon], userColonPassword[(colon + 1)..]);
    }

    // Keep passwords out of test logs.
    public override string ToString() => $"{Username}:***";
}

/// <summary>How to run a <see cref="RegistryServer"/>.</summary>
public sealed record RegistryOptions
{
    /// <summary>When set, the registry demands HTTP basic auth (htpasswd, bcrypt) for every request.</summary>
    public RegistryCredentials? Credentials { get; init; }

    /// <summary>
    /// When set, the registry uses Docker-style token auth (auth.token) with a <see cref="TokenAuthServer"/> started and
    /// stopped with it, as Docker Hub, aliyun and Harbor do. Excludes <see cref="Credentials"/>.
    /// </summary>
    public TokenAuthOptions? TokenAuth { get; init; }

    /// <summary>Allows DELETE of manifests and blobs (distribution's storage.delete.enabled; off by default there too).</summary>
    public bool DeleteEnabled { get; init; }

    /// <summary>How long to wait for GET /v2/ to answer before giving up.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>distribution's log level; "warn" keeps per-request lines out of the log file.</summary>
    public string LogLevel { get; init; } = "warn";
}
