namespace Airgap.Packages;

/// <summary>
/// A dependency closure. <paramref name="Excluded"/> names packages the closure needed but left out
/// because every base system of the release already has them (Essential / Priority: required).
/// </summary>
public sealed record PackageSet(IReadOnlyList<ResolvedPackage> Packages, IReadOnlyList<string> Excluded);
