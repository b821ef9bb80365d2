using System.Globalization;
using System.IO.Compression;
using System.Text;
using Airgap.Oci;

namespace Airgap.Packages.Apt;

/// <summary>
/// Writes the index of a flat apt repository — the .deb files side by side at its root — that apt reads
/// with no network as <c>deb [trusted=yes] file:/path ./</c>: Packages, Packages.gz and a Release with
/// their SHA256. Each entry is the source index's own stanza with only Filename changed, so Depends,
/// sizes and checksums stay exactly what apt saw upstream. Same packages, same bytes: entries sorted,
/// a constant Date in Release, no timestamp in the gzip header.
/// </summary>
public static class AptRepositoryWriter
{
    /// <summary>The index files as (path relative to the repository root, content); the .debs go beside them under <see cref="ResolvedPackage.FileName"/>.</summary>
    public static IReadOnlyList<(string RelativePath, byte[] Content)> Write(IReadOnlyList<ResolvedPackage> packages)
    {
        var sorted = packages
            .DistinctBy(p => p.FileName, StringComparer.Ordinal)
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => DebianVersion.Parse(p.Version))
            .ThenBy(p => p.Architecture, StringComparer.Ordinal)
            .ToList();

        var text = new StringBuilder();
        foreach (var p in sorted)
        {
            if (p.FileName.Contains('/', StringComparison.Ordinal) || p.FileName.StartsWith('.'))
                throw new ArgumentException($"package file name \"{p.FileName}\" must be a bare file name", nameof(packages));
            var stanza = ControlStanza.ParseAll(p.Control, $"{p.Repository} {p.Name}");
            if (stanza.Count != 1) throw new ArgumentException($"the control text of {p.Name} {p.Version} is not one stanza", nameof(packages));
            // Relative to the repository root, the URI in sources.list; "./" as dpkg-scanpackages writes it.
            text.Append(stanza[0].WithField("Filename", "./" + p.FileName)).Append("\n\n");
        }
        var plain = Encoding.UTF8.GetBytes(text.ToString());
        var gz = Gzip(plain);

        var archs = sorted.Select(p => p.Architecture).Where(a => a != "all").Distinct().Order(StringComparer.Ordinal).ToList();
        var release = new StringBuilder()
            .Append("Origin: airgap\n")
            .Append("Label: airgap\n")
            // apt warns "Invalid 'Date' entry" when there is none. The epoch is constant (byte-identical bundles), never
            // "not valid yet", and never older than what a previous bundle's repository said.
            .Append("Date: Thu, 01 Jan 1970 00:00:00 UTC\n")
            .Append(archs.Count > 0 ? $"Architectures: {string.Join(' ', archs)}\n" : "")
            .Append("Description: packages carried by an airgap bundle\n")
            .Append("SHA256:\n")
            .Append(CultureInfo.InvariantCulture, $" {Digest.Of(plain).Hex} {plain.Length} Packages\n")
            .Append(CultureInfo.InvariantCulture, $" {Digest.Of(gz).Hex} {gz.Length} Packages.gz\n");

        return
        [
            ("Packages", plain),
            ("Packages.gz", gz),
            ("Release", Encoding.UTF8.GetBytes(release.ToString())),
        ];
    }

    internal static byte[] Gzip(byte[] data) => ReproducibleGzip.Compress(data, CompressionLevel.Optimal);
}
