using System.Text.RegularExpressions;

namespace Airgap.Oci;

/// <summary>
/// Where a bundle's images land in the site's registry: HOST[/PREFIX] and either the full upstream
/// path below it (k8s.gcr.io/kube-apiserver → HOST/PREFIX/k8s.gcr.io/kube-apiserver, the default:
/// nothing can collide, and containerd mirrors map straight onto it) or, with flat, the last path
/// element only (HOST/PREFIX/kube-apiserver: what kubeadm's imageRepository and a Harbor project expect).
/// </summary>
public sealed partial record RegistryMapping(string Host, string Prefix, bool Flat)
{
    public static RegistryMapping Parse(string value, bool flat)
    {
        var text = value.Trim().TrimEnd('/');
        if (text.Contains("://", StringComparison.Ordinal))
            throw new AirgapException($"--registry {value}: give HOST[:PORT][/PREFIX] without a scheme (--plain-http for a registry without TLS)");
        var slash = text.IndexOf('/');
        var host = slash < 0 ? text : text[..slash];
        var prefix = slash < 0 ? "" : text[(slash + 1)..];
        if (!HostPattern().IsMatch(host))
            throw new AirgapException($"--registry {value}: \"{host}\" is not a registry host[:port]");
        if (prefix.Length > 0 && !prefix.Split('/').All(p => PathPattern().IsMatch(p)))
            throw new AirgapException($"--registry {value}: \"{prefix}\" is not a repository path (lower-case letters, digits, . _ - and /)");
        return new RegistryMapping(host, prefix, flat);
    }

    /// <summary>
    /// An upstream registry as a repository path element: a port's colon (and IPv6 brackets) is not
    /// allowed in a repository name, so 10.0.0.5:5000 becomes 10.0.0.5-5000. Push, the mirror settings
    /// and serve all use this one spelling.
    /// </summary>
    public static string PathElement(string registry) => registry.Replace("[", "", StringComparison.Ordinal).Replace("]", "", StringComparison.Ordinal).Replace(':', '-').ToLowerInvariant();

    /// <summary>The image's name in the site registry, with the same tag.</summary>
    public ImageReference Map(ImageReference canonical)
    {
        var path = Flat ? canonical.Repository[(canonical.Repository.LastIndexOf('/') + 1)..] : $"{PathElement(canonical.Registry)}/{canonical.Repository}";
        return new ImageReference(Host, Prefix.Length == 0 ? path : $"{Prefix}/{path}", canonical.Tag, canonical.Digest);
    }

    /// <summary>Every image's target; two images that would land on one name are refused, naming both.</summary>
    public IReadOnlyList<ImageCopy> Plan(IEnumerable<ImageReference> canonical)
    {
        var copies = canonical.Select(c => new ImageCopy(c, Map(c))).ToList();
        foreach (var clash in copies.GroupBy(c => c.To.ToString()).Where(g => g.Count() > 1))
            throw new AirgapException($"{string.Join(" and ", clash.Select(c => c.From))} would both be pushed as {clash.Key}; drop --flat so each keeps its full path");
        return copies;
    }

    public override string ToString() => Prefix.Length == 0 ? Host : $"{Host}/{Prefix}";

    [GeneratedRegex(@"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$")]
    private static partial Regex HostPattern();

    [GeneratedRegex(@"^[a-z0-9]+([._-][a-z0-9]+)*$")]
    private static partial Regex PathPattern();
}
