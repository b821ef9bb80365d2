using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Airgap.Nodes;

/// <summary>
/// Writes the small, fixed shapes of kubeadm configs as readable, deterministic YAML. A serializer
/// would do, but golden tests and operators both read this text, so its layout is chosen here.
/// </summary>
internal sealed partial class YamlWriter
{
    private readonly StringBuilder text = new();
    private int depth;

    public override string ToString() => text.ToString();

    public void Comment(string comment) => Line("# " + comment);

    public void DocumentSeparator() => text.Append("---\n");

    public void Scalar(string key, string value) => Line($"{key}: {Format(value)}");

    public void Number(string key, long value) => Line($"{key}: {value.ToString(CultureInfo.InvariantCulture)}");

    public void Boolean(string key, bool value) => Line($"{key}: {(value ? "true" : "false")}");

    public void Map(string key, Action body)
    {
        Line(key + ":");
        depth++;
        body();
        depth--;
    }

    public void Strings(string key, IEnumerable<string> values)
    {
        Line(key + ":");
        foreach (var value in values) Line("- " + Format(value));
    }

    public void EmptyList(string key) => Line(key + ": []");

    /// <summary>A sequence of flat mappings, e.g. kubeadm v1beta4's extraArgs: "- name: x" / "  value: y".</summary>
    public void MapItems(string key, IEnumerable<IReadOnlyList<(string Key, string Value)>> items)
    {
        Line(key + ":");
        foreach (var item in items)
            for (var i = 0; i < item.Count; i++)
                Line((i == 0 ? "- " : "  ") + $"{item[i].Key}: {Format(item[i].Value)}");
    }

    /// <summary>
    /// A scalar as written: plain when it can only be read back as the same string, double-quoted
    /// otherwise. The Go YAML readers kubeadm uses follow YAML 1.1, where yes/no/on/off are booleans,
    /// 0x1F is a number and "a: b" starts a mapping, so anything near those is quoted.
    /// </summary>
    public static string Format(string value)
    {
        if (value.Length > 0 && PlainSafe().IsMatch(value) && !LooksTyped(value)) return value;
        var quoted = new StringBuilder("\"");
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': quoted.Append("\\\""); break;
                case '\\': quoted.Append("\\\\"); break;
                case '\n': quoted.Append("\\n"); break;
                case '\t': quoted.Append("\\t"); break;
                default:
                    if (char.IsControl(c)) quoted.Append($"\\u{(int)c:X4}");
                    else quoted.Append(c);
                    break;
            }
        }
        return quoted.Append('"').ToString();
    }

    private static bool LooksTyped(string value) =>
        YamlWords.Contains(value) ||
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ||
        NumberLike().IsMatch(value);

    private static readonly HashSet<string> YamlWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
    };

    private void Line(string line) => text.Append(' ', depth * 2).Append(line).Append('\n');

    // No ':' (mappings, YAML 1.1 sexagesimal numbers), no '#', no leading '-' or '.'.
    [GeneratedRegex(@"^[A-Za-z0-9_/][A-Za-z0-9_./+=,@-]*$")]
    private static partial Regex PlainSafe();

    // Integers in any YAML 1.1 base, with '_' separators, and numbers with a leading '.'.
    [GeneratedRegex(@"^[-+]?(0x[0-9a-fA-F_]+|0b[01_]+|0o?[0-7_]+|[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?|\.[0-9]+)$")]
    private static partial Regex NumberLike();
}
