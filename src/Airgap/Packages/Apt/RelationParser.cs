namespace Airgap.Packages.Apt;

/// <summary>
/// Parses relation fields (Depends, Pre-Depends, Conflicts, Breaks, Provides, …) as deb-control(5)
/// defines them: comma-separated groups of '|'-separated alternatives.
/// </summary>
public static class RelationParser
{
    public static IReadOnlyList<RelationGroup> ParseGroups(string? field, string source)
    {
        if (string.IsNullOrWhiteSpace(field)) return [];
        var groups = new List<RelationGroup>();
        foreach (var part in field.Split(','))
        {
            // A trailing comma (seen in hand-written control files) leaves an empty part; dpkg tolerates it.
            if (string.IsNullOrWhiteSpace(part)) continue;
            groups.Add(new RelationGroup(part.Split('|').Select(a => ParseOne(a, field, source)).ToList()));
        }
        return groups;
    }

    /// <summary>A field whose entries allow no alternatives (Provides, Conflicts, Breaks, Replaces).</summary>
    public static IReadOnlyList<Relation> ParseList(string? field, string source)
    {
        var groups = ParseGroups(field, source);
        return groups.SelectMany(g => g.Alternatives).ToList();
    }

    public static Relation ParseOne(string text, string field, string source)
    {
        var s = text.AsSpan().Trim();
        var i = 0;
        while (i < s.Length && !char.IsWhiteSpace(s[i]) && s[i] is not ('(' or '[' or '<')) i++;
        var nameWithQualifier = s[..i].ToString();
        if (nameWithQualifier.Length == 0) throw Bad(text, field, source, "no package name");
        string name = nameWithQualifier;
        string? qualifier = null;
        var colon = nameWithQualifier.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            name = nameWithQualifier[..colon];
            qualifier = nameWithQualifier[(colon + 1)..];
            if (name.Length == 0 || qualifier.Length == 0) throw Bad(text, field, source, "an empty name or architecture around ':'");
        }

        RelationOperator? op = null;
        DebianVersion? version = null;
        List<string>? archs = null;
        var rest = s[i..].TrimStart();
        while (!rest.IsEmpty)
        {
            switch (rest[0])
            {
                case '(':
                {
                    if (op is not null) throw Bad(text, field, source, "two version constraints");
                    var close = rest.IndexOf(')');
                    if (close < 0) throw Bad(text, field, source, "an unclosed '('");
                    (op, version) = ParseConstraint(rest[1..close].Trim(), text, field, source);
                    rest = rest[(close + 1)..].TrimStart();
                    break;
                }
                case '[':
                {
                    var close = rest.IndexOf(']');
                    if (close < 0) throw Bad(text, field, source, "an unclosed '['");
                    archs = rest[1..close].ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList();
                    if (archs.Count == 0 || archs.Any(a => a.StartsWith('!')) != archs.All(a => a.StartsWith('!')))
                        throw Bad(text, field, source, "an architecture list that is empty or mixes negated and plain entries");
                    rest = rest[(close + 1)..].TrimStart();
                    break;
                }
                case '<':
                {
                    // Build profiles only occur in source packages' Build-Depends; binary indexes never carry them, so they are skipped.
                    var close = rest.IndexOf('>');
                    if (close < 0) throw Bad(text, field, source, "an unclosed '<'");
                    rest = rest[(close + 1)..].TrimStart();
                    break;
                }
                default:
                    throw Bad(text, field, source, $"unexpected \"{rest.ToString()}\"");
            }
        }
        return new Relation(name, qualifier, op, version, archs);
    }

    private static (RelationOperator, DebianVersion) ParseConstraint(ReadOnlySpan<char> c, string text, string field, string source)
    {
        var n = 0;
        while (n < c.Length && c[n] is '<' or '>' or '=') n++;
        var opText = c[..n].ToString();
        RelationOperator op = opText switch
        {
            "<<" => RelationOperator.LessThan,
            "<=" or "<" => RelationOperator.LessOrEqual,
            "=" => RelationOperator.Equal,
            ">=" or ">" => RelationOperator.GreaterOrEqual,
            ">>" => RelationOperator.GreaterThan,
            _ => throw Bad(text, field, source, $"the operator \"{opText}\" (expected <<, <=, =, >= or >>)"),
        };
        var v = c[n..].Trim().ToString();
        if (!DebianVersion.TryParse(v, out var version)) throw Bad(text, field, source, $"the version \"{v}\"");
        return (op, version);
    }

    private static AirgapException Bad(string text, string field, string source, string what) =>
        new($"{source}: cannot read relation \"{text.Trim()}\" in \"{field}\": {what}; the index is damaged or not a Debian index");
}
