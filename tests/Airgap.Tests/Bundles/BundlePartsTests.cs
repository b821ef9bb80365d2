using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Airgap.Bundles;
using Airgap.Bundles.Parts;

namespace Airgap.Tests.Bundles;

/// <summary>A bundle cut into parts reads as the same bytes, sequentially and at any offset, and a bad part is named.</summary>
public sealed class BundlePartsTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("airgap-parts-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string Hex(char c) => new(c, 64);

    private async Task<(string Path, byte[] Bytes)> FileOf(int length, string name = "b.tar")
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        var path = Path.Combine(work, name);
        await File.WriteAllBytesAsync(path, bytes);
        return (path, bytes);
    }

    [Fact]
    public void An_index_reads_back_what_was_written()
    {
        var index = new PartsIndex("b.tar", 25, Hex('a'), [new PartEntry("b.tar.part-001", 10, Hex('b')), new PartEntry("b.tar.part-002", 10, Hex('c')), new PartEntry("b.tar.part-003", 5, Hex('d'))]);

        var text = index.Format();
        var back = PartsIndex.Parse(text, "b.tar.parts");

        Assert.Equal(index.BundleName, back.BundleName);
        Assert.Equal(index.BundleSize, back.BundleSize);
        Assert.Equal(index.BundleSha256, back.BundleSha256);
        Assert.Equal(index.Parts, back.Parts);
        // sha256sum's own format: one "HASH  NAME" line per part, everything else a comment.
        Assert.Equal([$"{Hex('b')}  b.tar.part-001", $"{Hex('c')}  b.tar.part-002", $"{Hex('d')}  b.tar.part-003"],
            text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')));
    }

    public static TheoryData<string, string> BadIndexes => new()
    {
        { "# something else\n", "does not start with" },
        { $"# airgap bundle parts 1\n# part b.tar.part-001 10\n{Hex('b')}  b.tar.part-001\n", "no \"# bundle\" line" },
        { $"# airgap bundle parts 1\n# bundle b.tar 10 {Hex('a')}\n", "lists no parts" },
        { $"# airgap bundle parts 1\n# bundle b.tar 11 {Hex('a')}\n# part b.tar.part-001 10\n{Hex('b')}  b.tar.part-001\n", "add up to 10 bytes, the bundle is 11" },
        { $"# airgap bundle parts 1\n# bundle b.tar 10 {Hex('a')}\n# part b.tar.part-002 10\n{Hex('b')}  b.tar.part-002\n", "part 1 should be b.tar.part-001" },
        { $"# airgap bundle parts 1\n# bundle b.tar 10 {Hex('a')}\n# part ../b.tar.part-001 10\n{Hex('b')}  ../b.tar.part-001\n", "not a plain file name" },
        { $"# airgap bundle parts 1\n# bundle b.tar 10 {Hex('a')}\n# part b.tar.part-001 10\n", "1 parts have sizes but 0 have a sha256" },
        { $"# airgap bundle parts 1\n# bundle b.tar 10 {Hex('a')}\n# part b.tar.part-001 10\nnot-a-hash  b.tar.part-001\n", "bad line" },
        { $"# airgap bundle parts 1\n# bundle b.tar ten {Hex('a')}\n", "bad line" },
    };

    [Theory]
    [MemberData(nameof(BadIndexes))]
    public void A_damaged_index_is_refused_in_one_line(string text, string why)
    {
        var e = Assert.Throws<AirgapException>(() => PartsIndex.Parse(text, "/media/b.tar.parts"));

        Assert.Contains("/media/b.tar.parts", e.Message);
        Assert.Contains(why, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("b.tar.part-001", "b.tar")]
    [InlineData("airgap-k8s-v1.31.4-linux-amd64.tar.part-012", "airgap-k8s-v1.31.4-linux-amd64.tar")]
    [InlineData("b.tar.part-1000", "b.tar")]
    [InlineData("b.tar", null)]
    [InlineData("b.tar.parts", null)]
    [InlineData("b.tar.part-01", null)]
    [InlineData("b.tar.part-00x", null)]
    public void A_part_name_gives_its_bundle(string file, string? bundle) => Assert.Equal(bundle, PartsIndex.BundleNameOfPart(file));

    [Theory]
    [InlineData(1000, 300)]
    [InlineData(1024, 512)]
    [InlineData(1000, 1000)]
    [InlineData(1000, 5000)]
    public async Task Split_parts_joined_are_the_bundle_and_the_index_holds_their_digests(int length, int partSize)
    {
        var (path, bytes) = await FileOf(length);

        var split = await BundleSplitter.SplitAsync(path, partSize, NullProgress.Instance, default);

        Assert.Equal(path + ".parts", split.IndexPath);
        Assert.Equal((length + partSize - 1) / partSize, split.Index.Parts.Count);
        Assert.Equal(bytes, split.PartPaths.SelectMany(File.ReadAllBytes).ToArray());
        Assert.Equal(Sha(bytes), split.Index.BundleSha256);
        foreach (var (part, file) in split.Index.Parts.Zip(split.PartPaths))
            Assert.Equal(part.Sha256, Sha(await File.ReadAllBytesAsync(file)));
        Assert.True(File.Exists(path), "split keeps the whole tar");
        Assert.Empty(Directory.EnumerateFiles(work, ".*"));
        Assert.Equal(split.Index.Parts, PartsIndex.Parse(await File.ReadAllTextAsync(split.IndexPath), split.IndexPath).Parts);
    }

    [Fact]
    public async Task Parts_can_be_written_straight_to_another_directory()
    {
        var (path, bytes) = await FileOf(1000);
        var medium = Directory.CreateDirectory(Path.Combine(work, "medium")).FullName;

        var split = await BundleSplitter.SplitAsync(path, 400, NullProgress.Instance, default, medium);

        Assert.Equal(Path.Combine(medium, "b.tar.parts"), split.IndexPath);
        Assert.Equal(["b.tar.part-001", "b.tar.part-002", "b.tar.part-003", "b.tar.parts"], Directory.EnumerateFiles(medium).Select(Path.GetFileName).Order());
        Assert.Equal(bytes, await ReadAllAsync(StoredBundle.Open(split.IndexPath).OpenSequential()));
        var e = await Assert.ThrowsAsync<AirgapException>(() => BundleSplitter.SplitAsync(path, 400, NullProgress.Instance, default, Path.Combine(work, "nowhere")));
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public async Task Splitting_again_into_fewer_parts_leaves_none_of_the_old_ones()
    {
        var (path, bytes) = await FileOf(1000);
        await BundleSplitter.SplitAsync(path, 100, NullProgress.Instance, default);

        var split = await BundleSplitter.SplitAsync(path, 400, NullProgress.Instance, default);

        Assert.Equal(3, split.PartPaths.Count);
        Assert.Equal(["b.tar", "b.tar.part-001", "b.tar.part-002", "b.tar.part-003", "b.tar.parts"], Directory.EnumerateFiles(work).Select(Path.GetFileName).Order());
        Assert.Equal(bytes, await ReadAllAsync(StoredBundle.Open(split.IndexPath).OpenSequential()));
    }

    [Fact]
    public async Task A_split_that_fails_leaves_nothing_behind()
    {
        var (path, _) = await FileOf(4 << 20);
        using var cts = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => BundleSplitter.SplitAsync(path, 1 << 20, new CancelAfter(cts, 3 << 20), cts.Token));

        Assert.Equal(["b.tar"], Directory.EnumerateFiles(work).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Too_many_parts_are_refused_before_anything_is_written()
    {
        var (path, _) = await FileOf(10_000);

        var e = await Assert.ThrowsAsync<AirgapException>(() => BundleSplitter.SplitAsync(path, 10, NullProgress.Instance, default));

        Assert.Contains("1000 parts, at most 999", e.Message);
        Assert.Equal(["b.tar"], Directory.EnumerateFiles(work).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_split_bundle_is_not_split_again()
    {
        var (path, _) = await FileOf(1000);
        var split = await BundleSplitter.SplitAsync(path, 300, NullProgress.Instance, default);

        var e = await Assert.ThrowsAsync<AirgapException>(() => BundleSplitter.SplitAsync(split.IndexPath, 100, NullProgress.Instance, default));

        Assert.Contains("already split into 4 parts", e.Message);
    }

    [Theory]
    [InlineData("b.tar.parts")]
    [InlineData("b.tar.part-001")]
    [InlineData("b.tar.part-003")]
    [InlineData("b.tar")]
    public async Task The_index_any_part_or_the_missing_tar_open_the_parts_as_one_stream(string given)
    {
        var (path, bytes) = await FileOf(100_000);
        await BundleSplitter.SplitAsync(path, 30_000, NullProgress.Instance, default);
        File.Delete(path);

        var stored = StoredBundle.Open(Path.Combine(work, given));

        Assert.Equal(Path.Combine(work, "b.tar.parts"), stored.Path);
        Assert.Equal(bytes.Length, stored.Length);
        Assert.Equal(bytes, await ReadAllAsync(stored.OpenSequential()));
    }

    [Fact]
    public async Task The_name_a_node_gets_is_the_tar_s_or_the_index_s()
    {
        var (path, _) = await FileOf(1000);
        Assert.Equal("b.tar", StoredBundle.FileNameOf(path));
        await BundleSplitter.SplitAsync(path, 300, NullProgress.Instance, default);
        Assert.Equal("b.tar", StoredBundle.FileNameOf(path));
        File.Delete(path);

        Assert.Equal("b.tar.parts", StoredBundle.FileNameOf(path));
        Assert.Equal("b.tar.parts", StoredBundle.FileNameOf(path + ".part-001"));
        Assert.Equal("b.tar.parts", StoredBundle.FileNameOf(path + ".parts"));
    }

    [Fact]
    public async Task Reads_at_any_offset_cross_part_boundaries()
    {
        var (path, bytes) = await FileOf(10_000);
        await BundleSplitter.SplitAsync(path, 999, NullProgress.Instance, default);
        var stored = StoredBundle.Open(path + ".parts");
        using var view = stored.OpenRandomAccess();

        var random = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            var start = random.Next(bytes.Length);
            var length = random.Next(1, 3000);
            await using var window = new FileWindowStream(view, 0, view.Length, start);
            var read = new byte[length];
            var n = await window.ReadAtLeastAsync(read, length, throwOnEndOfStream: false);
            Assert.Equal(Math.Min(length, bytes.Length - start), n);
            Assert.Equal(bytes.AsSpan(start, n).ToArray(), read[..n]);
        }
        // The sync path and seeking backwards across parts too.
        await using var seekable = stored.OpenSequential();
        seekable.Seek(5_000, SeekOrigin.Begin);
        var buffer = new byte[2_500];
        seekable.ReadExactly(buffer);
        Assert.Equal(bytes.AsSpan(5_000, 2_500).ToArray(), buffer);
        seekable.Seek(-7_000, SeekOrigin.Current);
        seekable.ReadExactly(buffer);
        Assert.Equal(bytes.AsSpan(500, 2_500).ToArray(), buffer);
    }

    [Fact]
    public async Task A_missing_part_is_named_when_the_bundle_is_opened()
    {
        var (path, _) = await FileOf(1000);
        await BundleSplitter.SplitAsync(path, 300, NullProgress.Instance, default);
        File.Delete(path + ".part-003");

        var e = Assert.Throws<AirgapException>(() => StoredBundle.Open(path + ".parts"));

        Assert.Equal($"part {path}.part-003 is missing (4 parts make the bundle); copy it from the media next to b.tar.parts", e.Message);
    }

    [Fact]
    public async Task A_part_that_goes_away_while_the_bundle_is_read_is_named()
    {
        var (path, bytes) = await FileOf(1000);
        await BundleSplitter.SplitAsync(path, 300, NullProgress.Instance, default);
        await using var stream = StoredBundle.Open(path + ".parts").OpenSequential();
        var first = new byte[600];
        await stream.ReadExactlyAsync(first);
        File.Delete(path + ".part-003");

        var e = await Assert.ThrowsAsync<AirgapException>(async () => await stream.ReadExactlyAsync(new byte[1]));

        Assert.Equal(bytes[..600], first);
        Assert.Equal($"{path}.part-003 disappeared while the bundle was being read; copy it again from the media", e.Message);
    }

    [Fact]
    public async Task A_cut_short_part_is_named_when_the_bundle_is_opened()
    {
        var (path, _) = await FileOf(1000);
        await BundleSplitter.SplitAsync(path, 300, NullProgress.Instance, default);
        await using (var part = File.OpenWrite(path + ".part-002")) part.SetLength(299);

        var e = Assert.Throws<AirgapException>(() => StoredBundle.Open(path + ".part-001"));

        Assert.Equal($"part {path}.part-002 is 299 bytes, b.tar.parts says 300: it was cut short or damaged in transfer; copy it again from the media", e.Message);
    }

    [Fact]
    public async Task A_part_without_its_index_says_to_copy_the_index()
    {
        var (path, _) = await FileOf(1000);
        await BundleSplitter.SplitAsync(path, 300, NullProgress.Instance, default);
        File.Delete(path + ".parts");

        var e = Assert.Throws<AirgapException>(() => StoredBundle.Open(path + ".part-001"));

        Assert.Contains("its index", e.Message);
        Assert.Contains("copy b.tar.parts from the media", e.Message);
    }

    [Fact]
    public async Task No_byte_of_a_damaged_part_is_read_and_the_part_is_named()
    {
        var (path, bytes) = await FileOf(1000);
        await BundleSplitter.SplitAsync(path, 300, NullProgress.Instance, default);
        var part = await File.ReadAllBytesAsync(path + ".part-002");
        part[17] ^= 0x01;
        await File.WriteAllBytesAsync(path + ".part-002", part);
        var stored = StoredBundle.Open(path + ".parts");

        await using var stream = stored.OpenSequential();
        var first = new byte[300];
        await stream.ReadExactlyAsync(first);
        Assert.Equal(bytes[..300], first);
        var e = await Assert.ThrowsAsync<AirgapException>(async () => await stream.ReadExactlyAsync(new byte[1]));
        Assert.StartsWith($"part {path}.part-002 has sha256 {Sha(part)}, b.tar.parts says ", e.Message);
        Assert.EndsWith("it was damaged in transfer; copy it again from the media (sha256sum -c b.tar.parts checks every part)", e.Message);

        using var view = stored.OpenRandomAccess();
        var again = await Assert.ThrowsAsync<AirgapException>(async () => await view.ReadAsync(new byte[10], 350, default));
        Assert.Equal(e.Message, again.Message);
        Assert.Equal(10, await view.ReadAsync(new byte[10], 950, default));
    }

    [Fact]
    public async Task Members_of_a_tar_split_off_header_boundaries_read_in_place_and_stream_out()
    {
        var path = Path.Combine(work, "m.tar");
        var members = Enumerable.Range(0, 6).Select(i => ($"images/blobs/sha256/m{i}", RandomBytes(i * 700 + 13))).ToList();
        await using (var file = File.Create(path))
        await using (var tar = new TarWriter(file, TarEntryFormat.Pax))
            foreach (var (name, content) in members)
                await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        await BundleSplitter.SplitAsync(path, 777, NullProgress.Instance, default);
        File.Delete(path);

        using var index = await BundleIndex.OpenAsync(path + ".parts", default);
        foreach (var (name, content) in members)
        {
            var member = index.Find(name)!;
            Assert.Equal(content, await index.ReadCheckedAsync(member, Sha(content), 1 << 20, default));
            Assert.Equal(content, await BundleExtractor.ReadTarMemberAsync(path + ".part-001", name, default));
        }
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            using var memory = new MemoryStream();
            await stream.CopyToAsync(memory);
            return memory.ToArray();
        }
    }

    private sealed class CancelAfter(CancellationTokenSource cts, long bytes) : IProgressSink
    {
        private long seen;
        public void Info(string line) { }
        public void Warn(string line) { }
        public void TransferStarted(string id, string label, long size) { }
        public void TransferAdvanced(string id, long n)
        {
            if ((seen += n) >= bytes) cts.Cancel();
        }
        public void TransferFinished(string id, bool fromCache) { }
    }
}
