using Airgap.Artifacts;
using Airgap.Oci;
using Airgap.Packages.Apt;
using Airgap.Packages.Profiles;
using Airgap.Packages.Rpm;
using Airgap.Releases;

namespace Airgap.Packages;

/// <summary>The packages of one OS profile and architecture, downloaded and verified, with the repository index that serves them.</summary>
public sealed record CollectedPackages(
    string Os, string Arch, PackageSet Set, IReadOnlyDictionary<string, string> CachePaths, IReadOnlyList<(string RelativePath, byte[] Content)> Index,
    IReadOnlySet<string> Requested)
{
    /// <summary>Where the repository lives inside a bundle: packages/&lt;os&gt;/&lt;arch&gt;/.</summary>
    public string Root => $"packages/{Os}/{Arch}";
}

/// <summary>
/// One OS profile's part of a build: resolve the node's packages against the profile's repositories
/// (as overridden by the operator), download each once into the cache checked against its index's
/// sha256, and write a repository the target's own package manager reads offline.
/// </summary>
public sealed class PackageCollector(FileDownloader downloads, IProgressSink progress, bool allowUnsigned = false)
{
    // rpm repositories say nothing like Debian's "Priority: required"; these are in every minimal
    // install of the rpm profiles (the @core group) and would only bloat the bundle.
    private static readonly IReadOnlySet<string> RpmBaseSystem = new HashSet<string>(StringComparer.Ordinal)
    {
        "filesystem", "setup", "basesystem", "glibc", "glibc-common", "bash", "coreutils", "coreutils-common",
        "systemd", "systemd-libs", "libgcc", "ncurses-base", "ncurses-libs", "tzdata", "/bin/sh", "/bin/bash",
    };

    /// <summary>The clock repository keys are judged by.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>
    /// Packages (by architecture, sha256 and size) the bundle will not carry because a delta's base does: an
    /// apt repository's index is written from the resolved metadata alone, so those are not downloaded.
    /// rpm's repodata is read from the package files, so rpm packages are downloaded either way.
    /// </summary>
    public Func<string, string, long, bool> HeldElsewhere { get; init; } = (_, _, _) => false;

    public async Task<CollectedPackages> CollectAsync(string os, string arch, KubernetesVersion kubernetes, RepositoryOverrides overrides,
        IReadOnlyList<string> extraPackages, CancellationToken ct)
    {
        var profile = OsProfileCatalog.Get(os);
        var selector = new RepositorySelector(downloads, progress);
        if (overrides.KubernetesRepo is { } k8sRepo && overrides.KubernetesLayout is null &&
            await selector.DetectLayoutAsync(k8sRepo, profile.Kind, ct).ConfigureAwait(false) is { } layout)
        {
            overrides = overrides with { KubernetesLayout = layout };
        }
        var choices = profile.RepositoryChoices(kubernetes, arch, overrides);
        // Before any mirror is asked: a key that has expired (pkgs.k8s.io's renews yearly) is named with how to replace it.
        OpenPgpKeyInfo.CheckNotExpired(choices.SelectMany(c => c.Candidates), Clock.GetUtcNow());
        var repositories = await selector.ChooseAsync(choices, ct).ConfigureAwait(false);
        var requests = profile.NodePackages(kubernetes, overrides.KubernetesLayout ?? KubernetesRepositoryLayouts.ForVersion(kubernetes))
            .Concat(extraPackages.Select(p => ParseRequest(p))).ToList();
        progress.Info($"{os}/{arch}: resolving {requests.Count} packages against {string.Join(", ", repositories.Select(r => r.Name))}");

        PackageSet set;
        if (profile.Kind == RepositoryKind.Apt)
        {
            using var client = new AptRepositoryClient(downloads, progress) { AllowUnsigned = allowUnsigned };
            set = await new AptResolver(client).ResolveAsync(repositories, requests, arch, ct).ConfigureAwait(false);
        }
        else
        {
            var client = new RpmRepositoryClient(downloads, progress) { AllowUnsigned = allowUnsigned };
            set = await new RpmResolver(client).ResolveAsync(repositories, requests, arch, RpmBaseSystem, ct).ConfigureAwait(false);
        }

        var held = profile.Kind == RepositoryKind.Apt ? set.Packages.Where(p => HeldElsewhere(arch, p.Sha256, p.Size)).ToList() : [];
        var paths = new Dictionary<string, string>(await PackageFiles.DownloadAsync(downloads, set.Packages.Except(held).ToList(), parallel: 4, ct).ConfigureAwait(false), StringComparer.Ordinal);
        // No file behind these: the bundle lists them as its base's and never opens them.
        foreach (var p in held) paths[p.FileName] = Path.Combine(Path.GetTempPath(), "airgap-held-by-base", p.FileName);

        var index = profile.Kind == RepositoryKind.Apt
            ? AptRepositoryWriter.Write(set.Packages)
            : await RpmRepositoryWriter.WriteAsync(set.Packages, p => paths[p.FileName], ct).ConfigureAwait(false);
        return new CollectedPackages(os, arch, set, paths, index, requests.Select(r => r.Name).ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>"name" or "name=version" (apt's spelling; rpm's name-version is ambiguous with dashes in names).</summary>
    public static PackageRequest ParseRequest(string value)
    {
        var eq = value.IndexOf('=');
        var name = (eq < 0 ? value : value[..eq]).Trim();
        var version = eq < 0 ? null : value[(eq + 1)..].Trim();
        if (name.Length == 0 || name.Any(char.IsWhiteSpace) || version is { Length: 0 })
            throw new AirgapException($"--package \"{value}\" must be NAME or NAME=VERSION");
        return new PackageRequest(name, version);
    }
}
