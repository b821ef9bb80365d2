using System.Text.RegularExpressions;

namespace Airgap.Oci;

/// <summary>
/// An image reference in Docker's grammar: [registry[:port]/]path[:tag][@digest]. Like the Docker
/// CLI, a reference without a registry means docker.io, and a one-component path there means library/.
/// </summary>
public sealed partial record ImageReference(string Registry, string Repository, string? Tag, Digest? Digest)
{
    public const string DockerHub = "docker.io";

    /// <summary>The host the distribution API is served from (Docker Hub's differs from its name).</summary>
    public string ApiHost => Registry == DockerHub ? "registry-1.docker.io" : Registry;

    /// <summary>What a manifest request asks for: the digest when pinned, else the tag.</summary>
    public string ManifestReference => Digest?.ToString() ?? Tag ?? "latest";

    public string Name => $"{Registry}/{Repository}";

    public override string ToString() =>
        Name + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    public ImageReference WithRegistryAndRepository(string registry, string repository) =>
        this with { Registry = registry, Repository = repository };

    public static ImageReference Parse(string value)
    {
        if (TryParse(value, out var reference, out var why)) return reference;
        throw new AirgapException($"\"{value}\" is not a valid image reference: {why}");
    }

    public static bool TryParse(string value, out ImageReference reference, out string why)
    {
        reference = null!;
        why = "";
        if (string.IsNullOrWhiteSpace(value)) { why = "it is empty"; return false; }
        if (value.Length > 4096) { why = "it is too long"; return false; }

        var rest = value;
        Digest? digest = null;
        var at = rest.IndexOf('@');
        if (at >= 0)
        {
            if (!Digest.TryParse(rest[(at + 1)..], out var d)) { why = "the part after @ is not a sha256 digest"; return false; }
            digest = d;
            rest = rest[..at];
        }

        string? tag = null;
        var lastSlash = rest.LastIndexOf('/');
        var colon = rest.LastIndexOf(':');
        if (colon > lastSlash)
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag)) { why = $"tag \"{tag}\" is not valid (letters, digits, _ . -, at most 128)"; return false; }
        }

        var registry = DockerHub;
        var firstSlash = rest.IndexOf('/');
        if (firstSlash > 0)
        {
            var first = rest[..firstSlash];
            if (first.Contains('.') || first.Contains(':') || first == "localhost")
            {
                registry = first;
                rest = rest[(firstSlash + 1)..];
                if (!RegistryPattern().IsMatch(registry)) { why = $"registry \"{registry}\" is not a host[:port]"; return false; }
            }
        }
        if (registry is "index.docker.io" or "registry-1.docker.io") registry = DockerHub;

        if (rest.Length == 0) { why = "the repository path is empty"; return false; }
        if (registry == DockerHub && !rest.Contains('/')) rest = "library/" + rest;
        foreach (var component in rest.Split('/'))
        {
            if (!ComponentPattern().IsMatch(component))
            {
                why = $"path component \"{component}\" must be lowercase letters and digits separated by . _ __ or -";
                return false;
            }
        }
        reference = new ImageReference(registry, rest, tag ?? (digest is null ? "latest" : null), digest);
        return true;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")]
    private static partial Regex ComponentPattern();

    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](?::[0-9]{1,5})?$")]
    private static partial Regex RegistryPattern();
}
