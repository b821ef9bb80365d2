namespace Airgap.Packages;

/// <summary>The package format a repository serves.</summary>
public enum RepositoryKind
{
    Apt,
    Rpm,
}

/// <summary>
/// One package repository to resolve against.
/// For apt, a null or "/"-ending <paramref name="Suite"/> means a flat repository (<c>deb URL /</c>,
/// as pkgs.k8s.io serves); otherwise indexes live under <c>dists/&lt;Suite&gt;/&lt;component&gt;/binary-&lt;arch&gt;/</c>.
/// <paramref name="KeyFile"/> is the OpenPGP public key (binary keyring or ASCII-armored) that must have
/// signed the repository's metadata; null means untrusted, which is refused unless the caller allows unsigned.
/// </summary>
public sealed record PackageRepository(
    string Name,
    RepositoryKind Kind,
    Uri BaseUrl,
    string? Suite,
    IReadOnlyList<string> Components,
    string? KeyFile);
