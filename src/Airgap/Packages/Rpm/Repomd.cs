using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Airgap.Packages.Rpm;

/// <summary>One &lt;data&gt; of repomd.xml: where an index lives and the checksums that vouch for it.</summary>
public sealed record RepomdData(
    string Type,
    string LocationHref,
    string ChecksumType,
    string Checksum,
    string? OpenChecksumType,
    string? OpenChecksum,
    long? Size);

/// <summary>repodata/repomd.xml, the signed root of a yum repository.</summary>
public sealed record Repomd(IReadOnlyList<RepomdData> Data)
{
    public const string Namespace = "http://linux.duke.edu/metadata/repo";
    private static readonly XNamespace Repo = Namespace;

    public RepomdData? Find(string type) => Data.FirstOrDefault(d => d.Type == type);

    public static Repomd Parse(string xml, string source)
    {
        XDocument doc;
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            doc = XDocument.Load(reader);
        }
        catch (XmlException e)
        {
            throw new AirgapException($"{source}: repomd.xml is not valid XML (line {e.LineNumber}): {e.Message}", e);
        }
        if (doc.Root is not { } root || root.Name != Repo + "repomd")
            throw new AirgapException($"{source}: repodata/repomd.xml is not a yum repository index (no <repomd> root); check the repository URL");
        var data = root.Elements(Repo + "data").Select(d =>
        {
            var type = (string?)d.Attribute("type") ?? "";
            var checksum = d.Element(Repo + "checksum");
            var open = d.Element(Repo + "open-checksum");
            var href = (string?)d.Element(Repo + "location")?.Attribute("href");
            if (checksum is null || string.IsNullOrWhiteSpace(href))
                throw new AirgapException($"{source}: repomd.xml entry '{type}' has no checksum or location; the repository metadata is broken");
            long? size = long.TryParse(d.Element(Repo + "size")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
            return new RepomdData(type, href.Trim(),
                ((string?)checksum.Attribute("type") ?? "").ToLowerInvariant(), checksum.Value.Trim().ToLowerInvariant(),
                ((string?)open?.Attribute("type"))?.ToLowerInvariant(), open?.Value.Trim().ToLowerInvariant(), size);
        }).ToArray();
        return new Repomd(data);
    }
}
