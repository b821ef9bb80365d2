using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Airgap.Bundles;

/// <summary>
/// sbom.cdx.json: a CycloneDX 1.5 JSON bill of materials of every image (name, manifest digest),
/// package (name, version, arch, sha256) and binary (name, version, sha256) in a bundle, for the
/// scanners sites already run (grype, trivy, Dependency-Track read CycloneDX). Written from
/// bundle.yaml's own records, so it says exactly what the bundle holds. It carries no timestamp
/// (optional in CycloneDX) and its serialNumber is derived from its content, so the same bundle
/// gives the same bytes.
/// </summary>
public static class BundleSbom
{
    public const string FileName = "sbom.cdx.json";
    public const string SpecVersion = "1.5";

    /// <param name="installerSha256">bin/airgap's sha256 when the bundle carries it: the installer is software in the bundle too.</param>
    public static BundleMember Member(BundleDocument document, string toolVersion, string? installerSha256) =>
        BundleMember.FromBytes(FileName, Write(document, toolVersion, installerSha256));

    public static byte[] Write(BundleDocument document, string toolVersion, string? installerSha256)
    {
        var body = Serialize(document, toolVersion, installerSha256, serialNumber: null);
        return Serialize(document, toolVersion, installerSha256, SerialNumberOf(body));
    }

    /// <summary>A urn:uuid in the version-5 layout CycloneDX's schema requires, from the SHA-256 of the rest of the document.</summary>
    private static string SerialNumberOf(byte[] body)
    {
        var bytes = SHA256.HashData(body)[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        var hex = Convert.ToHexStringLower(bytes);
        return $"urn:uuid:{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }

    private static byte[] Serialize(BundleDocument document, string toolVersion, string? installerSha256, string? serialNumber)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("bomFormat", "CycloneDX");
            w.WriteString("specVersion", SpecVersion);
            if (serialNumber is not null) w.WriteString("serialNumber", serialNumber);
            w.WriteNumber("version", 1);

            w.WriteStartObject("metadata");
            w.WriteStartObject("tools");
            w.WriteStartArray("components");
            w.WriteStartObject();
            w.WriteString("type", "application");
            w.WriteString("name", "airgap");
            w.WriteString("version", toolVersion);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("component");
            w.WriteString("type", "file");
            w.WriteString("bom-ref", "bundle");
            w.WriteString("name", document.Name);
            w.WriteString("version", document.Kubernetes);
            Properties(w, ("airgap:kubernetes", document.Kubernetes), ("airgap:platform", $"{document.Os}/{document.Arch}"),
                ("airgap:cni", document.Cni.Version is null ? document.Cni.Name : $"{document.Cni.Name} {document.Cni.Version}"));
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartArray("components");
            foreach (var image in document.Images) Image(w, image, document.Arch);
            foreach (var package in document.Packages) Package(w, package);
            foreach (var binary in document.Binaries) Binary(w, binary);
            if (installerSha256 is not null)
                Component(w, "application", "binary:bin/airgap", "airgap", toolVersion, installerSha256,
                    $"pkg:generic/airgap@{Escape(toolVersion)}", [("airgap:path", "bin/airgap")]);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    private static void Image(Utf8JsonWriter w, BundleImage image, string arch)
    {
        // name:tag → the repository as CycloneDX's name, the tag as its version; the manifest digest is the hash.
        var slash = image.Name.LastIndexOf('/');
        var colon = image.Name.LastIndexOf(':');
        var (repository, tag) = colon > slash ? (image.Name[..colon], image.Name[(colon + 1)..]) : (image.Name, null);
        var hex = image.Digest.StartsWith("sha256:", StringComparison.Ordinal) ? image.Digest[7..] : image.Digest;
        // purl's oci type: the last path segment as name, the digest as version, qualifiers sorted.
        var purl = $"pkg:oci/{Escape(repository[(repository.LastIndexOf('/') + 1)..].ToLowerInvariant())}@sha256%3A{hex}" +
                   $"?arch={arch}&repository_url={Escape(repository)}" + (tag is null ? "" : $"&tag={Escape(tag)}");
        var properties = new List<(string, string)> { ("airgap:source", image.Source), ("airgap:mediaType", image.MediaType) };
        if (image.IndexDigest is not null) properties.Add(("airgap:indexDigest", image.IndexDigest));
        Component(w, "container", "image:" + image.Name, repository, tag ?? image.Digest, hex, purl, properties);
    }

    private static void Package(Utf8JsonWriter w, BundlePackage p)
    {
        var type = p.Path.EndsWith(".rpm", StringComparison.Ordinal) ? "rpm" : "deb";
        var vendor = p.Os.Split('-')[0];
        var purl = $"pkg:{type}/{Escape(vendor)}/{Escape(p.Name)}@{Escape(p.Version)}?arch={Escape(p.Arch)}&distro={Escape(p.Os)}";
        Component(w, "library", $"package:{p.Os}:{p.Name}:{p.Version}:{p.Arch}", p.Name, p.Version, p.Sha256, purl,
            [("airgap:os", p.Os), ("airgap:arch", p.Arch), ("airgap:repository", p.Repository), ("airgap:path", p.Path)]);
    }

    private static void Binary(Utf8JsonWriter w, BundleBinary b) =>
        Component(w, "application", "binary:" + b.Path, b.Name, b.Version, b.Sha256,
            $"pkg:generic/{Escape(b.Name)}@{Escape(b.Version)}?download_url={Escape(b.Source)}",
            [("airgap:path", b.Path), ("airgap:source", b.Source), ("airgap:checksumSource", b.ChecksumSource)]);

    private static void Component(Utf8JsonWriter w, string type, string bomRef, string name, string version, string sha256, string purl,
        IReadOnlyList<(string Name, string Value)> properties)
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        w.WriteString("bom-ref", bomRef);
        w.WriteString("name", name);
        w.WriteString("version", version);
        w.WriteStartArray("hashes");
        w.WriteStartObject();
        w.WriteString("alg", "SHA-256");
        w.WriteString("content", sha256);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteString("purl", purl);
        Properties(w, [.. properties]);
        w.WriteEndObject();
    }

    private static void Properties(Utf8JsonWriter w, params (string Name, string Value)[] properties)
    {
        w.WriteStartArray("properties");
        foreach (var (name, value) in properties)
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteString("value", value);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>purl percent-encoding; '/' stays in qualifier values such as repository_url, as purl's own examples write it.</summary>
    private static string Escape(string value) => Uri.EscapeDataString(value).Replace("%2F", "/", StringComparison.Ordinal);
}
