using System.Globalization;

namespace Airgap.Packages.Apt;

/// <summary>
/// One entry of a Packages index. Relation fields other than Provides are parsed on first use: a
/// distribution's index has tens of thousands of entries and a closure visits a few dozen.
/// </summary>
public sealed class AptPackage
{
    private ControlStanza? _stanza;
    private IReadOnlyList<RelationGroup>? _depends;
    private IReadOnlyList<RelationGroup>? _preDepends;
    private IReadOnlyList<Relation>? _conflicts;
    private IReadOnlyList<Relation>? _breaks;

    private AptPackage(string control, string name, DebianVersion version, string architecture, string? multiArch, string? essential,
        string? priority, string? provides, string repository, Uri archiveRoot, string source)
    {
        Name = name;
        Version = version;
        Architecture = architecture;
        Repository = repository;
        ArchiveRoot = archiveRoot;
        Source = source;
        Control = control;
        MultiArch = multiArch;
        Essential = string.Equals(essential, "yes", StringComparison.OrdinalIgnoreCase);
        Priority = priority;
        Provides = RelationParser.ParseList(provides, source);
        // Everything else is read again from Control when needed: holding every field of a whole
        // distribution's index would double the memory for the few dozen entries a closure visits.
    }

    public string Name { get; }
    public DebianVersion Version { get; }

    /// <summary>The package's architecture: the target's, or "all".</summary>
    public string Architecture { get; }

    /// <summary>same, foreign, allowed, or null (no). With one architecture resolved at a time it never changes a choice.</summary>
    public string? MultiArch { get; }

    public bool Essential { get; }
    public string? Priority { get; }

    /// <summary>Path of the .deb relative to <see cref="ArchiveRoot"/>.</summary>
    public string? Filename => Stanza["Filename"];

    public string? Sha256 => Stanza["SHA256"]?.ToLowerInvariant();

    public long Size => long.TryParse(Stanza["Size"], NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : -1;

    /// <summary>Name of the repository whose index lists it.</summary>
    public string Repository { get; }

    /// <summary>The URL the repository's Filename fields are relative to (the sources.list URI).</summary>
    public Uri ArchiveRoot { get; }

    /// <summary>The index it came from, for messages.</summary>
    public string Source { get; }

    /// <summary>The entry as the index wrote it.</summary>
    public string Control { get; }

    public IReadOnlyList<Relation> Provides { get; }
    public IReadOnlyList<RelationGroup> Depends => _depends ??= RelationParser.ParseGroups(Stanza["Depends"], Source);
    public IReadOnlyList<RelationGroup> PreDepends => _preDepends ??= RelationParser.ParseGroups(Stanza["Pre-Depends"], Source);
    public IReadOnlyList<Relation> Conflicts => _conflicts ??= RelationParser.ParseList(Stanza["Conflicts"], Source);
    public IReadOnlyList<Relation> Breaks => _breaks ??= RelationParser.ParseList(Stanza["Breaks"], Source);

    private ControlStanza Stanza => _stanza ??= ControlStanza.ParseAll(Control, Source)[0];

    /// <summary>Every base system has it: dpkg refuses to remove Essential packages, and debootstrap installs all of Priority: required.</summary>
    public bool IsBase => Essential || string.Equals(Priority, "required", StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"{Name} {Version}";

    /// <summary>
    /// Reads an index entry; null for entries of other architectures (flat repositories list every
    /// architecture in one file). Entries without Package/Version are damage and refused.
    /// </summary>
    public static AptPackage? FromStanza(ControlStanza stanza, string arch, string repository, Uri archiveRoot, string source)
    {
        // Provides is one line in practice; a folded one is read in full.
        var f = stanza.FirstLines("Package", "Version", "Architecture", "Multi-Arch", "Essential", "Priority", "Provides");
        var (name, versionText, architecture) = (f[0], f[1], f[2] ?? "");
        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(versionText))
            throw new AirgapException($"{source}: an entry without Package or Version (\"{First(stanza.Text)}\"); the index is damaged");
        if (architecture != arch && architecture != "all") return null;
        if (!DebianVersion.TryParse(versionText, out var version))
            throw new AirgapException($"{source}: package {name} has the unreadable version \"{versionText}\"; the index is damaged");
        var provides = f[6] is null ? null : stanza["Provides"];
        return new AptPackage(stanza.Text, name, version, architecture, f[3], f[4], f[5], provides, repository, archiveRoot, source);
    }

    /// <summary>The download URL: Filename appended to the archive root (Filename may hold ':' or '+', so it is not resolved as a relative URI).</summary>
    public Uri Url()
    {
        if (Filename is null) throw new AirgapException($"{Source}: package {Name} {Version} has no Filename; the index is damaged");
        var root = ArchiveRoot.AbsoluteUri;
        if (!root.EndsWith('/')) root += "/";
        var path = Filename.StartsWith("./", StringComparison.Ordinal) ? Filename[2..] : Filename.TrimStart('/');
        return new Uri(root + path.Replace("%", "%25", StringComparison.Ordinal).Replace("#", "%23", StringComparison.Ordinal).Replace("?", "%3F", StringComparison.Ordinal));
    }

    private static string First(string text)
    {
        var line = text.Split('\n')[0];
        return line.Length <= 60 ? line : line[..60] + "…";
    }
}
