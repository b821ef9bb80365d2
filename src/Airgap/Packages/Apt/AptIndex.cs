namespace Airgap.Packages.Apt;

/// <summary>The packages one repository offers for one architecture (its own and "all").</summary>
public sealed class AptIndex(PackageRepository repository, ReleaseFile? release, IReadOnlyList<AptPackage> packages)
{
    public PackageRepository Repository { get; } = repository;

    /// <summary>The verified Release the index was checked against; null for indexes built in memory.</summary>
    public ReleaseFile? Release { get; } = release;

    public IReadOnlyList<AptPackage> Packages { get; } = packages;

    /// <summary>Reads a Packages file's text. Entries of other architectures are dropped.</summary>
    public static IReadOnlyList<AptPackage> ParsePackages(TextReader reader, PackageRepository repository, string arch, string source)
    {
        var list = new List<AptPackage>();
        foreach (var stanza in ControlStanza.ReadAll(reader, source))
        {
            var p = AptPackage.FromStanza(stanza, arch, repository.Name, repository.BaseUrl, source);
            if (p is not null) list.Add(p);
        }
        return list;
    }

    /// <summary>An index from Packages text held in memory (tests, and repositories written by airgap itself).</summary>
    public static AptIndex FromText(PackageRepository repository, string packagesText, string arch)
    {
        using var reader = new StringReader(packagesText);
        return new AptIndex(repository, null, ParsePackages(reader, repository, arch, $"{repository.Name} Packages"));
    }
}
