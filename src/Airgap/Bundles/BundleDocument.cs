using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Airgap.Bundles;

/// <summary>bundle.yaml: what a bundle holds and where each piece came from. Mutable DTOs because YAML needs them.</summary>
public sealed class BundleDocument
{
    public const string CurrentApiVersion = "airgap/v1";
    public const string FileName = "bundle.yaml";
    public const string SumsFileName = "SHA256SUMS";

    public string ApiVersion { get; set; } = CurrentApiVersion;
    public string Kind { get; set; } = "Bundle";
    public string Name { get; set; } = "";
    public string Kubernetes { get; set; } = "";
    public string Os { get; set; } = "linux";
    public string Arch { get; set; } = "";
    public string CreatedBy { get; set; } = "";
    public BundleCni Cni { get; set; } = new();
    public List<BundleImage> Images { get; set; } = [];
    public List<BundleBinary> Binaries { get; set; } = [];
    public List<BundlePackage> Packages { get; set; } = [];
    public List<BundleFile> Files { get; set; } = [];

    /// <summary>The member holding the CycloneDX bill of materials; null in bundles written before it.</summary>
    public string? Sbom { get; set; }

    /// <summary>
    /// Set in a delta bundle: the bundle it was built on, whose members it does not carry again. Files
    /// still lists every member of the whole bundle; those the base carries name their path there.
    /// </summary>
    public BundleBase? Base { get; set; }

    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull)
        .DisableAliases()
        .Build();

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .IgnoreUnmatchedProperties()
        .Build();

    public string ToYaml() => Serializer.Serialize(this);

    public static BundleDocument Parse(string yaml, string where)
    {
        BundleDocument doc;
        try
        {
            doc = Deserializer.Deserialize<BundleDocument>(yaml) ?? throw new AirgapException($"{where}: bundle.yaml is empty");
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new AirgapException($"{where}: bundle.yaml is not valid YAML ({e.Message}); the bundle is damaged, build or copy it again");
        }
        if (doc.Kind != "Bundle" || doc.ApiVersion != CurrentApiVersion)
            throw new AirgapException($"{where}: bundle.yaml is {doc.ApiVersion}/{doc.Kind}, this airgap reads {CurrentApiVersion}/Bundle; use the airgap that built it");
        return doc;
    }
}

public sealed class BundleCni
{
    public string Name { get; set; } = "none";
    public string? Version { get; set; }
    public string? Manifest { get; set; }
    public string? Source { get; set; }
}

public sealed class BundleImage
{
    public string Name { get; set; } = "";
    public string Source { get; set; } = "";
    public string Platform { get; set; } = "";
    /// <summary>The platform manifest's media type, as the registry served it (Docker schema2 or OCI).</summary>
    public string MediaType { get; set; } = "";

    /// <summary>The platform manifest's digest: the registry's own, the bytes are kept exactly.</summary>
    public string Digest { get; set; } = "";

    /// <summary>The multi-arch index the name points at upstream, kept byte-exact; null for a single-platform tag.</summary>
    public string? IndexDigest { get; set; }

    /// <summary>The index's media type (OCI index or Docker manifest list), when there is one.</summary>
    public string? IndexMediaType { get; set; }

    /// <summary>Bundles before byte-exact storage: the registry's manifest digest (Digest was an OCI rewrite of it).</summary>
    public string? SourceDigest { get; set; }

    /// <summary>Bundles before byte-exact storage: the multi-arch list's digest (the list itself was not kept).</summary>
    public string? ListDigest { get; set; }

    public long Size { get; set; }

    /// <summary>The digest images/index.json names this image by: the index when kept, else the manifest.</summary>
    [YamlIgnore, System.Text.Json.Serialization.JsonIgnore]
    public string TargetDigest => IndexDigest ?? Digest;

    /// <summary>The digest upstream knows for this platform's manifest, in either format of bundle.</summary>
    [YamlIgnore, System.Text.Json.Serialization.JsonIgnore]
    public string UpstreamDigest => SourceDigest ?? Digest;
}

public sealed class BundleFile
{
    public string Path { get; set; } = "";
    public string Sha256 { get; set; } = "";
    public long Size { get; set; }

    /// <summary>In a delta: the member's path in the base bundle, which carries its bytes; null when the delta carries them itself.</summary>
    public string? Base { get; set; }
}

/// <summary>The bundle a delta was built on: named for messages, pinned by the sha256 of its bundle.yaml (which pins every member of it).</summary>
public sealed class BundleBase
{
    public string Name { get; set; } = "";
    public string Kubernetes { get; set; } = "";
    public string BundleYamlSha256 { get; set; } = "";

    public override string ToString() => $"{Name} (Kubernetes {Kubernetes}, bundle.yaml sha256 {BundleYamlSha256})";
}

public sealed class BundleBinary
{
    public string Name { get; set; } = "";
    public string Version { get; set; } = "";
    public string Path { get; set; } = "";
    public string Source { get; set; } = "";
    public string ChecksumSource { get; set; } = "";
    public string Sha256 { get; set; } = "";
    public long Size { get; set; }
}

public sealed class BundlePackage
{
    public string Os { get; set; } = "";
    public string Name { get; set; } = "";
    public string Version { get; set; } = "";
    public string Arch { get; set; } = "";
    public string Path { get; set; } = "";
    public string Repository { get; set; } = "";
    public string Sha256 { get; set; } = "";
    public long Size { get; set; }

    /// <summary>
    /// Asked for by the build (a node package, the runtime, a tool, --package), not only a dependency:
    /// the install names these, and the package manager brings what they depend on.
    /// </summary>
    public bool Requested { get; set; }
}
