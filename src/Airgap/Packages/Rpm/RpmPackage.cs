namespace Airgap.Packages.Rpm;

/// <summary>
/// One &lt;package&gt; of a repository's primary.xml. <see cref="ChecksumType"/> is kept rather than
/// refused at parse time: an old repository may list sha1 for packages nobody asks for, and that
/// should only fail when such a package is actually chosen. <see cref="Xml"/> is the entry as the
/// repository wrote it (self-contained, with its namespaces), so a writer can reproduce it.
/// <see cref="LocationBase"/> is the optional xml:base that points the file at another server.
/// </summary>
public sealed record RpmPackage(
    string Name,
    string Arch,
    RpmVersion Evr,
    string ChecksumType,
    string Checksum,
    long Size,
    string LocationHref,
    string? LocationBase,
    IReadOnlyList<RpmDependency> Provides,
    IReadOnlyList<RpmDependency> Requires,
    IReadOnlyList<RpmDependency> Conflicts,
    IReadOnlyList<RpmDependency> Obsoletes,
    IReadOnlyList<string> Files,
    string Xml)
{
    /// <summary>"kubelet-1.20.2-0.x86_64", as dnf names a package.</summary>
    public string Nevra => $"{Name}-{Evr}.{Arch}";

    /// <summary>Whether this package satisfies the dependency by its name, a Provides, or a file it ships.</summary>
    public bool Satisfies(RpmDependency require)
    {
        if (require.IsFile && Files.Contains(require.Name, StringComparer.Ordinal)) return true;
        // Every package provides its own name at its own version, whether or not primary.xml says so.
        if (string.Equals(Name, require.Name, StringComparison.Ordinal) && require.Includes(Evr)) return true;
        foreach (var p in Provides)
            if (p.Satisfies(require)) return true;
        return false;
    }
}
