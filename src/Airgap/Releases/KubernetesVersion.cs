using System.Diagnostics.CodeAnalysis;
using NuGet.Versioning;

namespace Airgap.Releases;

/// <summary>
/// A Kubernetes release version such as v1.20.2. Written with the leading "v" because that is how
/// image tags, kubeadm flags and dl.k8s.io paths spell it; parsing accepts it with or without.
/// Pre-release labels (v1.31.0-rc.0) are kept because kubeadm builds report them.
/// </summary>
public sealed class KubernetesVersion : IComparable<KubernetesVersion>, IComparable, IEquatable<KubernetesVersion>
{
    private readonly SemanticVersion semver;

    private KubernetesVersion(SemanticVersion semver) => this.semver = semver;

    public int Major => semver.Major;
    public int Minor => semver.Minor;
    public int Patch => semver.Patch;

    /// <summary>The pre-release label without its dash ("rc.0"), or empty for a release.</summary>
    public string Prerelease => semver.Release;

    public bool IsPrerelease => semver.IsPrerelease;

    public static KubernetesVersion Create(int major, int minor, int patch) =>
        new(new SemanticVersion(major, minor, patch));

    public static KubernetesVersion Parse(string value)
    {
        if (TryParse(value, out var version)) return version;
        throw new ArgumentException(
            $"\"{value}\" is not a Kubernetes version: expected vMAJOR.MINOR.PATCH, e.g. v1.20.2", nameof(value));
    }

    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out KubernetesVersion? version)
    {
        version = null;
        if (string.IsNullOrEmpty(value)) return false;
        var text = value[0] == 'v' ? value[1..] : value;
        // Build metadata ("+abc") is not part of a Kubernetes version, and SemanticVersion would
        // otherwise accept and silently drop it.
        if (text.Contains('+') || !SemanticVersion.TryParse(text, out var parsed)) return false;
        version = new KubernetesVersion(parsed);
        return true;
    }

    public override string ToString() => "v" + semver.ToNormalizedString();

    public int CompareTo(KubernetesVersion? other) => other is null ? 1 : semver.CompareTo(other.semver);

    int IComparable.CompareTo(object? obj) => obj switch
    {
        null => 1,
        KubernetesVersion other => CompareTo(other),
        _ => throw new ArgumentException("not a KubernetesVersion", nameof(obj)),
    };

    public bool Equals(KubernetesVersion? other) => other is not null && semver.Equals(other.semver);

    public override bool Equals(object? obj) => obj is KubernetesVersion other && Equals(other);

    public override int GetHashCode() => semver.GetHashCode();

    public static bool operator ==(KubernetesVersion? a, KubernetesVersion? b) => a is null ? b is null : a.Equals(b);
    public static bool operator !=(KubernetesVersion? a, KubernetesVersion? b) => !(a == b);
    public static bool operator <(KubernetesVersion a, KubernetesVersion b) => a.CompareTo(b) < 0;
    public static bool operator >(KubernetesVersion a, KubernetesVersion b) => a.CompareTo(b) > 0;
    public static bool operator <=(KubernetesVersion a, KubernetesVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(KubernetesVersion a, KubernetesVersion b) => a.CompareTo(b) >= 0;
}

/// <summary>An inclusive run of patch releases of one minor, e.g. v1.18.0–v1.18.6.</summary>
public sealed record KubernetesVersionRange(KubernetesVersion First, KubernetesVersion Last)
{
    public bool Contains(KubernetesVersion version) => version >= First && version <= Last;

    public override string ToString() => First == Last ? First.ToString() : $"{First}–{Last}";
}
