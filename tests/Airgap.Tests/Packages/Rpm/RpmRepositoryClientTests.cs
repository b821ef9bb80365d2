using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Airgap.Artifacts;
using Airgap.Oci;
using Airgap.Packages;
using Airgap.Packages.Rpm;
using static Airgap.Tests.Packages.Rpm.PrimaryXml;

namespace Airgap.Tests.Packages.Rpm;

/// <summary>The client against an in-memory server; the real gpg/createrepo_c repositories are in the integration tests.</summary>
public sealed class RpmRepositoryClientTests : IDisposable
{
    private static readonly Uri BaseUrl = new("http://repo.example/el7");
    private readonly string _cache = Directory.CreateTempSubdirectory("airgap-rpmclient-").FullName;
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    [Fact]
    public async Task Reads_plain_or_gzip_primary_and_resolves_package_urls()
    {
        Serve(Encoding.UTF8.GetBytes(Document(Package("kubectl", "1.20.2-0"))), gzip: false);
        var index = await Client(allowUnsigned: true).LoadAsync(Repo(null), CancellationToken.None);
        var kubectl = index.Packages.Single();
        Assert.Equal(new Uri("http://repo.example/el7/Packages/kubectl-1.20.2-0.x86_64.rpm"), index.UrlOf(kubectl));

        Serve(Encoding.UTF8.GetBytes(Document(Package("kubectl", "1.20.2-0"), Package("kubelet", "1.20.2-0"))), gzip: true);
        Assert.Equal(2, (await Client(allowUnsigned: true).LoadAsync(Repo(null), CancellationToken.None)).Packages.Count);
    }

    [Fact]
    public async Task Verifies_binary_and_text_mode_signatures_with_the_repository_key()
    {
        var (keyFile, sign) = Key();
        Serve(Encoding.UTF8.GetBytes(Document(Package("kubectl", "1.20.2-0"))), gzip: true);
        foreach (var textMode in new[] { false, true })
        {
            _files["/el7/repodata/repomd.xml.asc"] = sign(_files["/el7/repodata/repomd.xml"], textMode);
            var index = await Client(allowUnsigned: false).LoadAsync(Repo(keyFile), CancellationToken.None);
            Assert.Matches("^[0-9A-F]{16}$", index.SigningKey);
        }
        _files.Remove("/el7/repodata/repomd.xml.asc");
        var e = await Assert.ThrowsAsync<AirgapException>(() => Client(allowUnsigned: true).LoadAsync(Repo(keyFile), CancellationToken.None));
        Assert.Contains("cannot fetch repodata/repomd.xml.asc, needed because the repository has a key", e.Message);
    }

    [Fact]
    public async Task Refuses_what_repomd_does_not_vouch_for()
    {
        Serve(Encoding.UTF8.GetBytes(Document(Package("kubectl", "1.20.2-0"))), gzip: true, openChecksum: new string('a', 64));
        var e = await Assert.ThrowsAsync<AirgapException>(() => Client(allowUnsigned: true).LoadAsync(Repo(null), CancellationToken.None));
        Assert.Matches("decompresses to sha256 [0-9a-f]{64}, repomd.xml says a{64}; refusing it", e.Message);

        Serve(Encoding.UTF8.GetBytes(Document(Package("kubectl", "1.20.2-0"))), gzip: true, checksumType: "sha");
        e = await Assert.ThrowsAsync<AirgapException>(() => Client(allowUnsigned: true).LoadAsync(Repo(null), CancellationToken.None));
        Assert.Contains("gives primary metadata a 'sha' checksum; airgap trusts sha256 only", e.Message);

        _files["/el7/repodata/repomd.xml"] = "<html>mirror error page</html>"u8.ToArray();
        e = await Assert.ThrowsAsync<AirgapException>(() => Client(allowUnsigned: true).LoadAsync(Repo(null), CancellationToken.None));
        Assert.Contains("is not a yum repository index", e.Message);

        e = await Assert.ThrowsAsync<AirgapException>(() => Client(allowUnsigned: true).LoadAsync(Repo(null) with { Kind = RepositoryKind.Apt }, CancellationToken.None));
        Assert.Contains("not rpm", e.Message);
    }

    private RpmRepositoryClient Client(bool allowUnsigned) =>
        new(new FileDownloader(new BlobCache(_cache), NullProgress.Instance, new MapHandler(_files)) { MaxAttempts = 1 }, NullProgress.Instance)
        {
            AllowUnsigned = allowUnsigned,
        };

    private static PackageRepository Repo(string? key) => new("test", RepositoryKind.Rpm, BaseUrl, null, [], key);

    private void Serve(byte[] primaryXml, bool gzip, string checksumType = "sha256", string? openChecksum = null)
    {
        var stored = gzip ? RpmRepositoryWriter.Gzip(primaryXml) : primaryXml;
        var sha = Convert.ToHexStringLower(SHA256.HashData(stored));
        var href = $"repodata/{sha}-primary.xml{(gzip ? ".gz" : "")}";
        _files["/el7/" + href] = stored;
        _files["/el7/repodata/repomd.xml"] = Encoding.UTF8.GetBytes($"""
            <?xml version="1.0" encoding="UTF-8"?>
            <repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
              <revision>1610590000</revision>
              <data type="primary">
                <checksum type="{checksumType}">{sha}</checksum>
                <open-checksum type="sha256">{openChecksum ?? Convert.ToHexStringLower(SHA256.HashData(primaryXml))}</open-checksum>
                <location href="{href}"/>
                <timestamp>1610590000</timestamp>
              </data>
            </repomd>

            """);
    }

    /// <summary>
    /// A throwaway key and a signer giving armored detached signatures. The key file is two armored
    /// blocks, a decoy first, as the Kubernetes yum-key.gpg is (several keys, one after the other).
    /// </summary>
    private (string KeyFile, Func<byte[], bool, byte[]> Sign) Key()
    {
        var key = TestPgpKey.Create("test repo");
        var keyFile = Path.Combine(_cache, "key.asc");
        File.WriteAllBytes(keyFile, [.. TestPgpKey.Create("decoy").PublicKey(armored: true), .. key.PublicKey(armored: true)]);
        return (keyFile, (data, textMode) => key.Sign(data, textMode));
    }

    private sealed class MapHandler(Dictionary<string, byte[]> files) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(files.TryGetValue(request.RequestUri!.AbsolutePath, out var body)
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(body) }
                : new HttpResponseMessage(HttpStatusCode.NotFound));
    }
}
