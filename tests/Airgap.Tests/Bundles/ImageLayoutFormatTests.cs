using System.Security.Cryptography;
using System.Text;
using Airgap.Bundles;
using Airgap.Oci;

namespace Airgap.Tests.Bundles;

/// <summary>
/// What verify accepts in images/: byte-exact documents (an index naming platforms the bundle does not
/// carry, Docker-typed manifests) and the bundles written before that (OCI rewrites, no index kept).
/// </summary>
public sealed class ImageLayoutFormatTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("airgap-layout-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);

    private static string DigestOf(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    private sealed record Doc(string MediaType, byte[] Bytes)
    {
        public string Digest => DigestOf(Bytes);
        public string Descriptor(string? platform = null, string? name = null) =>
            $$"""{"mediaType":"{{MediaType}}","digest":"{{Digest}}","size":{{Bytes.Length}}{{(platform is null ? "" : $$""","platform":{"architecture":"{{platform}}","os":"linux"}""")}}{{(name is null ? "" : $$""","annotations":{"{{OciLayout.ContainerdNameAnnotation}}":"{{name}}"}""")}}}""";
    }

    private static (Doc Manifest, List<BundleMember> Blobs) Image(string mediaType, string layerMediaType, string seed)
    {
        var config = Json($$"""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"seed":"{{seed}}"}""");
        var layer = Encoding.UTF8.GetBytes("layer " + seed);
        var manifest = new Doc(mediaType, Json($$"""{"schemaVersion":2,"mediaType":"{{mediaType}}","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{{DigestOf(config)}}","size":{{config.Length}}},"layers":[{"mediaType":"{{layerMediaType}}","digest":"{{DigestOf(layer)}}","size":{{layer.Length}}}]}"""));
        return (manifest, [Blob(config), Blob(layer), Blob(manifest.Bytes)]);
    }

    private static BundleMember Blob(byte[] bytes) => BundleMember.FromBytes("images/blobs/sha256/" + DigestOf(bytes)[7..], bytes);

    private async Task<VerifyReport> WriteAndVerifyAsync(BundleDocument document, string indexJson, IEnumerable<BundleMember> blobs)
    {
        var path = Path.Combine(work, Guid.NewGuid().ToString("N") + ".tar");
        List<BundleMember> members = [BundleMember.FromBytes("images/oci-layout", OciLayout.LayoutFile()), BundleMember.FromBytes("images/index.json", Json(indexJson)), .. blobs.DistinctBy(b => b.Path)];
        await BundleWriter.WriteAsync(path, document, members, NullProgress.Instance, default);
        return await BundleReader.VerifyAsync(path, NullProgress.Instance, BundleTrust.None, default);
    }

    [Fact]
    public async Task A_byte_exact_multi_arch_index_verifies_with_only_the_bundle_s_platform_present()
    {
        var (amd64, blobs) = Image(MediaTypes.DockerManifest, MediaTypes.DockerLayer, "a");
        var arm64 = Image(MediaTypes.DockerManifest, MediaTypes.DockerLayer, "b").Manifest; // named by the index, not carried
        var index = new Doc(MediaTypes.DockerManifestList, Json($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.DockerManifestList}}","manifests":[{{amd64.Descriptor("amd64")}},{{arm64.Descriptor("arm64")}}]}"""));
        var document = new BundleDocument
        {
            Name = "t", Kubernetes = "v1.20.2", Arch = "amd64",
            Images = [new BundleImage { Name = "k8s.gcr.io/pause:3.2", Platform = "linux/amd64", MediaType = amd64.MediaType, Digest = amd64.Digest, IndexDigest = index.Digest, IndexMediaType = index.MediaType }],
        };
        var layout = $$"""{"schemaVersion":2,"manifests":[{{index.Descriptor(name: "k8s.gcr.io/pause:3.2")}}]}""";

        var report = await WriteAndVerifyAsync(document, layout, [.. blobs, Blob(index.Bytes)]);

        Assert.Equal(1, report.Images);
        Assert.Equal(amd64.Digest, report.Document.Images[0].UpstreamDigest);

        var missing = await Assert.ThrowsAsync<AirgapException>(() => WriteAndVerifyAsync(document, layout, [Blob(index.Bytes), .. blobs.Where(b => !b.Path.EndsWith(amd64.Digest[7..], StringComparison.Ordinal))]));
        Assert.Contains($"the linux/amd64 manifest of index {index.Digest} is missing", missing.Message);
    }

    [Fact]
    public async Task A_bundle_from_before_byte_exact_storage_still_verifies_and_names_the_upstream_digest()
    {
        var (oci, blobs) = Image(MediaTypes.OciManifest, "application/vnd.oci.image.layer.v1.tar+gzip", "old");
        const string upstream = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        var document = BundleDocument.Parse($"""
            apiVersion: airgap/v1
            kind: Bundle
            name: t
            kubernetes: v1.20.2
            arch: amd64
            images:
            - name: k8s.gcr.io/pause:3.2
              source: registry.example/google_containers/pause:3.2
              platform: linux/amd64
              mediaType: {MediaTypes.OciManifest}
              digest: {oci.Digest}
              sourceDigest: {upstream}
              listDigest: sha256:2222222222222222222222222222222222222222222222222222222222222222
              size: 1
            """, "old bundle.yaml");

        var report = await WriteAndVerifyAsync(document, $$"""{"schemaVersion":2,"manifests":[{{oci.Descriptor("amd64", "k8s.gcr.io/pause:3.2")}}]}""", blobs);

        Assert.Equal(upstream, report.Document.Images[0].UpstreamDigest);
        Assert.Equal(oci.Digest, report.Document.Images[0].TargetDigest);
    }
}
