using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Airgap.Oci;

namespace Airgap.Packages.Rpm;

/// <summary>
/// Writes the repodata/ of a flat yum repository (the .rpm files side by side at its root) that
/// yum and dnf read from file:// with no network: repomd.xml, primary.xml.gz, filelists.xml.gz and
/// other.xml.gz. Build hosts have no createrepo, and its output carries timestamps; this writes the
/// same bytes for the same packages (constant timestamps, gzip without mtime, sorted entries).
/// </summary>
public static class RpmRepositoryWriter
{
    private static readonly XNamespace Common = RpmPrimaryReader.CommonNamespace;
    private static readonly XNamespace Rpm = RpmPrimaryReader.RpmNamespace;
    private static readonly XNamespace FileLists = "http://linux.duke.edu/metadata/filelists";
    private static readonly XNamespace Other = "http://linux.duke.edu/metadata/other";
    private static readonly XNamespace Repo = Repomd.Namespace;

    /// <summary>
    /// Returns repodata/ files as (path relative to the repository root, content). Each package's
    /// primary entry is the source repository's (<see cref="ResolvedPackage.Control"/>) with its
    /// location rewritten to <see cref="ResolvedPackage.FileName"/>; its full file list is read from
    /// the verified .rpm that <paramref name="rpmPath"/> names (the blob cache path, typically).
    /// </summary>
    public static async Task<IReadOnlyList<(string RelativePath, byte[] Content)>> WriteAsync(
        IReadOnlyList<ResolvedPackage> packages, Func<ResolvedPackage, string> rpmPath, CancellationToken ct)
    {
        var entries = new List<Entry>();
        foreach (var package in Distinct(packages))
        {
            ct.ThrowIfCancellationRequested();
            entries.Add(await EntryAsync(package, rpmPath(package), ct).ConfigureAwait(false));
        }
        entries.Sort((a, b) => a.SortKey.CompareTo(b.SortKey));

        var count = entries.Count.ToString(CultureInfo.InvariantCulture);
        var primary = new XElement(Common + "metadata",
            new XAttribute("xmlns", Common.NamespaceName), new XAttribute(XNamespace.Xmlns + "rpm", Rpm.NamespaceName),
            new XAttribute("packages", count), entries.Select(e => e.Primary));
        var filelists = new XElement(FileLists + "filelists",
            new XAttribute("xmlns", FileLists.NamespaceName), new XAttribute("packages", count),
            entries.Select(e => new XElement(FileLists + "package", Identity(e), VersionOf(FileLists, e.Package.Evr),
                e.Files.Select(f => new XElement(FileLists + "file", f.Type is null ? null : new XAttribute("type", f.Type), f.Path)))));
        var other = new XElement(Other + "otherdata",
            new XAttribute("xmlns", Other.NamespaceName), new XAttribute("packages", count),
            entries.Select(e => new XElement(Other + "package", Identity(e), VersionOf(Other, e.Package.Evr))));

        var files = new List<(string, byte[])>();
        var data = new List<XElement>();
        foreach (var (type, root) in new[] { ("primary", primary), ("filelists", filelists), ("other", other) })
        {
            var open = Serialize(root);
            var compressed = Gzip(open);
            var sha = Digest.Of(compressed).Hex;
            // Named by content like createrepo_c does, so a stale cached copy can never pass for a new one.
            var href = $"repodata/{sha}-{type}.xml.gz";
            files.Add((href, compressed));
            data.Add(new XElement(Repo + "data", new XAttribute("type", type),
                new XElement(Repo + "checksum", new XAttribute("type", "sha256"), sha),
                new XElement(Repo + "open-checksum", new XAttribute("type", "sha256"), Digest.Of(open).Hex),
                new XElement(Repo + "location", new XAttribute("href", href)),
                // A constant: dnf only compares timestamps to decide whether a cached copy is stale.
                new XElement(Repo + "timestamp", "0"),
                new XElement(Repo + "size", compressed.Length.ToString(CultureInfo.InvariantCulture)),
                new XElement(Repo + "open-size", open.Length.ToString(CultureInfo.InvariantCulture))));
        }
        var repomd = new XElement(Repo + "repomd",
            new XAttribute("xmlns", Repo.NamespaceName), new XAttribute(XNamespace.Xmlns + "rpm", Rpm.NamespaceName),
            new XElement(Repo + "revision", "0"), data);
        files.Insert(0, ("repodata/repomd.xml", Serialize(repomd)));
        return files;
    }

    private sealed record Entry(RpmPackage Package, string Sha256, XElement Primary, IReadOnlyList<(string Path, string? Type)> Files, string SortKey);

    private static IEnumerable<ResolvedPackage> Distinct(IReadOnlyList<ResolvedPackage> packages)
    {
        var byFile = new Dictionary<string, ResolvedPackage>(StringComparer.Ordinal);
        foreach (var p in packages)
        {
            if (byFile.TryGetValue(p.FileName, out var seen))
            {
                if (!string.Equals(seen.Sha256, p.Sha256, StringComparison.OrdinalIgnoreCase))
                    throw new AirgapException($"two different packages want the file name {p.FileName} (from {seen.Repository} and {p.Repository}); a flat repository can hold only one");
                continue;
            }
            byFile[p.FileName] = p;
            yield return p;
        }
    }

    private static async Task<Entry> EntryAsync(ResolvedPackage resolved, string path, CancellationToken ct)
    {
        XElement primary;
        try
        {
            primary = XElement.Parse(resolved.Control);
        }
        catch (XmlException e)
        {
            throw new AirgapException($"{resolved.Name} {resolved.Version}: its recorded primary.xml entry is not XML ({e.Message}); it did not come from an rpm repository", e);
        }
        var package = RpmPrimaryReader.Parse(primary, $"{resolved.Repository} entry for {resolved.Name}");

        var header = await RpmHeader.ReadAsync(path, ct).ConfigureAwait(false);
        var (name, version, release, arch) = (header.String(RpmHeader.TagName), header.String(RpmHeader.TagVersion),
            header.String(RpmHeader.TagRelease), header.String(RpmHeader.TagArch));
        // The primary entry and the file must describe the same build, or dnf would install something
        // other than what the metadata promised.
        if (name != package.Name || version != package.Evr.Version || release != (package.Evr.Release ?? "") || arch != package.Arch)
            throw new AirgapException($"{path} is {name}-{version}-{release}.{arch}, but its metadata entry is {package.Nevra}; refusing to write a repository that lies");

        primary.Attributes().Where(a => a.IsNamespaceDeclaration).Remove();
        var location = primary.Element(Common + "location")!;
        location.Attribute(XNamespace.Xml + "base")?.Remove();
        location.SetAttributeValue("href", resolved.FileName);
        var sortKey = $"{package.Name}\0{package.Arch}\0{package.Evr}\0{resolved.FileName}";
        return new Entry(package, resolved.Sha256.ToLowerInvariant(), primary, header.Files(), sortKey);
    }

    private static object[] Identity(Entry e) =>
    [
        new XAttribute("pkgid", e.Sha256),
        new XAttribute("name", e.Package.Name),
        new XAttribute("arch", e.Package.Arch),
    ];

    private static XElement VersionOf(XNamespace ns, RpmVersion evr) =>
        new(ns + "version",
            new XAttribute("epoch", evr.Epoch.ToString(CultureInfo.InvariantCulture)),
            new XAttribute("ver", evr.Version),
            new XAttribute("rel", evr.Release ?? ""));

    private static byte[] Serialize(XElement root)
    {
        var settings = new XmlWriterSettings
        {
            Encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
            Indent = true,
            IndentChars = "  ",
            NewLineChars = "\n",
            NewLineHandling = NewLineHandling.Replace,
        };
        using var buffer = new MemoryStream();
        using (var writer = XmlWriter.Create(buffer, settings))
        {
            new XDocument(new XDeclaration("1.0", "UTF-8", null), root).Save(writer);
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    internal static byte[] Gzip(byte[] data) => ReproducibleGzip.Compress(data, CompressionLevel.SmallestSize);
}
