using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Airgap.Artifacts;
using Airgap.Oci;

namespace Airgap.Tests.Oci;

/// <summary>
/// The build's composition of image ends without a network: an in-memory source (offsets asked for
/// recorded, a stream cut on demand) into the blob cache as a sink, through the copier; and the registry
/// source against a scripted HTTP handler (mirror fallback, a registry that ignores Range).
/// </summary>
public sealed class ImageCompositionTests : IDisposable
{
    private static readonly DownloadPolicy Quick = new(4, TimeSpan.FromSeconds(5), _ => TimeSpan.Zero);
    private static readonly ImageReference App = ImageReference.Parse("example.test/team/app:1.0");

    private readonly string root = Directory.CreateTempSubdirectory("airgap-compose-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public async Task The_cache_sink_continues_a_partial_from_the_source_after_a_cut_and_checks_the_whole()
    {
        var cache = new BlobCache(root);
        var source = new MemorySource();
        var blob = source.AddBlob(Bytes(300_000, 1));
        var content = source.Blobs[blob.Digest];
        await File.WriteAllBytesAsync(Path.Combine(root, "tmp", $"{blob.ParsedDigest.Hex}.partial"), content[..100_000]);
        source.CutAfter = 50_000;
        var sink = new CacheImageSink(cache, Quick);

        await sink.PutBlobAsync(App, blob, (start, ct) => source.OpenBlobAsync(blob, start, ct), null, default);

        Assert.Equal([100_000L, 150_000L], source.Asked);
        Assert.Equal(content, await File.ReadAllBytesAsync(cache.PathOf(blob.ParsedDigest)));
        Assert.True(sink.DownloadedThisRun(blob.Digest));
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "tmp")));
        Assert.True(await sink.EnsureBlobWithoutUploadAsync(App, blob, default));
    }

    [Fact]
    public async Task A_large_blob_comes_in_ranges_side_by_side_and_is_checked_whole()
    {
        var cache = new BlobCache(root);
        var source = new MemorySource();
        var blob = source.AddBlob(Bytes(20 * 1024 * 1024 + 3, 5));
        var sink = new CacheImageSink(cache, Quick);
        var reported = 0L;

        await sink.PutBlobAsync(App, blob, (start, ct) => source.OpenBlobAsync(blob, start, ct), n => Interlocked.Add(ref reported, n), default);

        // 20 MiB in 5 ranges of about 4 MiB, each asked for at its start.
        var segment = (blob.Size + 4) / 5;
        Assert.Equal(Enumerable.Range(0, 5).Select(i => i * segment), source.Asked.Order());
        Assert.Equal(source.Blobs[blob.Digest], await File.ReadAllBytesAsync(cache.PathOf(blob.ParsedDigest)));
        Assert.Equal(blob.Size, reported);
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "tmp")));
    }

    [Fact]
    public async Task Ranges_a_killed_run_left_are_continued_each_from_its_own_end()
    {
        var cache = new BlobCache(root);
        var source = new MemorySource();
        var blob = source.AddBlob(Bytes(16 * 1024 * 1024, 6));
        var content = source.Blobs[blob.Digest];
        var partial = Path.Combine(root, "tmp", $"{blob.ParsedDigest.Hex}.partial");
        const int segment = 4 * 1024 * 1024;
        await File.WriteAllBytesAsync(partial, content[..1000]);
        await File.WriteAllBytesAsync(SegmentedBlobDownload.SegmentPath(partial, 2), content[(2 * segment)..(2 * segment + 5000)]);
        await File.WriteAllBytesAsync(SegmentedBlobDownload.SegmentPath(partial, 3), content[(3 * segment)..(4 * segment)]);

        await new CacheImageSink(cache, Quick).PutBlobAsync(App, blob, (start, ct) => source.OpenBlobAsync(blob, start, ct), null, default);

        // Segment 3 was complete: not asked for again.
        Assert.Equal([1000L, segment, 2L * segment + 5000], source.Asked.Order());
        Assert.Equal(content, await File.ReadAllBytesAsync(cache.PathOf(blob.ParsedDigest)));
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "tmp")));
    }

    [Fact]
    public async Task A_partial_longer_than_the_first_range_is_continued_in_one_piece_and_stray_ranges_go()
    {
        var cache = new BlobCache(root);
        var source = new MemorySource();
        var blob = source.AddBlob(Bytes(16 * 1024 * 1024, 7));
        var content = source.Blobs[blob.Digest];
        var partial = Path.Combine(root, "tmp", $"{blob.ParsedDigest.Hex}.partial");
        // Killed while the ranges were appended: the partial has more than range 0, a range file is still there.
        await File.WriteAllBytesAsync(partial, content[..(6 * 1024 * 1024)]);
        await File.WriteAllBytesAsync(SegmentedBlobDownload.SegmentPath(partial, 3), content[(12 * 1024 * 1024)..(13 * 1024 * 1024)]);

        await new CacheImageSink(cache, Quick).PutBlobAsync(App, blob, (start, ct) => source.OpenBlobAsync(blob, start, ct), null, default);

        Assert.Equal([6L * 1024 * 1024], source.Asked);
        Assert.Equal(content, await File.ReadAllBytesAsync(cache.PathOf(blob.ParsedDigest)));
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "tmp")));
    }

    [Fact]
    public async Task Ranges_that_do_not_make_the_blob_are_refused_and_nothing_is_cached()
    {
        var cache = new BlobCache(root);
        var source = new MemorySource();
        var blob = source.AddBlob(Bytes(16 * 1024 * 1024, 8));
        var partial = Path.Combine(root, "tmp", $"{blob.ParsedDigest.Hex}.partial");
        var wrong = source.Blobs[blob.Digest][(8 * 1024 * 1024)..(8 * 1024 * 1024 + 100)];
        wrong[0] ^= 0xFF;
        await File.WriteAllBytesAsync(SegmentedBlobDownload.SegmentPath(partial, 2), wrong);

        var e = await Assert.ThrowsAsync<RegistryException>(() =>
            new CacheImageSink(cache, Quick).PutBlobAsync(App, blob, (start, ct) => source.OpenBlobAsync(blob, start, ct), null, default));

        Assert.Contains($"expected {blob.ParsedDigest.Hex}", e.Message);
        Assert.False(cache.Contains(blob.ParsedDigest, blob.Size));
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(root, "tmp")), f => f.EndsWith(".partial", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1024, 1)]
    [InlineData(16L * 1024 * 1024 - 1, 1)]
    [InlineData(16L * 1024 * 1024, 4)]
    [InlineData(36L * 1024 * 1024, 8)]
    [InlineData(2L * 1024 * 1024 * 1024, 8)]
    public void Blobs_are_split_by_size_alone(long size, int segments) => Assert.Equal(segments, SegmentedBlobDownload.SegmentsFor(size));

    [Fact]
    public async Task A_partial_that_is_not_the_blob_is_refused_and_dropped()
    {
        var cache = new BlobCache(root);
        var source = new MemorySource();
        var blob = source.AddBlob(Bytes(10_000, 2));
        var wrong = source.Blobs[blob.Digest][..4_000];
        wrong[0] ^= 0xFF;
        var partial = Path.Combine(root, "tmp", $"{blob.ParsedDigest.Hex}.partial");
        await File.WriteAllBytesAsync(partial, wrong);

        var e = await Assert.ThrowsAsync<RegistryException>(() =>
            new CacheImageSink(cache, Quick).PutBlobAsync(App, blob, (start, ct) => source.OpenBlobAsync(blob, start, ct), null, default));

        Assert.Contains("continued from 4000 bytes an earlier run left; they are discarded, run again", e.Message);
        Assert.False(File.Exists(partial));
        Assert.False(cache.Contains(blob.ParsedDigest, blob.Size));
    }

    [Fact]
    public async Task Only_the_wanted_platform_is_copied_and_the_index_is_kept_byte_exact()
    {
        var cache = new BlobCache(root);
        var source = new MemorySource();
        var (index, manifests) = source.AddIndex(App, "amd64", "arm64");
        var sink = new CacheImageSink(cache, Quick);
        var copier = new ImageCopier(source, sink, NullProgress.Instance) { ReadBack = sink.OpenAsync };

        var started = await copier.StartAsync([new ImageCopy(App, App, [Platform.Linux("arm64")])], default);
        await started.Rest;

        var image = Assert.Single(started.Images);
        Assert.Equal(index, image.Index);
        Assert.Equal(source.Documents[index.Digest], await File.ReadAllBytesAsync(cache.PathOf(index.ParsedDigest)));
        var arm = manifests["arm64"];
        Assert.Equal(arm.Digest, Assert.Single(image.Manifests).Descriptor.Digest);
        foreach (var blob in source.BlobsOf(arm)) Assert.True(cache.Contains(blob.ParsedDigest, blob.Size), blob.Digest);
        foreach (var blob in source.BlobsOf(manifests["amd64"])) Assert.False(cache.Contains(blob.ParsedDigest, blob.Size), blob.Digest);
        Assert.False(File.Exists(cache.PathOf(manifests["amd64"].ParsedDigest)));
        await copier.Landed(App, arm);
        Assert.True(File.Exists(cache.PathOf(arm.ParsedDigest)));
    }

    [Fact]
    public async Task A_platform_the_index_lacks_is_named_with_those_it_has()
    {
        var source = new MemorySource();
        source.AddIndex(App, "amd64", "arm64");
        var sink = new CacheImageSink(new BlobCache(root), Quick);

        var e = await Assert.ThrowsAsync<AirgapException>(() =>
            new ImageCopier(source, sink, NullProgress.Instance).StartAsync([new ImageCopy(App, App, [Platform.Linux("s390x")])], default));

        Assert.Equal($"image {App} has no linux/s390x variant (it has linux/amd64, linux/arm64); pick another --arch or another image", e.Message);
    }

    [Fact]
    public async Task A_single_platform_tag_is_checked_against_its_config_read_back_from_the_sink()
    {
        var source = new MemorySource();
        var manifest = source.AddManifest("amd64");
        source.Names[App.ToString()] = manifest;
        var sink = new CacheImageSink(new BlobCache(root), Quick);
        var readBack = 0;
        var copier = new ImageCopier(source, sink, NullProgress.Instance) { ReadBack = (d, ct) => { readBack++; return sink.OpenAsync(d, ct); } };

        var e = await Assert.ThrowsAsync<AirgapException>(() => copier.StartAsync([new ImageCopy(App, App, [Platform.Linux("arm64")])], default));

        Assert.Equal($"image {App} is built for linux/amd64, not linux/arm64: use a multi-arch tag or another --arch", e.Message);
        Assert.Equal(1, readBack);
        var ok = await new ImageCopier(source, sink, NullProgress.Instance) { ReadBack = sink.OpenAsync }
            .StartAsync([new ImageCopy(App, App, [Platform.Linux("amd64")])], default);
        await ok.Rest;
        Assert.Equal(manifest, Assert.Single(ok.Images).Target);
    }

    [Fact]
    public async Task A_name_falls_back_through_its_mirrors_with_a_warning_and_reads_from_where_it_resolved()
    {
        var manifest = Encoding.UTF8.GetBytes("""{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:""" +
                                             new string('a', 64) + "\",\"size\":2},\"layers\":[]}");
        var registry = new ScriptedRegistry { Manifests = { ["127.0.0.1:5001/team/app"] = manifest }, Blob = Bytes(1000, 3) };
        using var client = new RegistryClient(new RegistryClientOptions { MaxAttempts = 1 }, registry);
        var progress = new Warnings();
        var source = new RegistryImageSource(client, progress,
            [new ImageRequest(App, [ImageReference.Parse("127.0.0.1:5000/team/app:1.0"), ImageReference.Parse("127.0.0.1:5001/team/app:1.0")])]);

        var target = await source.ResolveAsync(App, default);

        Assert.Equal(Digest.Of(manifest).ToString(), target!.Digest);
        Assert.Equal($"{App}: using 127.0.0.1:5001/team/app:1.0 after 127.0.0.1:5000/team/app:1.0 (404 manifest unknown)", Assert.Single(progress.Lines));
        Assert.Equal("127.0.0.1:5001/team/app:1.0", source.SourceOf(App)!.ToString());
        var config = new Descriptor("application/vnd.docker.container.image.v1+json", "sha256:" + new string('a', 64), 2);
        await using (var stream = await source.OpenBlobAsync(config, 0, default)) await stream.CopyToAsync(Stream.Null);
        Assert.Equal("GET /v2/team/app/blobs/sha256:" + new string('a', 64), registry.Requests[^1].Split(' ', 3)[0] + " " + registry.Requests[^1].Split(' ', 3)[1]);
        Assert.StartsWith("127.0.0.1:5001", registry.Requests[^1].Split(' ', 3)[2], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_blob_read_from_an_offset_starts_there_whether_or_not_the_registry_honours_range(bool honoursRange)
    {
        var manifest = Encoding.UTF8.GetBytes("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:""" +
                                             new string('b', 64) + "\",\"size\":200000},\"layers\":[]}");
        var registry = new ScriptedRegistry { Manifests = { ["127.0.0.1:5000/team/app"] = manifest }, Blob = Bytes(200_000, 4), HonoursRange = honoursRange };
        using var client = new RegistryClient(new RegistryClientOptions(), registry);
        var source = new RegistryImageSource(client, NullProgress.Instance);
        var name = ImageReference.Parse("127.0.0.1:5000/team/app:1.0");
        await source.ResolveAsync(name, default);

        await using var stream = await source.OpenBlobAsync(new Descriptor("application/vnd.oci.image.config.v1+json", "sha256:" + new string('b', 64), 200_000), 123_456, default);
        using var read = new MemoryStream();
        await stream.CopyToAsync(read);

        Assert.Equal(registry.Blob[123_456..], read.ToArray());
        Assert.EndsWith(honoursRange ? "-> 206" : "-> 200", registry.Requests[^1], StringComparison.Ordinal);
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private sealed class Warnings : IProgressSink
    {
        public List<string> Lines { get; } = [];
        public void Info(string line) { }
        public void Warn(string line) => Lines.Add(line);
        public void TransferStarted(string id, string label, long size) { }
        public void TransferAdvanced(string id, long bytes) { }
        public void TransferFinished(string id, bool fromCache) { }
    }

    /// <summary>Images in memory, as a bundle or registry would hold them; records the offsets blobs are asked from, and can cut a stream once.</summary>
    private sealed class MemorySource : IImageSource
    {
        public Dictionary<string, byte[]> Blobs { get; } = [];
        public Dictionary<string, byte[]> Documents { get; } = [];
        public Dictionary<string, Descriptor> Names { get; } = [];
        public List<long> Asked { get; } = [];
        public long? CutAfter { get; set; }

        public Descriptor AddBlob(byte[] content, string mediaType = "application/vnd.oci.image.layer.v1.tar+gzip")
        {
            var descriptor = new Descriptor(mediaType, Digest.Of(content).ToString(), content.Length);
            Blobs[descriptor.Digest] = content;
            return descriptor;
        }

        public Descriptor AddManifest(string arch)
        {
            var config = AddBlob(JsonSerializer.SerializeToUtf8Bytes(new { architecture = arch, os = "linux" }), "application/vnd.oci.image.config.v1+json");
            var layer = AddBlob(Bytes(5_000, arch.Sum(c => c)));
            var content = JsonSerializer.SerializeToUtf8Bytes(new ImageManifest(2, MediaTypes.OciManifest, config, [layer]), ManifestJsonOptions);
            var descriptor = new Descriptor(MediaTypes.OciManifest, Digest.Of(content).ToString(), content.Length);
            Documents[descriptor.Digest] = content;
            return descriptor;
        }

        public (Descriptor Index, Dictionary<string, Descriptor> Manifests) AddIndex(ImageReference name, params string[] arches)
        {
            var manifests = arches.ToDictionary(a => a, AddManifest);
            var content = JsonSerializer.SerializeToUtf8Bytes(new ImageIndex(2, MediaTypes.OciIndex,
                arches.Select(a => manifests[a] with { Platform = Platform.Linux(a) }).ToList()), ManifestJsonOptions);
            var index = new Descriptor(MediaTypes.OciIndex, Digest.Of(content).ToString(), content.Length);
            Documents[index.Digest] = content;
            Names[name.ToString()] = index;
            return (index, manifests);
        }

        public IEnumerable<Descriptor> BlobsOf(Descriptor manifest)
        {
            var parsed = ManifestJson.Read<ImageManifest>(Documents[manifest.Digest], "test manifest");
            return parsed.Layers.Prepend(parsed.Config);
        }

        public Task<Descriptor?> ResolveAsync(ImageReference name, CancellationToken ct) => Task.FromResult(Names.GetValueOrDefault(name.ToString()));

        public Task<byte[]> ReadDocumentAsync(Descriptor document, CancellationToken ct) => Task.FromResult(Documents[document.Digest]);

        public Task<bool> HasAsync(Descriptor content, CancellationToken ct) => Task.FromResult(Documents.ContainsKey(content.Digest) || Blobs.ContainsKey(content.Digest));

        public Task<Stream> OpenBlobAsync(Descriptor blob, long start, CancellationToken ct)
        {
            lock (Asked) Asked.Add(start); // segments of one blob ask at once
            var rest = Blobs[blob.Digest][(int)start..];
            if (CutAfter is { } cut && cut < rest.Length)
            {
                CutAfter = null;
                return Task.FromResult<Stream>(new CutStream(rest[..(int)cut]));
            }
            return Task.FromResult<Stream>(new MemoryStream(rest));
        }

        private static readonly JsonSerializerOptions ManifestJsonOptions = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    }

    /// <summary>Delivers its bytes, then fails as a dropped connection does.</summary>
    private sealed class CutStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await base.ReadAsync(buffer, cancellationToken);
            return n > 0 ? n : throw new IOException("connection reset by peer");
        }
    }

    /// <summary>Manifests by repository (404 elsewhere) and one blob for any digest, with or without Range; logs "METHOD PATH HOST -> STATUS".</summary>
    private sealed class ScriptedRegistry : HttpMessageHandler
    {
        public Dictionary<string, byte[]> Manifests { get; } = [];
        public byte[] Blob { get; init; } = [];
        public bool HonoursRange { get; init; } = true;
        public List<string> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            var path = uri.AbsolutePath;
            var end = path.IndexOf("/manifests/", StringComparison.Ordinal) is var m and > 0 ? m : path.IndexOf("/blobs/", StringComparison.Ordinal);
            var repository = $"{uri.Authority}/{path[4..end]}";
            HttpResponseMessage response;
            if (path.Contains("/manifests/", StringComparison.Ordinal))
            {
                response = Manifests.TryGetValue(repository, out var manifest)
                    ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(manifest) }
                    : new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("""{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}""") };
            }
            else if (request.Headers.Range?.Ranges.FirstOrDefault()?.From is { } from && HonoursRange)
            {
                response = new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new ByteArrayContent(Blob[(int)from..]) };
                response.Content.Headers.ContentRange = new ContentRangeHeaderValue(from, Blob.Length - 1, Blob.Length);
            }
            else
            {
                response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Blob) };
            }
            Requests.Add($"{request.Method} {path} {uri.Authority} -> {(int)response.StatusCode}");
            return Task.FromResult(response);
        }
    }
}
