using System.IO.Compression;

namespace Airgap.Packages;

/// <summary>gzip for the repository writers, with a fixed header so the bytes depend on the content only, not on when or where.</summary>
internal static class ReproducibleGzip
{
    public static byte[] Compress(byte[] data, CompressionLevel level)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, level, leaveOpen: true))
            gzip.Write(data);
        var bytes = output.ToArray();
        bytes.AsSpan(4, 4).Clear(); // MTIME
        bytes[9] = 3; // OS: Unix
        return bytes;
    }
}
