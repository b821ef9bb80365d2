using System.Text.Json;

namespace Airgap.Oci;

/// <summary>
/// Rewrites a Docker schema2 manifest as an OCI manifest over the same config and layer blobs, as
/// `skopeo copy docker://… oci:…` does. OCI tools (skopeo, umoci) skip index entries of Docker media
/// types, so a layout that every tool reads must hold OCI manifests; configs and layers keep their
/// bytes and digests, so image IDs do not change, and bundle.yaml keeps the registry's own digest.
/// </summary>
public static class ManifestConversion
{
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerUncompressed = "application/vnd.oci.image.layer.v1.tar";
    private const string DockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    private const string DockerLayerUncompressed = "application/vnd.docker.image.rootfs.diff.tar";

    public static byte[] ToOci(ImageManifest manifest, string what)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", MediaTypes.OciManifest);
            WriteDescriptor(w, "config", MediaTypes.OciConfig, manifest.Config);
            w.WriteStartArray("layers");
            foreach (var layer in manifest.Layers)
            {
                var mediaType = layer.MediaType switch
                {
                    MediaTypes.DockerLayer or OciLayer => OciLayer,
                    DockerLayerUncompressed or OciLayerUncompressed => OciLayerUncompressed,
                    DockerForeignLayer => throw new AirgapException($"{what} has a foreign (Windows) layer that registries do not serve; it cannot be bundled"),
                    _ => layer.MediaType,
                };
                WriteDescriptor(w, null, mediaType, layer);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteDescriptor(Utf8JsonWriter w, string? name, string mediaType, Descriptor d)
    {
        if (name is null) w.WriteStartObject(); else w.WriteStartObject(name);
        w.WriteString("mediaType", mediaType);
        w.WriteString("digest", d.Digest);
        w.WriteNumber("size", d.Size);
        w.WriteEndObject();
    }
}
