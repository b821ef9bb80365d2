using Airgap.Oci;
using Airgap.Releases;

namespace Airgap.Bundles;

/// <summary>
/// The CNI to bundle: flannel (default, its manifest and images), bridge (single-node clusters: the CNI
/// plugins' bridge + host-local, nothing beyond the plugins themselves), or none. A Flannel manifest
/// may be given as a path or URL.
/// </summary>
public sealed record CniSpec(string Name, string? Version = null, string? Manifest = null, string? ManifestSha256 = null)
{
    public static readonly string[] Known = ["flannel", "bridge", "none"];

    /// <summary>Parses "flannel", "flannel:v0.13.0" or "none".</summary>
    public static CniSpec Parse(string value)
    {
        var colon = value.IndexOf(':');
        var name = (colon < 0 ? value : value[..colon]).Trim().ToLowerInvariant();
        var version = colon < 0 ? null : value[(colon + 1)..].Trim();
        if (!Known.Contains(name))
            throw new AirgapException($"--cni \"{value}\" is not known; use one of {string.Join(", ", Known)} (flannel:vX.Y.Z pins a version)");
        if (name != "flannel" && version is not null) throw new AirgapException($"--cni {name} takes no version");
        if (version is not null && !version.StartsWith('v')) version = "v" + version;
        return new CniSpec(name, version);
    }
}

/// <summary>Everything a build needs to know, from flags or bundle.yaml-style input.</summary>
public sealed record BundleSpec
{
    public required KubernetesVersion Kubernetes { get; init; }
    public IReadOnlyList<string> Architectures { get; init; } = ["amd64"];
    public string? ImageRepository { get; init; }
    public MirrorRules Mirrors { get; init; } = new();
    public IReadOnlyList<ImageReference> ExtraImages { get; init; } = [];
    public CniSpec Cni { get; init; } = new("flannel");
    public string? KubeadmPath { get; init; }
    public string OutputDirectory { get; init; } = "bundles";

    public bool IncludeImages { get; init; } = true;
    public bool IncludeBinaries { get; init; } = true;
    public Artifacts.BinarySources BinarySources { get; init; } = Artifacts.BinarySources.Default;

    /// <summary>Target OS profiles (manifests/os/*.yaml) whose packages go in as offline repositories; none means no packages.</summary>
    public IReadOnlyList<string> OperatingSystems { get; init; } = [];
    public bool IncludePackages { get; init; } = true;
    public Packages.Profiles.RepositoryOverrides RepositoryOverrides { get; init; } = Packages.Profiles.RepositoryOverrides.None;
    public IReadOnlyList<string> ExtraPackages { get; init; } = [];

    /// <summary>Use repositories given without a key (in --repos) unverified, with a warning; off unless asked.</summary>
    public bool AllowUnsignedRepositories { get; init; }

    /// <summary>
    /// The self-contained airgap per architecture, shipped as bin/airgap so a node needs nothing but the
    /// bundle; an architecture without one gets no bin/airgap (and a warning).
    /// </summary>
    public IReadOnlyDictionary<string, string> Installers { get; init; } = new Dictionary<string, string>();

    /// <summary>Signs each bundle's bundle.yaml into bundle.yaml.sig; null leaves bundles unsigned.</summary>
    public BundleSigningKey? SigningKey { get; init; }

    /// <summary>
    /// Earlier bundles (--since, one per architecture) to build deltas against: each bundle then holds only
    /// what its architecture's base lacks, and names that base.
    /// </summary>
    public IReadOnlyList<string> Since { get; init; } = [];

    /// <summary>Versions of crictl, CNI plugins, containerd and runc; null means the table's default for the minor.</summary>
    public Artifacts.BinaryVersions? BinaryVersions { get; init; }

    public static readonly string[] SupportedArchitectures = ["amd64", "arm64"];

    public static IReadOnlyList<string> ParseArchitectures(IEnumerable<string> values)
    {
        var result = new List<string>();
        foreach (var raw in values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var arch = raw.ToLowerInvariant() switch { "x86_64" => "amd64", "aarch64" => "arm64", var a => a };
            if (!SupportedArchitectures.Contains(arch))
                throw new AirgapException($"--arch \"{raw}\" is not supported; use {string.Join(" or ", SupportedArchitectures)} (comma-separated for both)");
            if (!result.Contains(arch)) result.Add(arch);
        }
        return result.Count == 0 ? ["amd64"] : result;
    }
}
