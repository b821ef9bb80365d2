using System.Globalization;
using System.Text;

namespace Airgap.Bundles.Parts;

/// <summary>One part of a split bundle: its file name (beside the index), size and sha256.</summary>
public sealed record PartEntry(string Name, long Size, string Sha256);

/// <summary>
/// BUNDLE.parts: which files, joined in order, are the bundle, and the sha256 of each. It is a
/// sha256sum file (its own lines are comments), so <c>sha256sum -c BUNDLE.parts</c> checks the parts
/// with a tool every site has; airgap reads the sizes and the whole bundle's digest from the comments.
/// </summary>
public sealed record PartsIndex(string BundleName, long BundleSize, string BundleSha256, IReadOnlyList<PartEntry> Parts)
{
    public const string Extension = ".parts";
    private const string Header = "# airgap bundle parts 1";

    public static string IndexName(string bundleName) => bundleName + Extension;

    public static string PartName(string bundleName, int number) => $"{bundleName}.part-{number:D3}";

    /// <summary>The bundle's file name when <paramref name="fileName"/> is one of its parts (NAME.part-NNN), else null.</summary>
    public static string? BundleNameOfPart(string fileName)
    {
        var at = fileName.LastIndexOf(".part-", StringComparison.Ordinal);
        if (at <= 0) return null;
        var number = fileName[(at + ".part-".Length)..];
        return number.Length >= 3 && number.All(char.IsAsciiDigit) ? fileName[..at] : null;
    }

    public string Format()
    {
        var text = new StringBuilder();
        text.Append(Header).Append('\n');
        text.Append("# joined in order (cat) these parts are ").Append(BundleName).Append("; check them with: sha256sum -c ").Append(IndexName(BundleName)).Append('\n');
        text.Append("# bundle ").Append(BundleName).Append(' ').Append(BundleSize.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(BundleSha256).Append('\n');
        foreach (var part in Parts)
        {
            text.Append("# part ").Append(part.Name).Append(' ').Append(part.Size.ToString(CultureInfo.InvariantCulture)).Append('\n');
            text.Append(part.Sha256).Append("  ").Append(part.Name).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Reads an index strictly: every part named, numbered, sized and hashed, and the sizes adding up to the bundle's.</summary>
    public static PartsIndex Parse(string text, string where)
    {
        AirgapException Bad(string why) => new($"{where} is not a usable parts index ({why}); copy it again from the media, or split the bundle again with airgap split");
        var lines = text.Split('\n');
        if (lines.Length == 0 || lines[0].TrimEnd('\r') != Header) throw Bad("it does not start with \"" + Header + "\"");
        string? bundle = null;
        long bundleSize = 0;
        string? bundleSha = null;
        var sizes = new List<(string Name, long Size)>();
        var hashes = new List<(string Name, string Sha)>();
        foreach (var raw in lines.Skip(1))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            var fields = line.Split(' ');
            if (line.StartsWith("# bundle ", StringComparison.Ordinal))
            {
                if (bundle is not null || fields.Length != 5 || !long.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out bundleSize) || !Oci.Digest.IsHex64(fields[4]))
                    throw Bad($"bad line \"{Short(line)}\"");
                bundle = ValidName(fields[2], Bad);
                bundleSha = fields[4];
            }
            else if (line.StartsWith("# part ", StringComparison.Ordinal))
            {
                if (fields.Length != 4 || !long.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size <= 0)
                    throw Bad($"bad line \"{Short(line)}\"");
                sizes.Add((ValidName(fields[2], Bad), size));
            }
            else if (line.StartsWith('#'))
            {
                continue;
            }
            else
            {
                // sha256sum's "HASH  NAME" (or "HASH *NAME" in binary mode).
                if (line.Length < 67 || !Oci.Digest.IsHex64(line[..64]) || line[64] != ' ' || line[65] is not (' ' or '*'))
                    throw Bad($"bad line \"{Short(line)}\"");
                hashes.Add((ValidName(line[66..], Bad), line[..64]));
            }
        }
        if (bundle is null || bundleSha is null) throw Bad("it has no \"# bundle\" line");
        if (sizes.Count == 0) throw Bad("it lists no parts");
        if (sizes.Count != hashes.Count) throw Bad($"{sizes.Count} parts have sizes but {hashes.Count} have a sha256");
        var parts = new List<PartEntry>();
        for (var i = 0; i < sizes.Count; i++)
        {
            var expected = PartName(bundle, i + 1);
            if (sizes[i].Name != expected || hashes[i].Name != expected)
                throw Bad($"part {i + 1} should be {expected}");
            parts.Add(new PartEntry(expected, sizes[i].Size, hashes[i].Sha));
        }
        var sum = parts.Sum(p => p.Size);
        if (sum != bundleSize) throw Bad($"the parts add up to {sum} bytes, the bundle is {bundleSize}");
        return new PartsIndex(bundle, bundleSize, bundleSha, parts);
    }

    /// <summary>Parts lie beside the index: a name with a directory in it could reach elsewhere.</summary>
    private static string ValidName(string name, Func<string, AirgapException> bad) =>
        name.Length > 0 && name.IndexOfAny(['/', '\\', '\0']) < 0 && name is not ("." or "..") ? name : throw bad($"\"{Short(name)}\" is not a plain file name");

    private static string Short(string s) => s.Length > 80 ? s[..80] + "…" : s;
}
