using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Airgap.Packages.Profiles;

/// <summary>
/// What the operator changed about a profile's repositories: <c>--os-mirror</c>, <c>--k8s-repo</c>,
/// <c>--k8s-repo-key</c> and the repositories of <c>--repos</c> (<see cref="LoadReposFile"/>).
/// An <see cref="Extra"/> repository whose name equals one of the profile's replaces it; others are added.
/// </summary>
public sealed record RepositoryOverrides(
    Uri? OsMirror,
    Uri? KubernetesRepo,
    string? KubernetesRepoKey,
    IReadOnlyList<PackageRepository> Extra)
{
    public static RepositoryOverrides None { get; } = new(null, null, null, []);

    /// <summary>
    /// The layout <see cref="KubernetesRepo"/> serves, when the caller has probed it; null means the one
    /// the Kubernetes version implies (<see cref="KubernetesRepositoryLayouts.ForVersion"/>).
    /// </summary>
    public KubernetesRepositoryLayout? KubernetesLayout { get; init; }

    /// <summary>
    /// Where the profile's embedded keys are written, because the resolvers read keys from files.
    /// Null means <c>keys/</c> under the default blob cache root.
    /// </summary>
    public string? KeyDirectory { get; init; }

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build();

    /// <summary>
    /// Reads a <c>--repos</c> file: a YAML list of <c>{name, kind: apt|rpm, url, suite, components, key}</c>.
    /// A relative <c>key</c> is taken relative to the file, so a repos file and its keys can travel together.
    /// Unknown fields are errors: a misspelt <c>key</c> must not silently leave a repository untrusted.
    /// </summary>
    public static IReadOnlyList<PackageRepository> LoadReposFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AirgapException($"--repos {path}: cannot read it: {e.Message}", e);
        }
        return ParseRepos(text, path, Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".");
    }

    internal static IReadOnlyList<PackageRepository> ParseRepos(string yaml, string source, string baseDirectory)
    {
        List<RepoEntry>? entries;
        try
        {
            entries = Deserializer.Deserialize<List<RepoEntry>?>(yaml);
        }
        catch (YamlException e)
        {
            throw new AirgapException($"--repos {source}: not a list of repositories ({e.Message}); write entries of name, kind, url, suite, components, key", e);
        }
        if (entries is null || entries.Count == 0)
            throw new AirgapException($"--repos {source}: holds no repository; write entries of name, kind, url, suite, components, key");

        var result = new List<PackageRepository>();
        var names = new HashSet<(string, RepositoryKind)>();
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            var where = $"--repos {source}: entry {i + 1}{(string.IsNullOrWhiteSpace(e.Name) ? "" : $" ({e.Name})")}";
            if (string.IsNullOrWhiteSpace(e.Name)) throw new AirgapException($"{where}: has no name");
            var kind = e.Kind?.Trim().ToLowerInvariant() switch
            {
                "apt" or "deb" => RepositoryKind.Apt,
                "rpm" or "yum" => RepositoryKind.Rpm,
                _ => throw new AirgapException($"{where}: kind is \"{e.Kind}\"; write kind: apt or kind: rpm"),
            };
            if (!names.Add((e.Name, kind))) throw new AirgapException($"{where}: a second {kind} repository named {e.Name}; names must be unique");
            if (string.IsNullOrWhiteSpace(e.Url) || !Uri.TryCreate(e.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https" or "file"))
                throw new AirgapException($"{where}: url \"{e.Url}\" is not an absolute http, https or file URL");
            var components = e.Components ?? [];
            if (kind == RepositoryKind.Apt && e.Suite is { } suite && !suite.EndsWith('/') && components.Count == 0)
                throw new AirgapException($"{where}: suite {suite} needs components (e.g. [main]); a flat repository has suite: /");
            string? key = null;
            if (!string.IsNullOrWhiteSpace(e.Key))
            {
                key = Path.GetFullPath(Path.Combine(baseDirectory, e.Key));
                if (!File.Exists(key)) throw new AirgapException($"{where}: key file {key} does not exist");
            }
            result.Add(new PackageRepository(e.Name, kind, WithTrailingSlash(url), e.Suite, components, key));
        }
        return result;
    }

    internal static Uri WithTrailingSlash(Uri url) =>
        url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/");

    private sealed class RepoEntry
    {
        public string Name { get; set; } = "";
        public string? Kind { get; set; }
        public string? Url { get; set; }
        public string? Suite { get; set; }
        public List<string>? Components { get; set; }
        public string? Key { get; set; }
    }
}
