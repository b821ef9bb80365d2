namespace Airgap.Packages.Apt;

/// <summary>The version operators of Debian relation fields.</summary>
public enum RelationOperator
{
    LessThan,       // <<
    LessOrEqual,    // <=  (and the obsolete <)
    Equal,          // =
    GreaterOrEqual, // >=  (and the obsolete >)
    GreaterThan,    // >>
}

/// <summary>
/// One relation of a Depends-like field: <c>name[:arch] [(op version)] [[arch list]]</c>.
/// <paramref name="ArchQualifier"/> is the ":any"/":native"/":amd64" suffix without the colon;
/// <paramref name="Architectures"/> is the bracketed restriction list, entries possibly negated with '!'.
/// </summary>
public sealed record Relation(
    string Name,
    string? ArchQualifier,
    RelationOperator? Operator,
    DebianVersion? Version,
    IReadOnlyList<string>? Architectures)
{
    public bool IsVersioned => Operator is not null;

    /// <summary>Whether a package (or a versioned Provides) of version <paramref name="v"/> satisfies this relation's version part.</summary>
    public bool AcceptsVersion(DebianVersion? v)
    {
        if (Operator is null) return true;
        // An unversioned Provides never satisfies a versioned relation (Debian policy 7.5).
        if (v is null) return false;
        var c = v.CompareTo(Version);
        return Operator switch
        {
            RelationOperator.LessThan => c < 0,
            RelationOperator.LessOrEqual => c <= 0,
            RelationOperator.Equal => c == 0,
            RelationOperator.GreaterOrEqual => c >= 0,
            RelationOperator.GreaterThan => c > 0,
            _ => false,
        };
    }

    /// <summary>
    /// Whether the relation applies when building for <paramref name="arch"/>: a restriction list is
    /// either all positive (applies if any matches) or all negated (applies if none matches).
    /// </summary>
    public bool AppliesTo(string arch)
    {
        if (Architectures is not { Count: > 0 }) return true;
        var negated = Architectures[0].StartsWith('!');
        var matches = Architectures.Any(a => ArchMatches(a.TrimStart('!'), arch));
        return negated ? !matches : matches;
    }

    /// <summary>
    /// Whether the qualifier lets a package of <paramref name="arch"/> satisfy it. With one architecture
    /// resolved at a time ":any" and ":native" both come down to "the target architecture".
    /// </summary>
    public bool QualifierAllows(string arch) =>
        ArchQualifier is null or "any" or "native" || ArchQualifier == arch;

    public override string ToString()
    {
        var s = ArchQualifier is null ? Name : $"{Name}:{ArchQualifier}";
        if (Operator is { } op) s += $" ({OperatorText(op)} {Version})";
        if (Architectures is { Count: > 0 }) s += $" [{string.Join(' ', Architectures)}]";
        return s;
    }

    internal static string OperatorText(RelationOperator op) => op switch
    {
        RelationOperator.LessThan => "<<",
        RelationOperator.LessOrEqual => "<=",
        RelationOperator.Equal => "=",
        RelationOperator.GreaterOrEqual => ">=",
        _ => ">>",
    };

    // Debian architecture wildcards as dpkg-architecture knows them, in the forms that occur in practice.
    private static bool ArchMatches(string pattern, string arch) =>
        pattern == arch || pattern is "any" || pattern == $"linux-{arch}" || pattern == "linux-any"
        || (pattern.StartsWith("any-", StringComparison.Ordinal) && pattern[4..] == arch);
}

/// <summary>Alternatives joined with '|': any one of them satisfies the group.</summary>
public sealed record RelationGroup(IReadOnlyList<Relation> Alternatives)
{
    public override string ToString() => string.Join(" | ", Alternatives);
}
