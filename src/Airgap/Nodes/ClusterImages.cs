using Airgap.Releases;

namespace Airgap.Nodes;

/// <summary>
/// Ties kubeadm's image expectations to what a bundle holds: which imageRepository (if any) the
/// kubeadm config needs, and which pause image containerd must use as its sandbox.
/// </summary>
public static class ClusterImages
{
    /// <summary>
    /// Null when the bundle holds kubeadm's images under their canonical names (airgap's own
    /// bundles do), so the config leaves imageRepository out; otherwise the repository they are under.
    /// </summary>
    public static string? ImageRepository(KubeadmImageSet set, IReadOnlyCollection<string> bundleImages)
    {
        var names = bundleImages.ToHashSet(StringComparer.Ordinal);
        var apiServer = set.Images.FirstOrDefault(i => i.Path == "kube-apiserver")
            ?? throw new AirgapException($"the image set of {set.Version} has no kube-apiserver");
        if (names.Contains(set.Canonical(apiServer)))
        {
            RequireAll(set, names, set.DefaultRegistry);
            return null;
        }
        var suffix = $"/kube-apiserver:{apiServer.Tag}";
        var found = names.Where(n => n.EndsWith(suffix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).FirstOrDefault()
            ?? throw new AirgapException($"the bundle has no kube-apiserver:{apiServer.Tag} image; it was not built for {set.Version}");
        var repository = found[..^suffix.Length];
        RequireAll(set, names, repository);
        return repository;
    }

    /// <summary>The pause image as the bundle names it: what containerd's sandbox_image must say.</summary>
    public static string PauseImage(KubeadmImageSet set, IReadOnlyCollection<string> bundleImages)
    {
        var pause = set.Images.FirstOrDefault(i => i.Path == "pause")
            ?? throw new AirgapException($"the image set of {set.Version} has no pause image");
        var repository = ImageRepository(set, bundleImages);
        return repository is null ? set.Canonical(pause) : set.From(repository, pause);
    }

    private static void RequireAll(KubeadmImageSet set, HashSet<string> names, string repository)
    {
        foreach (var image in set.Images)
        {
            var expected = set.From(repository, image);
            if (!names.Contains(expected))
                throw new AirgapException($"the bundle lacks {expected}, which kubeadm {set.Version} needs; build the bundle again");
        }
    }
}
