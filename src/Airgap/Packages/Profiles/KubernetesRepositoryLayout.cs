using Airgap.Releases;

namespace Airgap.Packages.Profiles;

/// <summary>How a Kubernetes package repository is laid out; the two differ in URL, suite and package revisions.</summary>
public enum KubernetesRepositoryLayout
{
    /// <summary>The frozen Google-hosted repositories: apt suite kubernetes-xenial, yum kubernetes-el7-ARCH; revisions -00 / -0.</summary>
    Legacy,

    /// <summary>pkgs.k8s.io: one repository per minor (flat deb repo, rpm repodata/); revisions vary per build.</summary>
    PerMinor,
}

public static class KubernetesRepositoryLayouts
{
    /// <summary>The first minor pkgs.k8s.io publishes; older versions exist only in the legacy layout.</summary>
    public static readonly KubernetesVersion FirstPerMinor = KubernetesVersion.Create(1, 24, 0);

    /// <summary>The layout the profiles' default repositories use for <paramref name="version"/>.</summary>
    public static KubernetesRepositoryLayout ForVersion(KubernetesVersion version) =>
        version.Major == FirstPerMinor.Major && version.Minor < FirstPerMinor.Minor
            ? KubernetesRepositoryLayout.Legacy
            : KubernetesRepositoryLayout.PerMinor;

    /// <summary>The value of the <c>{minor}</c> placeholder in per-minor URLs, e.g. "v1.28".</summary>
    public static string MinorPath(KubernetesVersion version) => $"v{version.Major}.{version.Minor}";
}
