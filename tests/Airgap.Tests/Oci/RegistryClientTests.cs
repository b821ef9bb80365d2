using Airgap.Oci;

namespace Airgap.Tests.Oci;

public sealed class RegistryClientTests
{
    [Fact]
    public void Parses_a_bearer_challenge()
    {
        var p = RegistryClient.ParseChallenge("realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/nginx:pull\"");
        Assert.Equal("https://auth.docker.io/token", p["realm"]);
        Assert.Equal("registry.docker.io", p["service"]);
        Assert.Equal("repository:library/nginx:pull", p["scope"]);
    }

    [Theory]
    [InlineData("127.0.0.1:5000", true)]
    [InlineData("localhost:5000", true)]
    [InlineData("[::1]:5000", true)]
    [InlineData("registry.example:5000", false)]
    [InlineData("mirror.lan", true)]
    public void Plain_http_only_for_loopback_and_named_hosts(string host, bool plain)
    {
        using var client = new RegistryClient(new RegistryClientOptions { PlainHttpHosts = new HashSet<string> { "mirror.lan" } });
        Assert.Equal(plain, client.UsesPlainHttp(host));
    }

    [Fact]
    public void Reads_docker_config_auths()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var path = Path.Combine(dir.FullName, "config.json");
            File.WriteAllText(path, """
                {"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYTpzcw=="},
                          "mirror.example:5000":{"username":"u2","password":"p2"}}}
                """);
            var creds = new RegistryCredentials();
            creds.Add("mirror.example:5000", new RegistryCredential("flag", "wins"));
            creds.AddDockerConfig(path);
            Assert.Equal(new RegistryCredential("user", "pa:ss"), creds.Find("docker.io"));
            Assert.Equal("flag", creds.Find("mirror.example:5000")!.Username);
            Assert.Null(creds.Find("quay.io"));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Detects_media_type_from_the_document_when_the_header_is_generic()
    {
        Assert.Equal(MediaTypes.DockerManifestList, ManifestJson.DetectMediaType(
            """{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"""u8, "application/json"));
        Assert.Equal(MediaTypes.OciIndex, ManifestJson.DetectMediaType("""{"schemaVersion":2,"manifests":[]}"""u8, null));
        Assert.Equal(MediaTypes.OciManifest, ManifestJson.DetectMediaType("""{"schemaVersion":2,"layers":[]}"""u8, "text/plain"));
    }

    [Theory]
    [InlineData("arm64", null, "arm64", "v8", true)]
    [InlineData("arm64", "v8", "arm64", null, true)]
    [InlineData("amd64", null, "arm64", null, false)]
    [InlineData("arm", "v7", "arm", "v6", false)]
    public void Platform_matching_treats_arm64_v8_as_arm64(string arch, string? variant, string wantArch, string? wantVariant, bool matches) =>
        Assert.Equal(matches, new Platform(arch, "linux", variant).Matches(new Platform(wantArch, "linux", wantVariant)));

    /// <summary>A registry that stores what it is sent under another digest: answers PUTs with a Docker-Content-Digest of its own.</summary>
    private sealed class RewritingRegistry : HttpMessageHandler
    {
        public const string Other = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = new HttpResponseMessage(System.Net.HttpStatusCode.Created);
            response.Headers.TryAddWithoutValidation("Docker-Content-Digest", Other);
            return Task.FromResult(response);
        }
    }

    [Fact]
    public async Task A_registry_that_answers_another_digest_for_a_manifest_is_refused()
    {
        using var client = new RegistryClient(new RegistryClientOptions(), new RewritingRegistry());
        var manifest = """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"""u8.ToArray();

        var e = await Assert.ThrowsAsync<RegistryException>(() => client.PutManifestAsync(ImageReference.Parse("harbor.site/k8s/pause:3.2"), MediaTypes.OciManifest, manifest, default));

        Assert.Equal($"registry harbor.site answered digest {RewritingRegistry.Other} for harbor.site/k8s/pause:3.2, but the manifest sent is {Digest.Of(manifest)}: " +
                     "it rewrites manifests, so pinned references would break; use a registry that stores them as sent", e.Message);
    }
}
