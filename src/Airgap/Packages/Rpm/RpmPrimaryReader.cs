using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Airgap.Packages.Rpm;

/// <summary>
/// Streams the &lt;package&gt; entries out of a primary.xml. A base or EPEL primary is tens to hundreds
/// of megabytes, so only one package element is held at a time (as an XElement, which is also what
/// is kept to reproduce the entry later).
/// </summary>
public static class RpmPrimaryReader
{
    public const string CommonNamespace = "http://linux.duke.edu/metadata/common";
    public const string RpmNamespace = "http://linux.duke.edu/metadata/rpm";

    private static readonly XNamespace Common = CommonNamespace;
    private static readonly XNamespace Rpm = RpmNamespace;

    /// <summary>Reads every package; <paramref name="source"/> names the repository in errors.</summary>
    public static IEnumerable<RpmPackage> Read(Stream primaryXml, string source, CancellationToken ct = default)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            IgnoreWhitespace = true,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            CloseInput = false,
        };
        using var reader = XmlReader.Create(primaryXml, settings);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            XElement? element;
            try
            {
                if (reader.EOF) yield break;
                if (reader.NodeType == XmlNodeType.Element && reader.LocalName == "package" && reader.NamespaceURI == CommonNamespace)
                {
                    element = (XElement)XNode.ReadFrom(reader);
                }
                else
                {
                    if (reader.NodeType == XmlNodeType.Element && reader.Depth == 0
                        && (reader.LocalName != "metadata" || reader.NamespaceURI != CommonNamespace))
                        throw new AirgapException($"{source}: primary.xml starts with <{reader.Name}>, not <metadata> in {CommonNamespace}; this is not rpm primary metadata");
                    reader.Read();
                    continue;
                }
            }
            catch (XmlException e)
            {
                throw new AirgapException($"{source}: primary.xml is not valid XML (line {e.LineNumber}): {e.Message}", e);
            }
            yield return Parse(element, source);
        }
    }

    /// <summary>Parses one &lt;package&gt; element (also how a writer reads back an entry it was given).</summary>
    public static RpmPackage Parse(XElement package, string source)
    {
        var name = Required(package.Element(Common + "name")?.Value, "name", source, "?");
        var arch = Required(package.Element(Common + "arch")?.Value, "arch", source, name);
        var version = package.Element(Common + "version") ?? throw Missing("version", source, name);
        RpmVersion evr;
        try
        {
            evr = RpmVersion.FromParts((string?)version.Attribute("epoch"), Required((string?)version.Attribute("ver"), "version ver", source, name),
                (string?)version.Attribute("rel"));
        }
        catch (FormatException)
        {
            throw new AirgapException($"{source}: package {name} has an epoch that is not a number in primary.xml");
        }
        var checksum = package.Element(Common + "checksum") ?? throw Missing("checksum", source, name);
        var location = package.Element(Common + "location") ?? throw Missing("location", source, name);
        var sizeText = (string?)package.Element(Common + "size")?.Attribute("package");
        long size = -1;
        if (sizeText is not null && !long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out size))
            throw new AirgapException($"{source}: package {name} has size '{sizeText}' in primary.xml, not a number");

        var format = package.Element(Common + "format");
        // Directories and ghosts count too: rpm lets a require name any path a package owns.
        var files = format?.Elements(Common + "file").Select(f => f.Value.Trim()).ToArray() ?? [];

        // Reproducible entries: each stands alone with its namespaces, whatever document it came from.
        var xml = new XElement(package);
        xml.SetAttributeValue(XNamespace.Xmlns + "rpm", RpmNamespace);
        xml.SetAttributeValue("xmlns", CommonNamespace);

        return new RpmPackage(
            name,
            arch,
            evr,
            ((string?)checksum.Attribute("type") ?? "").ToLowerInvariant(),
            checksum.Value.Trim().ToLowerInvariant(),
            size,
            Required((string?)location.Attribute("href"), "location href", source, name),
            (string?)location.Attribute(XNamespace.Xml + "base"),
            Entries(format, "provides", source, name),
            Entries(format, "requires", source, name),
            Entries(format, "conflicts", source, name),
            Entries(format, "obsoletes", source, name),
            files,
            xml.ToString(SaveOptions.DisableFormatting));
    }

    private static RpmDependency[] Entries(XElement? format, string kind, string source, string package)
    {
        var list = format?.Element(Rpm + kind);
        if (list is null) return [];
        return list.Elements(Rpm + "entry").Select(e =>
        {
            var name = Required((string?)e.Attribute("name"), $"{kind} entry name", source, package);
            var comparison = RpmDependency.ParseFlags((string?)e.Attribute("flags"));
            var ver = (string?)e.Attribute("ver");
            RpmVersion? version = null;
            if (comparison != RpmComparison.None && !string.IsNullOrEmpty(ver))
            {
                try
                {
                    version = RpmVersion.FromParts((string?)e.Attribute("epoch"), ver, (string?)e.Attribute("rel"));
                }
                catch (FormatException)
                {
                    throw new AirgapException($"{source}: package {package} has {kind} entry {name} with an epoch that is not a number");
                }
            }
            var pre = (string?)e.Attribute("pre") is "1" or "true";
            return new RpmDependency(name, version is null ? RpmComparison.None : comparison, version, pre);
        }).ToArray();
    }

    private static string Required(string? value, string what, string source, string package) =>
        string.IsNullOrWhiteSpace(value) ? throw Missing(what, source, package) : value.Trim();

    private static AirgapException Missing(string what, string source, string package) =>
        new($"{source}: package {package} in primary.xml has no {what}; the repository metadata is broken");
}
