namespace Airgap.Packages.Rpm;

/// <summary>The comparison of a versioned dependency, as primary.xml spells it (flags="GE").</summary>
[Flags]
public enum RpmComparison
{
    None = 0,
    Less = 1,
    Greater = 2,
    Equal = 4,
}

/// <summary>
/// One rpm:provides / rpm:requires / rpm:conflicts / rpm:obsoletes entry. <see cref="Version"/> is null
/// for an unversioned one; <see cref="Pre"/> marks Requires(pre) and friends, which still have to be in
/// the closure (rpm only orders them earlier).
/// </summary>
public sealed record RpmDependency(string Name, RpmComparison Comparison = RpmComparison.None, RpmVersion? Version = null, bool Pre = false)
{
    public bool IsVersioned => Version is not null && Comparison != RpmComparison.None;

    /// <summary>rpmlib(...) requires are answered by rpm itself, never by a package.</summary>
    public bool IsRpmLib => Name.StartsWith("rpmlib(", StringComparison.Ordinal);

    /// <summary>A path: satisfied by a package that ships the file, not only by a Provides.</summary>
    public bool IsFile => Name.StartsWith('/');

    public static RpmComparison ParseFlags(string? flags) => flags switch
    {
        null or "" => RpmComparison.None,
        "EQ" => RpmComparison.Equal,
        "LT" => RpmComparison.Less,
        "LE" => RpmComparison.Less | RpmComparison.Equal,
        "GT" => RpmComparison.Greater,
        "GE" => RpmComparison.Greater | RpmComparison.Equal,
        _ => throw new AirgapException($"primary.xml has dependency flags '{flags}'; expected EQ, LT, LE, GT or GE"),
    };

    public static string FormatFlags(RpmComparison c) => c switch
    {
        RpmComparison.Equal => "EQ",
        RpmComparison.Less => "LT",
        RpmComparison.Less | RpmComparison.Equal => "LE",
        RpmComparison.Greater => "GT",
        RpmComparison.Greater | RpmComparison.Equal => "GE",
        _ => "",
    };

    /// <summary>
    /// Whether this entry, taken as a Provides, satisfies <paramref name="require"/>: rpm's
    /// rpmdsCompare. An unversioned side matches anything of the same name; otherwise the two ranges
    /// must overlap (a provide "iptables = 1.8.4" satisfies "iptables >= 1.4.21").
    /// </summary>
    public bool Satisfies(RpmDependency require)
    {
        if (!string.Equals(Name, require.Name, StringComparison.Ordinal)) return false;
        if (!IsVersioned || !require.IsVersioned) return true;
        return Overlaps(Comparison, Version!, require.Comparison, require.Version!);
    }

    /// <summary>Whether a package of exactly <paramref name="evr"/> is inside this entry's range.</summary>
    public bool Includes(RpmVersion evr) =>
        !IsVersioned || Overlaps(RpmComparison.Equal, evr, Comparison, Version!);

    private static bool Overlaps(RpmComparison a, RpmVersion av, RpmComparison b, RpmVersion bv)
    {
        var sense = av.CompareTo(bv);
        if (sense < 0) return a.HasFlag(RpmComparison.Greater) || b.HasFlag(RpmComparison.Less);
        if (sense > 0) return a.HasFlag(RpmComparison.Less) || b.HasFlag(RpmComparison.Greater);
        return (a.HasFlag(RpmComparison.Equal) && b.HasFlag(RpmComparison.Equal))
               || (a.HasFlag(RpmComparison.Less) && b.HasFlag(RpmComparison.Less))
               || (a.HasFlag(RpmComparison.Greater) && b.HasFlag(RpmComparison.Greater));
    }

    /// <summary>"iptables >= 1.4.21", the way rpm and dnf print a dependency.</summary>
    public override string ToString() => !IsVersioned ? Name : $"{Name} {Symbol(Comparison)} {Version}";

    private static string Symbol(RpmComparison c) => c switch
    {
        RpmComparison.Equal => "=",
        RpmComparison.Less => "<",
        RpmComparison.Less | RpmComparison.Equal => "<=",
        RpmComparison.Greater => ">",
        _ => ">=",
    };
}
