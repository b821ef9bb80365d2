namespace Airgap.Oci;

/// <summary>
/// Where to pull an image from, given its canonical name. `--mirror SRC=DST` rules rewrite a
/// registry (and optionally a path prefix) to mirrors, tried in the order given, and the original
/// last — so a build with a mirror that lacks one image still succeeds where the source is reachable.
/// </summary>
public sealed class MirrorRules
{
    private readonly List<(string Source, string Destination)> _rules = [];

    public IReadOnlyList<(string Source, string Destination)> Rules => _rules;

    /// <summary>Parses "SRC=DST" where SRC is a registry or registry/path and DST the same.</summary>
    public void Add(string rule)
    {
        var eq = rule.IndexOf('=');
        if (eq <= 0 || eq == rule.Length - 1)
            throw new AirgapException($"--mirror \"{rule}\" must be SRC=DST, e.g. quay.io=quay.mirrors.example.com or docker.io=registry.example.com/dockerhub");
        var source = Normalize(rule[..eq]);
        var destination = Normalize(rule[(eq + 1)..]);
        if (!ImageReference.TryParse(destination + "/x", out _, out var why))
            throw new AirgapException($"--mirror destination \"{destination}\" is not a registry[/path]: {why}");
        _rules.Add((source, destination));
    }

    private static string Normalize(string value)
    {
        var v = value.Trim().TrimEnd('/');
        if (v.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) v = v[8..];
        else if (v.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) v = v[7..];
        return v is "index.docker.io" or "registry-1.docker.io" ? ImageReference.DockerHub : v;
    }

    public IReadOnlyList<ImageReference> Candidates(ImageReference canonical)
    {
        var result = new List<ImageReference>();
        var full = canonical.Name;
        foreach (var (source, destination) in _rules)
        {
            if (full != source && !full.StartsWith(source + "/", StringComparison.Ordinal)) continue;
            var rest = full[source.Length..].TrimStart('/');
            var mirrored = ImageReference.Parse(destination + "/" + rest + Suffix(canonical));
            result.Add(mirrored);
        }
        result.Add(canonical);
        return result;
    }

    private static string Suffix(ImageReference r) =>
        (r.Tag is null ? "" : ":" + r.Tag) + (r.Digest is null ? "" : "@" + r.Digest);
}
