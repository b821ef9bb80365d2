using System.Globalization;
using System.Text.RegularExpressions;
using Airgap.Artifacts;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Airgap.Releases;

/// <summary>Where an entry of a releases file was written, so an error can send the operator to it.</summary>
public sealed record ReleaseOrigin(string File, int Line)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>One run of patch releases whose kubeadm prints the same default registry, pause, etcd and CoreDNS.</summary>
public sealed record KubeadmImageRow(KubernetesVersionRange Versions, string Registry, string Pause, string Etcd, string CoreDns, ReleaseOrigin Origin)
{
    public int Minor => Versions.First.Minor;
}

/// <summary>The crictl, CNI plugins, containerd and runc versions bundles of one Kubernetes minor get by default.</summary>
public sealed record MinorBinaries(int Minor, BinaryVersions Versions, ReleaseOrigin Origin);

/// <summary>
/// One releases file (<c>manifests/kubernetes/releases.yaml</c> or an operator's), checked on its own:
/// shape, keys, version and tag syntax, and that no patch release is in two rows. How files fit
/// together (every minor with images has binaries) is <see cref="ReleaseTable"/>'s check.
/// </summary>
/// <remarks>
/// Read through YamlDotNet's representation model rather than its deserializer because every error
/// must carry the line of the entry at fault, and unknown keys must be errors: a misspelt
/// <c>coredns</c> must not quietly drop a row an upgrade relies on.
/// </remarks>
public sealed partial record ReleaseFile(string Source, IReadOnlyList<KubeadmImageRow> Images, IReadOnlyList<MinorBinaries> Binaries)
{
    private static readonly string[] TopKeys = ["images", "binaries"];
    private static readonly string[] ImageKeys = ["first", "last", "registry", "pause", "etcd", "coredns"];
    private static readonly string[] BinaryKeys = ["minor", "crictl", "cniPlugins", "containerd", "runc"];

    // host[:port][/path…], as an image reference's registry part is written (no scheme).
    [GeneratedRegex(@"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")]
    private static partial Regex RegistryPattern();

    // The OCI distribution spec's tag grammar.
    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^v?1\.([0-9]{1,3})$")]
    private static partial Regex MinorPattern();

    // Release tags of the node components: 1.7.24, v1.0.0-rc92, v2.1.0.
    [GeneratedRegex(@"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$")]
    private static partial Regex ComponentVersionPattern();

    /// <summary>Reads and checks an operator's file.</summary>
    public static ReleaseFile Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AirgapException($"{path}: cannot read the releases file: {e.Message}", e);
        }
        return Parse(text, path);
    }

    /// <summary>Parses and checks one file; <paramref name="source"/> names it in errors.</summary>
    public static ReleaseFile Parse(string yaml, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new AirgapException($"{source}:{e.Start.Line}: not valid YAML: {YamlReason(e)}", e);
        }
        if (stream.Documents.Count != 1)
            throw new AirgapException($"{source}: expected one YAML document with images: and binaries:, found {stream.Documents.Count}");
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
            throw Bad(source, stream.Documents[0].RootNode, "the file must be a mapping with images: and binaries:");

        var images = new List<KubeadmImageRow>();
        var binaries = new List<MinorBinaries>();
        foreach (var (keyNode, value) in root.Children)
        {
            var key = Scalar(source, keyNode, "a key");
            var entries = key switch
            {
                "images" or "binaries" => value as YamlSequenceNode
                    ?? throw Bad(source, value, $"{key} must be a list of entries (- {{…}})"),
                _ => throw Bad(source, keyNode, $"unknown key \"{key}\"; the keys are {string.Join(" and ", TopKeys)}"),
            };
            var index = 0;
            foreach (var entry in entries.Children)
            {
                index++;
                if (key == "images") images.Add(ImageRow(source, entry, index));
                else binaries.Add(BinaryEntry(source, entry, index));
            }
        }
        if (images.Count == 0 && binaries.Count == 0)
            throw new AirgapException($"{source}: holds no images or binaries entries; see manifests/kubernetes/releases.yaml for their shape");

        CheckNoOverlap(images);
        CheckOneEntryPerMinor(binaries);
        return new ReleaseFile(source, images, binaries);
    }

    private static KubeadmImageRow ImageRow(string source, YamlNode node, int index)
    {
        var where = $"images entry {index}";
        var fields = Fields(source, node, where, ImageKeys);
        var origin = Origin(source, node);
        var first = Release(source, fields, "first", where);
        var last = Release(source, fields, "last", where);
        var what = $"{where} ({first}–{last})";
        if (first.Minor != last.Minor)
            throw Bad(source, node, $"{what}: first and last are of different minors; a row covers patch releases of one minor");
        if (first > last)
            throw Bad(source, node, $"{what}: first comes after last");
        var registry = fields["registry"].Value;
        if (!RegistryPattern().IsMatch(registry))
            throw Bad(source, fields["registry"].Node, $"{what}: registry \"{registry}\" is not a registry host and path such as registry.k8s.io (no scheme, lower case)");
        return new KubeadmImageRow(
            new KubernetesVersionRange(first, last), registry,
            Tag(source, fields, "pause", what), Tag(source, fields, "etcd", what), Tag(source, fields, "coredns", what), origin);
    }

    private static MinorBinaries BinaryEntry(string source, YamlNode node, int index)
    {
        var where = $"binaries entry {index}";
        var fields = Fields(source, node, where, BinaryKeys);
        var minorText = fields["minor"].Value;
        var match = MinorPattern().Match(minorText);
        if (!match.Success)
            throw Bad(source, fields["minor"].Node, $"{where}: minor \"{minorText}\" is not a Kubernetes minor such as \"1.33\"");
        var minor = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var what = $"{where} (minor 1.{minor})";
        string Component(string key)
        {
            var (value, valueNode) = fields[key];
            if (!ComponentVersionPattern().IsMatch(value))
                throw Bad(source, valueNode, $"{what}: {key} \"{value}\" is not a release version such as v1.2.3");
            return value;
        }
        var versions = BinaryVersions.Normalized(Component("crictl"), Component("cniPlugins"), Component("containerd"), Component("runc"));
        return new MinorBinaries(minor, versions, Origin(source, node));
    }

    private static Dictionary<string, (string Value, YamlNode Node)> Fields(string source, YamlNode node, string where, string[] keys)
    {
        if (node is not YamlMappingNode mapping)
            throw Bad(source, node, $"{where} must be a mapping {{{string.Join(", ", keys.Select(k => k + ": …"))}}}");
        var fields = new Dictionary<string, (string, YamlNode)>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = Scalar(source, keyNode, "a key");
            if (!keys.Contains(key))
                throw Bad(source, keyNode, $"{where}: unknown key \"{key}\"; the keys are {string.Join(", ", keys)}");
            var value = Scalar(source, valueNode, key).Trim();
            if (value.Length == 0) throw Bad(source, valueNode, $"{where}: {key} is empty");
            fields[key] = (value, valueNode);
        }
        var missing = keys.Where(k => !fields.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw Bad(source, node, $"{where}: {string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} missing");
        return fields;
    }

    private static KubernetesVersion Release(string source, Dictionary<string, (string Value, YamlNode Node)> fields, string key, string where)
    {
        var (text, node) = fields[key];
        if (!KubernetesVersion.TryParse(text, out var version) || version.IsPrerelease || version.Major != 1)
            throw Bad(source, node, $"{where}: {key} \"{text}\" is not a Kubernetes release such as v1.33.0");
        return version;
    }

    private static string Tag(string source, Dictionary<string, (string Value, YamlNode Node)> fields, string key, string what)
    {
        var (tag, node) = fields[key];
        if (!TagPattern().IsMatch(tag))
            throw Bad(source, node, $"{what}: {key} \"{tag}\" is not an image tag");
        return tag;
    }

    private static void CheckNoOverlap(List<KubeadmImageRow> images)
    {
        var ordered = images.OrderBy(r => r.Versions.First).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            var (before, row) = (ordered[i - 1], ordered[i]);
            if (before.Minor == row.Minor && row.Versions.First <= before.Versions.Last)
            {
                var (earlier, later) = before.Origin.Line <= row.Origin.Line ? (before, row) : (row, before);
                throw new AirgapException(
                    $"{later.Origin}: images {later.Versions} overlap {earlier.Versions} (line {earlier.Origin.Line}); each patch release belongs to one row");
            }
        }
    }

    private static void CheckOneEntryPerMinor(List<MinorBinaries> binaries)
    {
        foreach (var group in binaries.GroupBy(b => b.Minor).Where(g => g.Count() > 1))
        {
            var entries = group.OrderBy(b => b.Origin.Line).ToList();
            throw new AirgapException($"{entries[1].Origin}: binaries for minor 1.{group.Key} are given again (first at line {entries[0].Origin.Line})");
        }
    }

    private static string Scalar(string source, YamlNode node, string what) =>
        node is YamlScalarNode { Value: { } value } ? value : throw Bad(source, node, $"{what} must be a plain value, not a list or mapping");

    private static ReleaseOrigin Origin(string source, YamlNode node) => new(source, checked((int)node.Start.Line));

    private static AirgapException Bad(string source, YamlNode node, string what) => new($"{Origin(source, node)}: {what}");

    // YamlDotNet prefixes its messages with the mark range, which the line already says.
    private static string YamlReason(YamlException e)
    {
        var message = e.Message;
        var cut = message.IndexOf("): ", StringComparison.Ordinal);
        return cut >= 0 && message.StartsWith("(Line:", StringComparison.Ordinal) ? message[(cut + 3)..] : message;
    }
}
