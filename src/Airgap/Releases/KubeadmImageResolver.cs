namespace Airgap.Releases;

/// <summary>
/// One kubeadm image: the name kubeadm expects on the node (<see cref="Canonical"/>) and the name to
/// pull it by (<see cref="Source"/>), which differs when an --image-repository mirror is used.
/// </summary>
public sealed record ResolvedImage(string Canonical, string Source);

/// <summary>
/// Decides who answers "which images does kubeadm V need": a kubeadm binary of exactly V when one
/// is given or found on PATH, else the built-in table.
/// </summary>
public static class KubeadmImageResolver
{
    public static Task<IReadOnlyList<ResolvedImage>> ResolveAsync(
        KubernetesVersion version, string? imageRepository, string? kubeadmPath, CancellationToken ct = default) =>
        ResolveAsync(version, imageRepository, kubeadmPath, searchPath: null, ct);

    /// <summary>As above; <paramref name="searchPath"/> replaces PATH when looking for kubeadm.</summary>
    internal static async Task<IReadOnlyList<ResolvedImage>> ResolveAsync(
        KubernetesVersion version, string? imageRepository, string? kubeadmPath, string? searchPath, CancellationToken ct)
    {
        if (kubeadmPath is not null)
        {
            var given = new KubeadmBinary(kubeadmPath);
            var reported = await given.GetVersionAsync(ct).ConfigureAwait(false)
                ?? throw new KubeadmException($"--kubeadm {kubeadmPath} printed no version for \"version -o short\"; is it kubeadm?");
            // kubeadm prints its own pause/etcd/CoreDNS constants whatever version it is asked about,
            // so only a binary of exactly this version gives the right list.
            if (reported != version)
                throw new KubeadmException(
                    $"--kubeadm {kubeadmPath} is kubeadm {reported} but the bundle is for Kubernetes {version}; " +
                    $"pass a kubeadm {version} binary, or drop --kubeadm to use the built-in table");
            return await AskAsync(given, version, imageRepository, ct).ConfigureAwait(false);
        }

        var onPath = KubeadmBinary.FindOnPath(searchPath);
        if (onPath is not null && await ReportsAsync(onPath, version, ct).ConfigureAwait(false))
            return await AskAsync(onPath, version, imageRepository, ct).ConfigureAwait(false);

        var set = KubeadmImageTable.Get(version);
        return set.Images
            .Select(i => new ResolvedImage(set.Canonical(i), imageRepository is null ? set.Canonical(i) : set.From(imageRepository, i)))
            .ToList();
    }

    // A kubeadm that merely happens to be on PATH is a hint, not a request: if it cannot say its
    // version, the table answers instead.
    private static async Task<bool> ReportsAsync(KubeadmBinary kubeadm, KubernetesVersion version, CancellationToken ct)
    {
        try
        {
            return await kubeadm.GetVersionAsync(ct).ConfigureAwait(false) == version;
        }
        catch (KubeadmException)
        {
            return false;
        }
    }

    private static async Task<IReadOnlyList<ResolvedImage>> AskAsync(
        KubeadmBinary kubeadm, KubernetesVersion version, string? imageRepository, CancellationToken ct)
    {
        var canonical = await kubeadm.ListImagesAsync(version, null, ct).ConfigureAwait(false);
        if (canonical.Count == 0)
            throw new KubeadmException($"{kubeadm.ExecutablePath} listed no images for Kubernetes {version}");
        if (imageRepository is null) return canonical.Select(c => new ResolvedImage(c, c)).ToList();

        // Both lists come from the same code path in kubeadm, so they line up entry by entry.
        var sources = await kubeadm.ListImagesAsync(version, imageRepository, ct).ConfigureAwait(false);
        if (sources.Count != canonical.Count)
            throw new KubeadmException(
                $"{kubeadm.ExecutablePath} listed {canonical.Count} images for Kubernetes {version} but " +
                $"{sources.Count} with --image-repository {imageRepository}; cannot pair them");
        return canonical.Zip(sources, (c, s) => new ResolvedImage(c, s)).ToList();
    }
}
