using Airgap.Oci;
using Airgap.Releases;

namespace Airgap.Packages.Profiles;

/// <summary>The package format of a target OS.</summary>
public enum PackageFamily
{
    Apt,
    Rpm,
}

/// <summary>
/// One repository of the OS archive. <paramref name="Root"/> is null for the archive root itself or a
/// template such as <c>{archive}-security</c> (Debian keeps security updates in a sibling archive, so
/// <c>--os-mirror X/debian</c> must move it to <c>X/debian-security</c>). <paramref name="Path"/> is
/// appended to the root (rpm trees such as <c>8/BaseOS/{arch}/os/</c>; empty for apt).
/// A null <paramref name="Key"/> means the profile knows no key for it.
/// </summary>
public sealed record OsRepository(string Name, string? Root, string Path, string? Suite, IReadOnlyList<string> Components, string? Key);

/// <summary>
/// A repository outside the OS archive (Kubernetes, Docker), as URLs in preference order that may hold
/// <c>{arch}</c> and <c>{minor}</c>. A null <paramref name="Key"/> means the profile knows no key for it.
/// </summary>
public sealed record ExternalRepository(string Name, IReadOnlyList<string> Urls, string? Suite, IReadOnlyList<string> Components, string? Key);

/// <summary>A repository and the equivalent copies of it, best first; a builder tries them in this order.</summary>
public sealed record RepositoryChoice(string Name, IReadOnlyList<PackageRepository> Candidates)
{
    public PackageRepository Preferred => Candidates[0];
}

/// <summary>
/// A target OS as <c>manifests/os/NAME.yaml</c> describes it: where its packages come from, with the keys
/// that must have signed them, and which packages a Kubernetes node needs on it.
/// Load one with <see cref="OsProfileCatalog.Get"/>.
/// </summary>
public sealed record OsProfile(
    string Name,
    PackageFamily Family,
    string Release,
    string? Codename,
    IReadOnlyDictionary<string, string> Arches,
    IReadOnlyList<string> ArchiveMirrors,
    IReadOnlyDictionary<string, IReadOnlyList<string>> ArchiveMirrorsByArch,
    IReadOnlyList<OsRepository> OsRepositories,
    ExternalRepository? KubernetesLegacy,
    ExternalRepository? KubernetesPerMinor,
    IReadOnlyList<string> RuntimePackages,
    ExternalRepository? RuntimeRepository,
    IReadOnlyDictionary<string, string> Tools,
    IReadOnlyDictionary<string, IReadOnlyList<string>> KeyFingerprints)
{
    /// <summary>The name every Kubernetes repository gets, so <c>--repos</c> can replace it by name.</summary>
    public const string KubernetesRepositoryName = "kubernetes";

    public RepositoryKind Kind => Family == PackageFamily.Apt ? RepositoryKind.Apt : RepositoryKind.Rpm;

    /// <summary>This OS's name for one of our architectures (amd64 → x86_64 on rpm distributions).</summary>
    public string DistroArch(string arch) =>
        Arches.TryGetValue(arch, out var mapped)
            ? mapped
            : throw new AirgapException($"profile {Name} has no architecture '{arch}'; it knows {string.Join(", ", Arches.Keys)}");

    /// <summary>The repositories to resolve against, each at its preferred URL. See <see cref="RepositoryChoices"/>.</summary>
    public IReadOnlyList<PackageRepository> Repositories(KubernetesVersion version, string arch, RepositoryOverrides overrides) =>
        RepositoryChoices(version, arch, overrides).Select(c => c.Preferred).ToList();

    /// <summary>
    /// Every repository a node of this OS needs for <paramref name="version"/> on <paramref name="arch"/>
    /// (amd64, arm64): the OS archive, the Kubernetes repository of the version's layout, the runtime's
    /// repository if the OS has none of its own, then <c>--repos</c> additions. Each comes with its
    /// alternative URLs. Embedded keys are written under the overrides' key directory.
    /// A repository without a trusted key is an error here, never a silently unsigned repository.
    /// </summary>
    public IReadOnlyList<RepositoryChoice> RepositoryChoices(KubernetesVersion version, string arch, RepositoryOverrides overrides)
    {
        var distroArch = DistroArch(arch);
        var keys = new KeyFiles(overrides.KeyDirectory);
        var choices = new List<RepositoryChoice>();

        IReadOnlyList<string> roots = overrides.OsMirror is { } mirror
            ? [mirror.OriginalString.TrimEnd('/')]
            : (ArchiveMirrorsByArch.GetValueOrDefault(arch) ?? ArchiveMirrors).Select(m => m.TrimEnd('/')).ToList();
        foreach (var repo in OsRepositories)
        {
            var keyFile = repo.Key is null
                ? throw new AirgapException($"profile {Name} has no trusted key for its repository {repo.Name}; give one with --repos (name: {repo.Name}, key: FILE)")
                : keys.Path(repo.Key);
            var candidates = roots
                .Select(root => Url(Expand((repo.Root ?? "{archive}").Replace("{archive}", root, StringComparison.Ordinal), distroArch, version).TrimEnd('/') + "/" + Expand(repo.Path, distroArch, version)))
                .Select(url => new PackageRepository(repo.Name, Kind, url, repo.Suite, repo.Components, keyFile))
                .ToList();
            choices.Add(new RepositoryChoice(repo.Name, candidates));
        }

        choices.Add(Kubernetes(version, distroArch, overrides, keys));

        if (RuntimeRepository is { } runtime)
        {
            var keyFile = runtime.Key is null
                ? throw new AirgapException($"profile {Name} has no trusted key for its repository {runtime.Name}; give one with --repos (name: {runtime.Name}, key: FILE)")
                : keys.Path(runtime.Key);
            choices.Add(new RepositoryChoice(runtime.Name, runtime.Urls
                .Select(u => new PackageRepository(runtime.Name, Kind, Url(Expand(u, distroArch, version)), runtime.Suite, runtime.Components, keyFile))
                .ToList()));
        }

        // --repos: same name replaces (any URL of the profile can be overridden), a new name is added.
        // Only repositories of this OS's kind apply, so one repos file can serve an apt and an rpm target.
        foreach (var extra in overrides.Extra.Where(e => e.Kind == Kind))
        {
            var at = choices.FindIndex(c => c.Name == extra.Name);
            var choice = new RepositoryChoice(extra.Name, [extra]);
            if (at >= 0) choices[at] = choice;
            else choices.Add(choice);
        }
        return choices;
    }

    private RepositoryChoice Kubernetes(KubernetesVersion version, string distroArch, RepositoryOverrides overrides, KeyFiles keys)
    {
        var layout = overrides.KubernetesLayout ?? KubernetesRepositoryLayouts.ForVersion(version);
        var definition = layout == KubernetesRepositoryLayout.Legacy ? KubernetesLegacy : KubernetesPerMinor;
        var layoutName = layout == KubernetesRepositoryLayout.Legacy ? "legacy" : "per-minor";
        if (definition is null)
            throw new AirgapException($"profile {Name} has no {layoutName} Kubernetes repository (needed for {version}); pass --k8s-repo URL and --k8s-repo-key FILE");
        if (version.IsPrerelease && overrides.KubernetesRepo is null)
            throw new AirgapException($"{version} is a pre-release and profile {Name}'s Kubernetes repositories carry releases only; pass --k8s-repo with a repository that has it (and --k8s-repo-key), or --no-packages");

        string keyFile;
        if (overrides.KubernetesRepoKey is { } given)
        {
            keyFile = File.Exists(given) ? Path.GetFullPath(given) : throw new AirgapException($"--k8s-repo-key {given}: no such file");
        }
        else if (definition.Key is { } embedded)
        {
            // A --k8s-repo without a key is taken to be a mirror of the official repository, signed by the same key.
            keyFile = keys.Path(embedded);
        }
        else
        {
            throw new AirgapException($"profile {Name} has no trusted key for its Kubernetes repository; pass --k8s-repo-key FILE");
        }

        IReadOnlyList<string> urls = overrides.KubernetesRepo is { } repo ? [repo.OriginalString] : definition.Urls;
        return new RepositoryChoice(KubernetesRepositoryName, urls
            .Select(u => new PackageRepository(KubernetesRepositoryName, Kind, Url(Expand(u, distroArch, version)), definition.Suite, definition.Components, keyFile))
            .ToList());
    }

    /// <summary>
    /// The packages a node needs, for the layout the version implies. See the other overload.
    /// </summary>
    public IReadOnlyList<PackageRequest> NodePackages(KubernetesVersion version) =>
        NodePackages(version, KubernetesRepositoryLayouts.ForVersion(version));

    /// <summary>
    /// kubeadm, kubelet and kubectl pinned to <paramref name="version"/>; kubernetes-cni, cri-tools, the
    /// runtime and the host tools kubeadm's preflight checks for, unpinned (the newest that fits).
    /// <para>
    /// The pin is exact where the repository's revisions are fixed: the legacy repositories built every
    /// release as <c>1.20.2-00</c> (deb) and <c>1.20.2-0</c> (rpm). pkgs.k8s.io's revisions vary per
    /// rebuild (deb <c>1.28.0-1.1</c> but also <c>-2.1</c>, rpm <c>1.28.0-150500.1.1</c> and others), so
    /// there the pin is the upstream version alone, <c>1.28.0</c>: a <see cref="PackageRequest.Version"/>
    /// without a revision means "this upstream version, newest revision", as <c>yum install kubeadm-1.28.0</c>
    /// reads it.
    /// </para>
    /// </summary>
    public IReadOnlyList<PackageRequest> NodePackages(KubernetesVersion version, KubernetesRepositoryLayout layout)
    {
        var upstream = $"{version.Major}.{version.Minor}.{version.Patch}";
        string pin;
        if (layout == KubernetesRepositoryLayout.Legacy)
        {
            if (version.IsPrerelease)
                throw new AirgapException($"{version} is a pre-release; the legacy Kubernetes repositories carry releases only");
            pin = upstream + (Family == PackageFamily.Apt ? "-00" : "-0");
        }
        else
        {
            // Both formats sort "~" before anything, which is how packagers spell a pre-release (1.31.0~rc.0 < 1.31.0).
            pin = version.IsPrerelease ? $"{upstream}~{version.Prerelease}" : upstream;
        }

        var requests = new List<PackageRequest>
        {
            new("kubeadm", pin),
            new("kubelet", pin),
            new("kubectl", pin),
            new("kubernetes-cni", null),
            new("cri-tools", null),
        };
        requests.AddRange(RuntimePackages.Select(p => new PackageRequest(p, null)));
        requests.AddRange(Tools.Values.Select(p => new PackageRequest(p, null)));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return requests.Where(r => seen.Add(r.Name)).ToList();
    }

    private static string Expand(string template, string distroArch, KubernetesVersion version) =>
        template
            .Replace("{arch}", distroArch, StringComparison.Ordinal)
            .Replace("{minor}", KubernetesRepositoryLayouts.MinorPath(version), StringComparison.Ordinal);

    private Uri Url(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" or "file"
            ? RepositoryOverrides.WithTrailingSlash(url)
            : throw new AirgapException($"profile {Name}: \"{text}\" is not an absolute http, https or file URL; check --os-mirror / --k8s-repo");

    /// <summary>Writes each embedded key once per call to <see cref="RepositoryChoices"/>.</summary>
    private sealed class KeyFiles(string? directory)
    {
        private readonly string _directory = directory ?? System.IO.Path.Combine(BlobCache.DefaultRoot(), "keys");
        private readonly Dictionary<string, string> _written = new(StringComparer.Ordinal);

        public string Path(string keyName)
        {
            if (!_written.TryGetValue(keyName, out var path))
                _written[keyName] = path = OsProfileCatalog.KeyPath(keyName, _directory);
            return path;
        }
    }
}
