namespace Airgap.Packages.Rpm;

/// <summary>The packages one yum repository offers, after its metadata passed every check.</summary>
public sealed record RpmRepositoryIndex(PackageRepository Repository, IReadOnlyList<RpmPackage> Packages, string? SigningKey)
{
    /// <summary>Where a package's file is: its location relative to xml:base when given, else to the repository.</summary>
    public Uri UrlOf(RpmPackage package)
    {
        var root = package.LocationBase is { Length: > 0 } b ? new Uri(RpmRepositoryClient.AsDirectory(new Uri(b))) : RpmRepositoryClient.Root(Repository);
        return new Uri(root, package.LocationHref);
    }
}
