namespace Airgap.Packages;

/// <summary>A package asked for by name; <paramref name="Version"/> is an exact pin, or null for the newest that fits.</summary>
public sealed record PackageRequest(string Name, string? Version);
