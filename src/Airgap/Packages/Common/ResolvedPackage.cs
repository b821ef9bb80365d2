namespace Airgap.Packages;

/// <summary>
/// One package file chosen by a resolver.
/// <paramref name="FileName"/> is the bare name to store it under (e.g. kubeadm_1.20.2-00_amd64.deb);
/// <paramref name="Control"/> is the original index entry, kept so a repository writer can reproduce it
/// with only the file location changed.
/// </summary>
public sealed record ResolvedPackage(
    string Name,
    string Version,
    string Architecture,
    Uri Url,
    string Sha256,
    long Size,
    string Repository,
    string FileName,
    string Control);
