using System.Net;
using System.Net.Http.Headers;
using Airgap.TestKit;
using Xunit.Abstractions;

namespace Airgap.IntegrationTests.Oci;

/// <summary>
/// A private registry behind Docker-style token auth (as Docker Hub, aliyun and Harbor run it): distribution 2.8
/// with auth.token, trusting the test kit's token service; anonymous pull denied; one reader account.
/// </summary>
public sealed class PrivateTokenRegistryFixture : IAsyncLifetime
{
    public static readonly TokenUser Reader = new("reader", "r3ader-pass");

    private RegistryServer? _registry;

    public RegistryServer Registry => _registry ?? throw new InvalidOperationException("not started");

    public TokenAuthServer Tokens => Registry.TokenServer!;

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _registry = await RegistryServer.StartAsync(new RegistryOptions
        {
            TokenAuth = new TokenAuthOptions { AnonymousPull = false, Users = [Reader] },
        }, cts.Token);
        await SampleImages.PushKubernetesSetAsync(_registry, arches: ["amd64"], cancellationToken: cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null) await _registry.DisposeAsync();
    }
}

public sealed class TokenAuthTests(PrivateTokenRegistryFixture fixture, ITestOutputHelper output) : IClassFixture<PrivateTokenRegistryFixture>
{
    private static readonly string[] Names = SampleImages.KubernetesImages.Select(i => i.Name).ToArray();

    private static string[] BuildArgs(string host, string directory, params string[] extra) =>
        ["build", "--k8s", "v1.20.2", "--image-repository", $"{host}/google_containers", "--cni", "none", "--no-binaries", "--output", directory, .. extra];

    private void AssertOneLineError(ProcessResult result, params string[] mentions)
    {
        output.WriteLine(result.Stderr.TrimEnd('\n').Split('\n')[^1]);
        Assert.NotEqual(0, result.ExitCode);
        var errors = result.Stderr.Split('\n').Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 1, "expected exactly one error line: " + result);
        Assert.Equal(errors[0], result.Stderr.TrimEnd('\n').Split('\n')[^1]);
        foreach (var m in mentions) Assert.Contains(m, errors[0]);
    }

    private static void AssertNothingWritten(string directory) =>
        Assert.Empty(Directory.Exists(directory) ? Directory.GetFileSystemEntries(directory) : []);

    private static void AssertBundle(ProcessResult result, string directory)
    {
        Assert.True(result.Succeeded, result.ToString());
        Assert.True(File.Exists(Path.Combine(directory, "airgap-k8s-v1.20.2-linux-amd64.tar")), result.ToString());
    }

    /// <summary>The CLI asked for exactly pull on each kubeadm image's repository, and nothing else.</summary>
    private void AssertPullScopesOnly(IReadOnlyList<TokenRequest> requests)
    {
        output.WriteLine($"{requests.Count} token requests for {requests.SelectMany(r => r.Scopes).Distinct().Count()} scopes");
        Assert.NotEmpty(requests);
        Assert.All(requests, r => Assert.Single(r.Scopes));
        Assert.Equal(Names.Select(n => $"repository:google_containers/{n}:pull").Order(StringComparer.Ordinal),
            requests.SelectMany(r => r.Scopes).Distinct().Order(StringComparer.Ordinal));
        Assert.All(requests, r => Assert.Equal("airgap-testkit-registry", r.Service));
        Assert.All(requests, r => Assert.Equal("GET", r.Method));
    }

    private IReadOnlyList<TokenRequest> RequestsSince(int count) => fixture.Tokens.Requests.Skip(count).ToList();

    [Theory]
    [InlineData(TokenKeyHint.LibtrustKeyId)]
    [InlineData(TokenKeyHint.X5cChain)]
    public async Task Anonymous_pull_of_a_public_registry_gets_pull_tokens(TokenKeyHint hint)
    {
        await using var registry = await RegistryServer.StartAsync(new RegistryOptions
        {
            TokenAuth = new TokenAuthOptions { AnonymousPull = true, KeyHint = hint },
        });
        await SampleImages.PushKubernetesSetAsync(registry, arches: ["amd64"]);
        var pushes = registry.TokenServer!.Requests.Count;
        Assert.Contains(registry.TokenServer.Requests, r => r.Username == "testkit-pusher" && r.Granted.Any(g => g.EndsWith(":pull,push", StringComparison.Ordinal)));

        using var dir = new TempDir();
        var bundles = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(BuildArgs(registry.Host, bundles));
        AssertBundle(result, bundles);

        var requests = registry.TokenServer.Requests.Skip(pushes).ToList();
        AssertPullScopesOnly(requests);
        Assert.All(requests, r =>
        {
            Assert.False(r.BasicAuth);
            Assert.Equal(200, r.Status);
            Assert.Equal(r.Scopes, r.Granted);
        });
    }

    [Fact]
    public async Task The_registry_really_demands_a_token_from_the_token_service()
    {
        using var client = new HttpClient { BaseAddress = fixture.Registry.BaseUri };
        using var anonymous = new HttpRequestMessage(HttpMethod.Get, "v2/google_containers/pause/manifests/3.2");
        using var denied = await client.SendAsync(anonymous);
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        var challenge = denied.Headers.WwwAuthenticate.Single();
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Contains($"realm=\"{fixture.Tokens.Realm}\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains("scope=\"repository:google_containers/pause:pull\"", challenge.Parameter, StringComparison.Ordinal);

        // A token for another repository is no good; one for this repository is.
        foreach (var (name, expected) in new[] { ("google_containers/etcd", HttpStatusCode.Unauthorized), ("google_containers/pause", HttpStatusCode.OK) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "v2/google_containers/pause/manifests/3.2");
            request.Headers.Accept.ParseAdd(MediaTypes.DockerManifestList);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Tokens.IssueToken("reader", [("repository", name, ["pull"])]));
            using var response = await client.SendAsync(request);
            Assert.Equal(expected, response.StatusCode);
        }

        // A token for the right repository, signed by a key the registry does not trust, is refused.
        await using var impostor = TokenAuthServer.Start(fixture.Tokens.Options);
        using var forged = new HttpRequestMessage(HttpMethod.Get, "v2/google_containers/pause/manifests/3.2");
        forged.Headers.Authorization = new AuthenticationHeaderValue("Bearer", impostor.IssueToken("reader", [("repository", "google_containers/pause", ["pull"])]));
        using var refused = await client.SendAsync(forged);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task Docker_config_credentials_get_pull_tokens_with_basic_auth()
    {
        using var dir = new TempDir();
        var dockerConfig = dir.Sub("docker");
        var auth = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{PrivateTokenRegistryFixture.Reader.Username}:{PrivateTokenRegistryFixture.Reader.Password}"));
        await File.WriteAllTextAsync(Path.Combine(dockerConfig, "config.json"),
            "{\"auths\":{\"" + fixture.Registry.Host + "\":{\"auth\":\"" + auth + "\"}}}");
        var before = fixture.Tokens.Requests.Count;
        var bundles = Path.Combine(dir.Path, "out");

        var result = await new AirgapCli { Cache = dir.Sub("c"), DockerConfig = dockerConfig }.RunAsync(BuildArgs(fixture.Registry.Host, bundles));
        AssertBundle(result, bundles);

        var requests = RequestsSince(before);
        AssertPullScopesOnly(requests);
        Assert.All(requests, r =>
        {
            Assert.True(r.BasicAuth);
            Assert.Equal("reader", r.Username);
            Assert.Equal(200, r.Status);
            Assert.Equal(r.Scopes, r.Granted);
        });
    }

    [Fact]
    public async Task Username_and_password_flags_get_pull_tokens()
    {
        using var dir = new TempDir();
        var before = fixture.Tokens.Requests.Count;
        var bundles = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(BuildArgs(fixture.Registry.Host, bundles,
            "--username", PrivateTokenRegistryFixture.Reader.Username, "--password", PrivateTokenRegistryFixture.Reader.Password));
        AssertBundle(result, bundles);

        var requests = RequestsSince(before);
        AssertPullScopesOnly(requests);
        Assert.All(requests, r => Assert.True(r.BasicAuth && r.Username == "reader" && r.Status == 200, r.ToString()));
    }

    [Fact]
    public async Task A_wrong_password_is_one_line_naming_the_registry_and_nothing_is_written()
    {
        using var dir = new TempDir();
        var before = fixture.Tokens.Requests.Count;
        var bundles = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(BuildArgs(fixture.Registry.Host, bundles,
            "--username", PrivateTokenRegistryFixture.Reader.Username, "--password", "not-the-password"));
        AssertOneLineError(result, fixture.Registry.Host, "rejected", "401", "reader");
        Assert.DoesNotContain("not-the-password", result.Stderr, StringComparison.Ordinal);
        AssertNothingWritten(bundles);
        Assert.All(RequestsSince(before), r => Assert.Equal(401, r.Status));
    }

    [Fact]
    public async Task Anonymous_pull_of_a_private_registry_is_one_line_asking_for_a_login()
    {
        using var dir = new TempDir();
        var before = fixture.Tokens.Requests.Count;
        var bundles = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(BuildArgs(fixture.Registry.Host, bundles));
        // Docker Hub style: the token service hands out a token without access, the registry answers 401.
        AssertOneLineError(result, fixture.Registry.Host, "401");
        AssertNothingWritten(bundles);
        Assert.All(RequestsSince(before), r => Assert.True(!r.BasicAuth && r.Status == 200 && r.Granted.Count == 0, r.ToString()));
    }

    [Fact]
    public async Task A_token_service_that_refuses_anonymous_requests_is_one_line_asking_for_a_login()
    {
        await using var registry = await RegistryServer.StartAsync(new RegistryOptions
        {
            TokenAuth = new TokenAuthOptions { AnonymousPull = false, AnonymousDenial = AnonymousDenial.Unauthorized },
        });
        await SampleImages.PushKubernetesSetAsync(registry, arches: ["amd64"]);
        using var dir = new TempDir();
        var bundles = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(BuildArgs(registry.Host, bundles));
        AssertOneLineError(result, registry.Host, "401", "--username");
        AssertNothingWritten(bundles);
    }
}
