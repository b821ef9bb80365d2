namespace Airgap.TestKit;

/// <summary>Which family of media types an image or list uses.</summary>
public enum ManifestFormat
{
    /// <summary>Docker schema2 (what k8s.gcr.io served for v1.20).</summary>
    Docker,

    /// <summary>OCI image-spec v1.</summary>
    Oci,
}

public static class MediaTypes
{
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

    public static string Manifest(ManifestFormat f) => f == ManifestFormat.Docker ? DockerManifest : OciManifest;

    public static string Index(ManifestFormat f) => f == ManifestFormat.Docker ? DockerManifestList : OciIndex;

    public static string Config(ManifestFormat f) => f == ManifestFormat.Docker ? DockerConfig : OciConfig;

    public static string LayerGzip(ManifestFormat f) => f == ManifestFormat.Docker ? DockerLayerGzip : OciLayerGzip;
}

/// <summary>An OS/architecture pair as it appears in configs and manifest lists.</summary>
public sealed record Platform(string Os, string Architecture, string? Variant = null)
{
    public static readonly Platform LinuxAmd64 = new("linux", "amd64");

    // Docker manifest lists conventionally carry variant v8 for arm64.
    public static readonly Platform LinuxArm64 = new("linux", "arm64", "v8");

    /// <summary>Linux platform for a Go-style arch name (amd64, arm64, arm, ppc64le, s390x).</summary>
    public static Platform Linux(string architecture) => architecture switch
    {
        "amd64" => LinuxAmd64,
        "arm64" => LinuxArm64,
        "arm" => new("linux", "arm", "v7"),
        _ => new("linux", architecture),
    };

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}
