using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Airgap.Packages.Profiles;

/// <summary>
/// The YAML shape of <c>manifests/os/*.yaml</c> (mutable because YamlDotNet fills it) and its checks.
/// Unknown fields are errors: a misspelt <c>key</c> must fail the build of airgap, not leave a repository
/// unsigned at run time.
/// </summary>
internal sealed partial class OsProfileDocument
{
    /// <summary>The host tools kubeadm's preflight looks for; every profile must say what each is called there.</summary>
    public static readonly IReadOnlyList<string> RequiredTools = ["conntrack", "socat", "ebtables", "ethtool", "ipset", "ipvsadm", "iptables"];

    public string Name { get; set; } = "";
    public string Family { get; set; } = "";
    public string Release { get; set; } = "";
    public string? Codename { get; set; }
    public Dictionary<string, string> Arches { get; set; } = [];
    public ArchiveDocument Archive { get; set; } = new();
    public List<OsRepositoryDocument> Repositories { get; set; } = [];
    public KubernetesDocument Kubernetes { get; set; } = new();
    public RuntimeDocument Runtime { get; set; } = new();
    public Dictionary<string, string> Tools { get; set; } = [];
    public Dictionary<string, List<string>> Keys { get; set; } = [];

    public sealed class ArchiveDocument
    {
        public List<string> Mirrors { get; set; } = [];
        public Dictionary<string, List<string>> ByArch { get; set; } = [];
    }

    public sealed class OsRepositoryDocument
    {
        public string Name { get; set; } = "";
        public string? Root { get; set; }
        public string? Path { get; set; }
        public string? Suite { get; set; }
        public List<string> Components { get; set; } = [];
        public string? Key { get; set; }
    }

    public sealed class ExternalRepositoryDocument
    {
        public string? Name { get; set; }
        public List<string> Urls { get; set; } = [];
        public string? Suite { get; set; }
        public List<string> Components { get; set; } = [];
        public string? Key { get; set; }
    }

    public sealed class KubernetesDocument
    {
        public ExternalRepositoryDocument? Legacy { get; set; }
        public ExternalRepositoryDocument? PerMinor { get; set; }
    }

    public sealed class RuntimeDocument
    {
        public List<string> Packages { get; set; } = [];
        public ExternalRepositoryDocument? Repository { get; set; }
    }

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Placeholder();

    /// <summary>Parses and checks one profile; <paramref name="expectedName"/> is the file's name, which the profile must repeat.</summary>
    public static OsProfile Parse(string yaml, string source, string? expectedName = null)
    {
        OsProfileDocument doc;
        try
        {
            doc = Deserializer.Deserialize<OsProfileDocument?>(yaml) ?? throw new AirgapException($"{source}: the profile is empty");
        }
        catch (YamlException e)
        {
            throw new AirgapException($"{source}: not a valid OS profile ({e.Message})", e);
        }
        return doc.ToProfile(source, expectedName);
    }

    private OsProfile ToProfile(string source, string? expectedName)
    {
        AirgapException Bad(string what) => new($"{source}: {what}");

        if (string.IsNullOrWhiteSpace(Name)) throw Bad("has no name");
        if (expectedName is not null && Name != expectedName) throw Bad($"is named {Name}; a profile's name must equal its file name ({expectedName})");
        var family = Family switch
        {
            "apt" => PackageFamily.Apt,
            "rpm" => PackageFamily.Rpm,
            _ => throw Bad($"family is \"{Family}\"; write apt or rpm"),
        };
        if (string.IsNullOrWhiteSpace(Release)) throw Bad("has no release");
        if (Arches.Count == 0) throw Bad("names no architecture (arches: {amd64: …})");
        if (Archive.Mirrors.Count == 0) throw Bad("archive has no mirrors");
        foreach (var arch in Archive.ByArch.Keys.Where(a => !Arches.ContainsKey(a)))
            throw Bad($"archive.byArch names {arch}, which is not among its arches");
        if (Repositories.Count == 0) throw Bad("has no repositories");
        var missingTools = RequiredTools.Where(t => !Tools.ContainsKey(t)).ToList();
        if (missingTools.Count > 0) throw Bad($"tools does not say what {string.Join(", ", missingTools)} is called");

        void CheckUrl(string template, string field, params string[] allowed)
        {
            foreach (Match m in Placeholder().Matches(template))
                if (!allowed.Contains(m.Value)) throw Bad($"{field} \"{template}\" uses {m.Value}; only {string.Join(", ", allowed)} are known there");
            var sample = Placeholder().Replace(template, "x");
            if (!Uri.TryCreate(sample, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https" or "file"))
                throw Bad($"{field} \"{template}\" is not an absolute http, https or file URL");
        }

        void CheckKey(string? key, string repository)
        {
            if (key is null) return; // a repository the profile has no key for: using it is refused, with advice.
            if (!OsProfileCatalog.KnownKeys.Contains(key)) throw Bad($"repository {repository} names key {key}, which is not in manifests/keys/");
            if (!Keys.ContainsKey(key)) throw Bad($"key {key} has no fingerprints under keys:; record them as gpg --show-keys prints them");
        }

        void CheckApt(string? suite, IReadOnlyList<string> components, string repository)
        {
            if (family != PackageFamily.Apt) return;
            if (string.IsNullOrWhiteSpace(suite)) throw Bad($"apt repository {repository} has no suite (a flat repository has suite: /)");
            if (!suite.EndsWith('/') && components.Count == 0) throw Bad($"apt repository {repository} has suite {suite} but no components");
        }

        foreach (var m in Archive.Mirrors.Concat(Archive.ByArch.Values.SelectMany(v => v)))
            CheckUrl(m, "archive mirror", "{arch}");

        var names = new HashSet<string>(StringComparer.Ordinal);
        var osRepositories = new List<OsRepository>();
        foreach (var r in Repositories)
        {
            if (string.IsNullOrWhiteSpace(r.Name)) throw Bad("has a repository without a name");
            if (!names.Add(r.Name)) throw Bad($"has two repositories named {r.Name}");
            if (r.Root is { } root)
            {
                if (!root.Contains("{archive}", StringComparison.Ordinal)) throw Bad($"repository {r.Name}: root \"{root}\" must be derived from {{archive}}, or --os-mirror could not move it");
                CheckUrl(root.Replace("{archive}", "https://mirror.invalid/x", StringComparison.Ordinal), $"repository {r.Name} root", "{arch}");
            }
            var path = r.Path ?? "";
            if (path.StartsWith('/') || path.Contains("..", StringComparison.Ordinal)) throw Bad($"repository {r.Name}: path \"{path}\" must be relative");
            CheckUrl("https://mirror.invalid/" + path, $"repository {r.Name} path", "{arch}");
            CheckApt(r.Suite, r.Components, r.Name);
            if (family == PackageFamily.Rpm && (r.Suite is not null || r.Components.Count > 0)) throw Bad($"rpm repository {r.Name} has a suite or components; rpm repositories have neither");
            CheckKey(r.Key, r.Name);
            osRepositories.Add(new OsRepository(r.Name, r.Root, path, r.Suite, r.Components.ToList(), r.Key));
        }

        ExternalRepository? External(ExternalRepositoryDocument? d, string defaultName, string field, params string[] placeholders)
        {
            if (d is null) return null;
            var name = d.Name ?? defaultName;
            if (d.Urls.Count == 0) throw Bad($"{field} has no urls");
            foreach (var u in d.Urls) CheckUrl(u, $"{field} url", placeholders);
            CheckApt(d.Suite, d.Components, field);
            if (family == PackageFamily.Rpm && (d.Suite is not null || d.Components.Count > 0)) throw Bad($"{field} has a suite or components; rpm repositories have neither");
            CheckKey(d.Key, field);
            return new ExternalRepository(name, d.Urls.ToList(), d.Suite, d.Components.ToList(), d.Key);
        }

        var legacy = External(Kubernetes.Legacy, OsProfile.KubernetesRepositoryName, "kubernetes.legacy", "{arch}");
        var perMinor = External(Kubernetes.PerMinor, OsProfile.KubernetesRepositoryName, "kubernetes.perMinor", "{arch}", "{minor}");
        if (legacy is null && perMinor is null) throw Bad("has no Kubernetes repository");
        if (perMinor is not null && !perMinor.Urls.All(u => u.Contains("{minor}", StringComparison.Ordinal)))
            throw Bad("kubernetes.perMinor urls must hold {minor}: pkgs.k8s.io has one repository per minor");
        if (Runtime.Packages.Count == 0) throw Bad("runtime names no package");
        var runtime = External(Runtime.Repository, "runtime", "runtime.repository", "{arch}");
        if (runtime is not null && (runtime.Name == OsProfile.KubernetesRepositoryName || names.Contains(runtime.Name)))
            throw Bad($"runtime.repository is named {runtime.Name}, which another repository already is");

        var fingerprints = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (file, list) in Keys)
        {
            if (list.Count == 0 || list.Any(f => f.Length != 40 || !f.All(Uri.IsHexDigit)))
                throw Bad($"keys.{file} must list 40-hex-digit fingerprints");
            fingerprints[file] = list.Select(f => f.ToUpperInvariant()).ToList();
        }

        return new OsProfile(
            Name, family, Release, Codename,
            new Dictionary<string, string>(Arches, StringComparer.Ordinal),
            Archive.Mirrors.ToList(),
            Archive.ByArch.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.ToList(), StringComparer.Ordinal),
            osRepositories,
            legacy,
            perMinor,
            Runtime.Packages.ToList(),
            runtime,
            new Dictionary<string, string>(Tools, StringComparer.Ordinal),
            fingerprints);
    }
}
