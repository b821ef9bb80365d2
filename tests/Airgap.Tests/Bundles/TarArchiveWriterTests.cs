using System.Formats.Tar;
using System.Security.Cryptography;
using Airgap.Bundles;

namespace Airgap.Tests.Bundles;

public sealed class TarArchiveWriterTests
{
    [Fact]
    public async Task Writes_a_tar_that_the_runtime_reader_reads_back()
    {
        var big = RandomNumberGenerator.GetBytes(1000);
        var longName = "images/blobs/sha256/" + new string('a', 64) + "/" + new string('b', 60);
        using var output = new MemoryStream();
        var tar = new TarArchiveWriter(output);
        var hash = await tar.WriteFileAsync("a.txt", "hello"u8.ToArray(), 0x1A4, default);
        await tar.WriteFileAsync(longName, big, 0x1ED, default);
        await tar.FinishAsync(default);
        Assert.Equal(SHA256.HashData("hello"u8), hash);
        Assert.Equal(0, output.Length % 512);

        output.Position = 0;
        var reader = new TarReader(output);
        var first = reader.GetNextEntry()!;
        Assert.Equal("a.txt", first.Name);
        Assert.Equal(5, first.Length);
        Assert.Equal(TarArchiveWriter.FixedMtime, first.ModificationTime.ToUnixTimeSeconds());
        Assert.Equal(0, first.Uid);
        var second = reader.GetNextEntry()!;
        Assert.Equal(longName, second.Name);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead |
                     UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, second.Mode);
        using var data = new MemoryStream();
        second.DataStream!.CopyTo(data);
        Assert.Equal(big, data.ToArray());
        Assert.Null(reader.GetNextEntry());
    }

    [Fact]
    public async Task Refuses_a_source_shorter_than_declared()
    {
        var tar = new TarArchiveWriter(new MemoryStream());
        await Assert.ThrowsAsync<SourceEndedException>(() => tar.WriteFileAsync("x", new MemoryStream(new byte[3]), 10, 0x1A4, default));
    }

    [Theory]
    [InlineData("../etc/passwd", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("images/../../x", false)]
    [InlineData("a\\b", false)]
    [InlineData("./a", false)]
    [InlineData("images/blobs/sha256/abc", true)]
    public void Path_safety(string path, bool safe) => Assert.Equal(safe, BundlePaths.IsSafe(path, out _));
}
