namespace Airgap.Tests;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("65536", 65536)]
    [InlineData("64K", 64 * 1024)]
    [InlineData("64k", 64 * 1024)]
    [InlineData("8M", 8L * 1024 * 1024)]
    [InlineData("8MiB", 8L * 1024 * 1024)]
    [InlineData("8MB", 8L * 1024 * 1024)]
    [InlineData(" 4G ", 4L * 1024 * 1024 * 1024)]
    [InlineData("1T", 1L << 40)]
    public void Reads_sizes_as_operators_write_them(string text, long expected) => Assert.Equal(expected, ByteSize.Parse("--chunk-size", text));

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-1M")]
    [InlineData("1.5G")]
    [InlineData("M")]
    [InlineData("8X")]
    [InlineData("99999999999T")]
    public void Refuses_what_is_not_a_size_in_one_line_naming_the_option(string text)
    {
        var e = Assert.Throws<AirgapException>(() => ByteSize.Parse("--chunk-size", text));
        Assert.StartsWith($"--chunk-size {text} is not a size", e.Message);
    }
}
