using Airgap.Artifacts;
using Airgap.Packages.Apt;
using Airgap.Packages.Profiles;

namespace Airgap.Packages;

/// <summary>
/// Picks, for each repository of a profile, the first of its mirrors that answers (domestic mirrors
/// first, official second), and tells which layout a --k8s-repo URL serves. Only the repository's
/// signed entry point is fetched here; nothing from it is trusted until a resolver verifies it.
/// </summary>
public sealed class RepositorySelector(FileDownloader downloads, IProgressSink progress)
{
    public async Task<IReadOnlyList<PackageRepository>> ChooseAsync(IReadOnlyList<RepositoryChoice> choices, CancellationToken ct)
    {
        var chosen = await Task.WhenAll(choices.Select(c => ChooseOneAsync(c, ct))).ConfigureAwait(false);
        return chosen;
    }

    private async Task<PackageRepository> ChooseOneAsync(RepositoryChoice choice, CancellationToken ct)
    {
        if (choice.Candidates.Count == 1) return choice.Candidates[0];
        var tried = new List<string>();
        foreach (var candidate in choice.Candidates)
        {
            var (answered, why) = await AnswersAsync(candidate, ct).ConfigureAwait(false);
            if (answered)
            {
                if (tried.Count > 0) progress.Warn($"repository {choice.Name}: using {candidate.BaseUrl} after {string.Join("; ", tried)}");
                return candidate;
            }
            tried.Add($"{candidate.BaseUrl} ({why})");
        }
        throw new AirgapException($"repository {choice.Name} is unreachable at every mirror: {string.Join("; ", tried)}; pass a reachable one with --os-mirror, --k8s-repo or --repos");
    }

    private async Task<(bool, string)> AnswersAsync(PackageRepository repository, CancellationToken ct)
    {
        try
        {
            foreach (var entry in EntryPoints(repository))
            {
                if (await downloads.TryGetTextAsync(entry, ct, maxBytes: 64 << 20).ConfigureAwait(false) is not null) return (true, "");
            }
            return (false, "404");
        }
        catch (AirgapException e)
        {
            return (false, e.Message.Split(": ").Last());
        }
    }

    private static IEnumerable<Uri> EntryPoints(PackageRepository repository)
    {
        if (repository.Kind == RepositoryKind.Rpm)
        {
            yield return new Uri(repository.BaseUrl.AbsoluteUri.TrimEnd('/') + "/repodata/repomd.xml");
            yield break;
        }
        var dir = AptRepositoryClient.ReleaseDirectory(repository);
        yield return new Uri(dir, "InRelease");
        yield return new Uri(dir, "Release");
    }

    /// <summary>
    /// Which layout an apt --k8s-repo URL serves: dists/kubernetes-xenial/ (legacy) or a flat
    /// Release at its root (pkgs.k8s.io). For rpm both put repodata/ at the URL, so the version decides.
    /// </summary>
    public async Task<KubernetesRepositoryLayout?> DetectLayoutAsync(Uri url, RepositoryKind kind, CancellationToken ct)
    {
        if (kind != RepositoryKind.Apt) return null;
        var root = url.AbsoluteUri.TrimEnd('/') + "/";
        foreach (var name in new[] { "InRelease", "Release" })
        {
            if (await downloads.TryGetTextAsync(new Uri($"{root}dists/kubernetes-xenial/{name}"), ct, 64 << 20).ConfigureAwait(false) is not null)
                return KubernetesRepositoryLayout.Legacy;
        }
        foreach (var name in new[] { "InRelease", "Release" })
        {
            if (await downloads.TryGetTextAsync(new Uri(root + name), ct, 64 << 20).ConfigureAwait(false) is not null)
                return KubernetesRepositoryLayout.PerMinor;
        }
        throw new AirgapException($"--k8s-repo {url} serves neither dists/kubernetes-xenial/ (legacy layout) nor a flat Release (pkgs.k8s.io layout); check the URL");
    }
}
