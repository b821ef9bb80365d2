using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airgap.Oci;

public sealed record Platform(
    [property: JsonPropertyName("architecture")] string Architecture,
    [property: JsonPropertyName("os")] string Os,
    [property: JsonPropertyName("variant")] string? Variant = null)
{
    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    /// <summary>arm64 images are published with and without the "v8" variant; both run on the same hosts.</summary>
    public bool Matches(Platform wanted) =>
        Os == wanted.Os && Architecture == wanted.Architecture &&
        (wanted.Variant is null || Variant is null || Variant == wanted.Variant ||
         (Architecture == "arm64" && (Variant ?? "v8") == (wanted.Variant ?? "v8")));

    public static Platform Linux(string arch) => new(arch, "linux");
}

public sealed record Descriptor(
    [property: JsonPropertyName("mediaType")] string MediaType,
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("platform")] Platform? Platform = null,
    [property: JsonPropertyName("annotations")] IReadOnlyDictionary<string, string>? Annotations = null)
{
    public Digest ParsedDigest => Oci.Digest.Parse(Digest);
}

/// <summary>An image manifest (Docker schema2 or OCI). Only what we need to follow it is parsed.</summary>
public sealed record ImageManifest(
    [property: JsonPropertyName("schemaVersion")] int SchemaVersion,
    [property: JsonPropertyName("mediaType")] string? MediaType,
    [property: JsonPropertyName("config")] Descriptor Config,
    [property: JsonPropertyName("layers")] IReadOnlyList<Descriptor> Layers);

/// <summary>A manifest list (Docker) or image index (OCI).</summary>
public sealed record ImageIndex(
    [property: JsonPropertyName("schemaVersion")] int SchemaVersion,
    [property: JsonPropertyName("mediaType")] string? MediaType,
    [property: JsonPropertyName("manifests")] IReadOnlyList<Descriptor> Manifests);

/// <summary>The parts of an image config the bundle needs: the platform and the diff IDs docker load checks.</summary>
public sealed record ImageConfig(
    [property: JsonPropertyName("architecture")] string? Architecture,
    [property: JsonPropertyName("os")] string? Os,
    [property: JsonPropertyName("variant")] string? Variant);

public static class ManifestJson
{
    internal static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static T Read<T>(ReadOnlySpan<byte> json, string what) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException("null document");
        }
        catch (JsonException e)
        {
            throw new AirgapException($"{what} is not valid JSON of the expected shape ({e.Message.Split('\n')[0]})");
        }
    }

    /// <summary>
    /// Registries do not always send the media type in Content-Type (or send a generic one), but the
    /// document usually names itself; fall back to its shape when it does not.
    /// </summary>
    public static string DetectMediaType(ReadOnlySpan<byte> json, string? contentType)
    {
        if (contentType is not null && (MediaTypes.IsIndex(contentType) || MediaTypes.IsManifest(contentType))) return contentType;
        using var doc = JsonDocument.Parse(json.ToArray());
        var root = doc.RootElement;
        if (root.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String) return mt.GetString()!;
        if (root.TryGetProperty("manifests", out _)) return MediaTypes.OciIndex;
        if (root.TryGetProperty("layers", out _)) return MediaTypes.OciManifest;
        if (root.TryGetProperty("fsLayers", out _)) return MediaTypes.DockerSchema1Signed;
        return contentType ?? "application/octet-stream";
    }
}
