using System.Text;
using Airgap.Oci;

namespace Airgap.Nodes;

/// <summary>
/// The site's registry (filled by `airgap push`, or `airgap serve` of the bundle) as the place a
/// node's containerd pulls from: every upstream registry the cluster's images name is pointed at it,
/// below the registry's own name (HOST/PREFIX/k8s.gcr.io/kube-apiserver, push's layout), so the
/// kubelet pulls by the canonical names and nothing needs importing.
/// </summary>
public sealed record RegistryMirror(Uri Url, string? CaFile)
{
    /// <summary>containerd's hosts directory (config_path), read by containerd 1.5 and later.</summary>
    public const string HostsDirectory = "/etc/containerd/certs.d";

    /// <summary>Where the mirror's CA goes on the node, beside the hosts.toml files that name it.</summary>
    public const string CaPath = HostsDirectory + "/airgap-mirror-ca.crt";

    /// <summary>Registries the cluster's images come from, mirrored even when the bundle names none of them (new workloads do).</summary>
    public static readonly string[] WellKnown = ["docker.io", "k8s.gcr.io", "quay.io", "registry.k8s.io"];

    public static RegistryMirror Parse(string url, string? caFile)
    {
        if (!Uri.TryCreate(url.TrimEnd('/'), UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || uri.Host.Length == 0 ||
            uri.Query.Length > 0 || uri.Fragment.Length > 0)
            throw new AirgapException($"--registry-mirror {url}: give https://HOST[:PORT][/PREFIX] (or http:// for a registry without TLS)");
        if (caFile is not null)
        {
            if (uri.Scheme != "https") throw new AirgapException($"--registry-ca is for an https mirror; {url} is plain HTTP");
            if (!File.Exists(caFile)) throw new AirgapException($"--registry-ca {caFile} does not exist; give the PEM file of the CA that signed the mirror's certificate");
            if (!File.ReadAllText(caFile).Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
                throw new AirgapException($"--registry-ca {caFile} holds no PEM certificate");
        }
        return new RegistryMirror(uri, caFile is null ? null : Path.GetFullPath(caFile));
    }

    /// <summary>The path below the mirror's host, without slashes at either end ("" for none).</summary>
    public string Prefix => Url.AbsolutePath.Trim('/');

    public override string ToString() => Url.ToString().TrimEnd('/');

    /// <summary>Every registry to point at the mirror: the well-known ones and those the bundle's images name.</summary>
    public static IReadOnlyList<string> Registries(IEnumerable<string> imageNames) =>
        WellKnown.Concat(imageNames.Select(n => ImageReference.Parse(n).Registry)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// hosts.toml for one upstream registry (containerd 1.5+): the mirror first, with the upstream path
    /// kept below it (override_path, since the path is not /v2 of the mirror's own), upstream itself as
    /// the server behind it — unreachable on an isolated site, so every pull is the mirror's.
    /// </summary>
    public string HostsToml(string registry, bool withCa)
    {
        var upstream = registry == ImageReference.DockerHub ? "registry-1.docker.io" : registry;
        var element = RegistryMapping.PathElement(registry);
        var path = Prefix.Length == 0 ? element : $"{Prefix}/{element}";
        var text = new StringBuilder();
        text.Append($"# Written by airgap: pull {registry} images from the site's registry {this}.\n");
        text.Append($"server = {ContainerdConfig.Quote("https://" + upstream)}\n\n");
        text.Append($"[host.{ContainerdConfig.Quote($"{Url.Scheme}://{Url.Authority}/v2/{path}")}]\n");
        text.Append("  capabilities = [\"pull\", \"resolve\"]\n");
        text.Append("  override_path = true\n");
        if (withCa) text.Append($"  ca = {ContainerdConfig.Quote(CaPath)}\n");
        return text.ToString();
    }

    /// <summary>
    /// containerd 1.4 has no hosts directory: its CRI mirrors take an endpoint whose /v2/ is the API
    /// root, so the image is asked for by its path without the registry (kube-apiserver): what
    /// `airgap serve` answers, and a registry filled with `airgap push --flat`.
    /// </summary>
    public string LegacyEndpoint => $"{Url.Scheme}://{Url.Authority}";
}
