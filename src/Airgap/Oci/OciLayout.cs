using System.Text;
using System.Text.Json;

namespace Airgap.Oci;

/// <summary>
/// The small documents of an OCI image layout, plus Docker's manifest.json beside them so that both
/// `ctr images import` and `docker load` name every image canonically without extra flags.
/// </summary>
public static class OciLayout
{
    public const string ContainerdNameAnnotation = "io.containerd.image.name";
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    public static byte[] LayoutFile() => Encoding.UTF8.GetBytes("{\"imageLayoutVersion\":\"1.0.0\"}\n");

    public static string BlobPath(Digest digest) => $"blobs/sha256/{digest.Hex}";

    /// <summary>
    /// index.json: one entry per canonical name, sorted, so equal inputs give equal bytes. The entry is
    /// what the name points at upstream — the multi-arch index (whose other platforms are simply absent)
    /// or the platform manifest — in its own media type: importers follow the index to the platform
    /// they run on, and a reference pinned to either digest finds its document. After the names come
    /// name@digest aliases for the index and the platform manifest, as a pull by digest leaves them.
    /// </summary>
    public static byte[] Index(IEnumerable<PulledImage> images)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", MediaTypes.OciIndex);
            w.WriteStartArray("manifests");
            var aliases = new SortedDictionary<string, (Descriptor Descriptor, Platform? Platform)>(StringComparer.Ordinal);
            foreach (var image in images.OrderBy(i => i.Canonical.ToString(), StringComparer.Ordinal))
            {
                WriteEntry(w, image.Target, image.Canonical.ToString(), image.Index is null ? image.Platform : null, refName: true);
                // What a pull by digest would have named too: the CRI resolves `name@sha256:…` only through
                // such a name, so a reference pinned to the index or to the platform manifest runs offline.
                aliases.TryAdd($"{image.Canonical.Name}@{image.Target.Digest}", (image.Target, image.Index is null ? image.Platform : null));
                if (image.Index is not null) aliases.TryAdd($"{image.Canonical.Name}@{image.Manifest.Digest}", (image.Manifest, image.Platform));
            }
            foreach (var (name, (descriptor, platform)) in aliases) WriteEntry(w, descriptor, name, platform, refName: false);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    private static void WriteEntry(Utf8JsonWriter w, Descriptor target, string name, Platform? platform, bool refName)
    {
        w.WriteStartObject();
        w.WriteString("mediaType", target.MediaType);
        w.WriteString("digest", target.Digest);
        w.WriteNumber("size", target.Size);
        w.WriteStartObject("annotations");
        w.WriteString(ContainerdNameAnnotation, name);
        // The full name, not just the tag: several images share a tag (v1.20.2), and tools
        // that select by ref.name (skopeo oci:DIR:REF) need it unique. Digest aliases have none.
        if (refName) w.WriteString(RefNameAnnotation, name);
        w.WriteEndObject();
        if (platform is not null)
        {
            w.WriteStartObject("platform");
            w.WriteString("architecture", platform.Architecture);
            w.WriteString("os", platform.Os);
            if (platform.Variant is not null) w.WriteString("variant", platform.Variant);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>Docker's archive manifest: docker load reads it, decompresses layers itself and checks diff IDs.</summary>
    public static byte[] DockerManifest(IEnumerable<PulledImage> images)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartArray();
            foreach (var image in images.OrderBy(i => i.Canonical.ToString(), StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("Config", BlobPath(image.Config.ParsedDigest));
                w.WriteStartArray("RepoTags");
                w.WriteStringValue(image.Canonical.ToString());
                w.WriteEndArray();
                w.WriteStartArray("Layers");
                foreach (var layer in image.Layers) w.WriteStringValue(BlobPath(layer.ParsedDigest));
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }
}
