using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Airgap.TestKit.Infrastructure;

namespace Airgap.TestKit;

/// <summary>
/// Debian's docker-registry (distribution v2.8) on a free loopback port, with filesystem storage
/// in a temp dir that is deleted on dispose. Plain HTTP: clients must treat it as insecure.
/// </summary>
public sealed class RegistryServer : IAsyncDisposable
{
    public const string RegistryBinary = "/usr/bin/docker-registry";
    private readonly ServerProcess _process;

    private RegistryServer(ServerProcess process, string workDirectory, int port, RegistryCredentials? credentials, TokenAuthServer? tokenServer)
    {
        _process = process;
        WorkDirectory = workDirectory;
        Port = port;
        Credentials = credentials;
        TokenServer = tokenServer;
    }

    /// <summary>"127.0.0.1:PORT", the form used in image references.</summary>
    public string Host => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public int Port { get; }

    public Uri BaseUri => new($"http://{Host}/");

    /// <summary>The temp dir holding config, htpasswd, log and storage; callers may put scratch files here.</summary>
    public string WorkDirectory { get; }

    /// <summary>distribution's filesystem rootdirectory.</summary>
    public string StorageRoot => Path.Combine(WorkDirectory, "storage");

    public string LogPath => Path.Combine(WorkDirectory, "registry.log");

    public RegistryCredentials? Credentials { get; }

    /// <summary>The token service this registry trusts, when started with <see cref="RegistryOptions.TokenAuth"/>.</summary>
    public TokenAuthServer? TokenServer { get; }

    public static async Task<RegistryServer> StartAsync(RegistryOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new RegistryOptions();
        if (!File.Exists(RegistryBinary))
        {
            throw new InvalidOperationException($"{RegistryBinary} is missing: apt-get install -y docker-registry");
        }

        if (options.Credentials is not null && options.TokenAuth is not null)
        {
            throw new ArgumentException("RegistryOptions: Credentials (htpasswd) and TokenAuth exclude each other", nameof(options));
        }

        var work = Directory.CreateTempSubdirectory("airgap-registry-").FullName;
        TokenAuthServer? tokenServer = null;
        try
        {
            string? rootCertBundle = null;
            if (options.TokenAuth is { } tokenOptions)
            {
                tokenServer = TokenAuthServer.Start(tokenOptions);
                rootCertBundle = Path.Combine(work, "token-root.pem");
                await File.WriteAllTextAsync(rootCertBundle, tokenServer.CertificatePem, cancellationToken).ConfigureAwait(false);
            }

            string? htpasswdPath = null;
            if (options.Credentials is { } c)
            {
                htpasswdPath = Path.Combine(work, "htpasswd");
                // distribution only accepts bcrypt entries, hence -B.
                var line = await ProcessRunner.RunCheckedAsync("htpasswd", ["-Bbn", c.Username, c.Password], cancellationToken)
                    .ConfigureAwait(false);
                await File.WriteAllTextAsync(htpasswdPath, line.Trim() + "\n", cancellationToken).ConfigureAwait(false);
            }

            // The port is picked before the registry binds it, so another process may win the race: retry then.
            const int attempts = 3;
            for (var attempt = 1; ; attempt++)
            {
                var port = Net.FreeLoopbackPort();
                var config = Path.Combine(work, "config.yml");
                await File.WriteAllTextAsync(config, Config(work, port, options, htpasswdPath, tokenServer, rootCertBundle), cancellationToken).ConfigureAwait(false);
                var process = ServerProcess.Start(RegistryBinary, ["serve", config], Path.Combine(work, "registry.log"));
                var server = new RegistryServer(process, work, port, options.Credentials, tokenServer);
                try
                {
                    await server.WaitUntilReadyAsync(options.StartTimeout, cancellationToken).ConfigureAwait(false);
                    return server;
                }
                catch (Exception) when (attempt < attempts && process.HasExited
                                        && process.Tail().Contains("address already in use", StringComparison.Ordinal))
                {
                    await process.DisposeAsync().ConfigureAwait(false);
                }
                catch
                {
                    await process.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
            }
        }
        catch
        {
            if (tokenServer is not null)
            {
                await tokenServer.DisposeAsync().ConfigureAwait(false);
            }
            Net.TryDeleteDirectory(work);
            throw;
        }
    }

    /// <summary>
    /// Where distribution keeps a blob's bytes, so a test can corrupt or remove it behind the registry's back.
    /// </summary>
    public string BlobDataPath(string digest)
    {
        const string prefix = "sha256:";
        if (!digest.StartsWith(prefix, StringComparison.Ordinal) || digest.Length != prefix.Length + 64)
        {
            throw new ArgumentException($"Not a sha256 digest: {digest}", nameof(digest));
        }
        var hex = digest[prefix.Length..];
        return Path.Combine(StorageRoot, "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
    }

    /// <summary>A pusher for this registry, using its credentials if it has any (the token service's pusher for token auth).</summary>
    public RegistryPusher CreatePusher() =>
        TokenServer is { } tokens ? RegistryPusher.WithBearerAuth(Host, tokens.Options.Pusher.Credentials) : new(Host, Credentials);

    /// <summary>
    /// An HttpClient with BaseAddress set and, if configured, the credentials attached (for token auth: a
    /// <see cref="BearerAuthHandler"/> acting as the token service's pusher).
    /// </summary>
    public HttpClient CreateClient()
    {
        if (TokenServer is { } tokens)
        {
            return new HttpClient(new BearerAuthHandler(tokens.Options.Pusher.Credentials, "pull,push"))
            {
                BaseAddress = BaseUri,
                Timeout = TimeSpan.FromMinutes(5),
            };
        }
        var client = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromMinutes(5) };
        if (Credentials is { } c)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", c.HeaderValue);
        }
        return client;
    }

    /// <summary>The last lines the registry logged (warnings and errors only by default).</summary>
    public string LogTail() => _process.Tail();

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync().ConfigureAwait(false);
        if (TokenServer is not null)
        {
            await TokenServer.DisposeAsync().ConfigureAwait(false);
        }
        Net.TryDeleteDirectory(WorkDirectory);
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited during start-up. Log tail:\n{_process.Tail()}");
            }
            try
            {
                using var response = await client.GetAsync(new Uri(BaseUri, "v2/"), cancellationToken).ConfigureAwait(false);
                // 401 is a healthy answer for an auth-enabled registry.
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    return;
                }
                last = new HttpRequestException($"GET /v2/ answered {(int)response.StatusCode}");
            }
            catch (HttpRequestException e)
            {
                last = e;
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                last = e;
            }
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
        throw new TimeoutException(
            $"docker-registry did not answer GET {BaseUri}v2/ within {timeout.TotalSeconds:0}s (last: {last?.Message}). Log tail:\n{_process.Tail()}");
    }

    private static string Config(string work, int port, RegistryOptions options, string? htpasswdPath, TokenAuthServer? tokenServer,
        string? rootCertBundle)
    {
        var auth = htpasswdPath is not null
            ? $"""
              auth:
                htpasswd:
                  realm: airgap-testkit
                  path: {htpasswdPath}

              """
            : tokenServer is not null
                ? $"""
                  auth:
                    token:
                      realm: {tokenServer.Realm}
                      service: {tokenServer.Options.Service}
                      issuer: {tokenServer.Options.Issuer}
                      rootcertbundle: {rootCertBundle}

                  """
                : "";
        // A fixed http.secret silences the "no HTTP secret" warning; access logs are per-request noise.
        return $"""
            version: 0.1
            log:
              level: {options.LogLevel}
              formatter: text
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {Path.Combine(work, "storage")}
              delete:
                enabled: {(options.DeleteEnabled ? "true" : "false")}
              maintenance:
                uploadpurging:
                  enabled: false
            {auth}http:
              addr: 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}
              secret: airgap-testkit-not-a-secret
              headers:
                X-Content-Type-Options: [nosniff]

            """;
    }
}
