using System.Text;
using Airgap.Artifacts;
using Airgap.Oci;
using Airgap.Releases;

namespace Airgap.Bundles;

/// <summary>
/// One image of the plan: its canonical name and where it is pulled from, in order. <see cref="OnlyArch"/>
/// is set for single-arch tags such as flannel:v0.12.0-arm64 (old Flannel manifests run one DaemonSet
/// per architecture), which belong only in that architecture's bundle.
/// </summary>
public sealed record PlannedImage(ImageReference Canonical, IReadOnlyList<ImageReference> Sources, string Role, string? OnlyArch = null)
{
    private static readonly string[] ArchSuffixes = ["amd64", "arm64", "arm", "ppc64le", "s390x"];

    public static string? ArchOfTag(ImageReference image) =>
        image.Tag is { } tag ? ArchSuffixes.FirstOrDefault(a => tag.EndsWith("-" + a, StringComparison.Ordinal)) : null;
}

/// <summary>The CNI part of a plan: its manifest text (already verified) and where it came from.</summary>
public sealed record PlannedCni(string Name, string? Version, string? ManifestText, string? ManifestSource, string? PodNetwork);

public sealed record ImagePlan(IReadOnlyList<PlannedImage> Images, PlannedCni Cni);

/// <summary>
/// Turns a spec into the list of images to pull: kubeadm's set (from the kubeadm binary or the
/// built-in table), the CNI's images read from its manifest, and extra images, with their sources.
/// </summary>
public sealed class ImagePlanner(FileDownloader downloads)
{
    public async Task<ImagePlan> PlanAsync(BundleSpec spec, CancellationToken ct)
    {
        var images = new List<PlannedImage>();
        var kubeadm = await KubeadmImageResolver.ResolveAsync(spec.Kubernetes, spec.ImageRepository, spec.KubeadmPath, ct).ConfigureAwait(false);
        foreach (var image in kubeadm)
        {
            var canonical = ImageReference.Parse(image.Canonical);
            // --image-repository is where kubeadm's images come from; --mirror rules apply to the rest.
            IReadOnlyList<ImageReference> sources = spec.ImageRepository is null
                ? spec.Mirrors.Candidates(canonical)
                : [ImageReference.Parse(image.Source)];
            images.Add(new PlannedImage(canonical, sources, "kubeadm"));
        }

        var cni = await PlanCniAsync(spec, ct).ConfigureAwait(false);
        if (cni.ManifestText is not null)
        {
            foreach (var name in FlannelManifest.ReadImages(cni.ManifestText))
            {
                var canonical = ImageReference.Parse(name);
                images.Add(new PlannedImage(canonical, spec.Mirrors.Candidates(canonical), cni.Name, PlannedImage.ArchOfTag(canonical)));
            }
        }
        foreach (var extra in spec.ExtraImages) images.Add(new PlannedImage(extra, spec.Mirrors.Candidates(extra), "extra"));

        var unique = images.GroupBy(i => i.Canonical.ToString()).Select(g => g.First()).ToList();
        return new ImagePlan(unique, cni);
    }

    private async Task<PlannedCni> PlanCniAsync(BundleSpec spec, CancellationToken ct)
    {
        if (spec.Cni.Name != "flannel") return new PlannedCni(spec.Cni.Name, null, null, null, null);

        string text;
        string source;
        var version = spec.Cni.Version;
        if (spec.Cni.Manifest is { } given && !given.Contains("://"))
        {
            if (!File.Exists(given)) throw new AirgapException($"--flannel-manifest {given} does not exist; pass a path or an http(s) URL");
            text = await File.ReadAllTextAsync(given, ct).ConfigureAwait(false);
            source = Path.GetFullPath(given);
        }
        else
        {
            Uri uri;
            Oci.Digest sha;
            if (spec.Cni.Manifest is { } url)
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out uri!) || uri.Scheme is not ("http" or "https"))
                    throw new AirgapException($"--flannel-manifest {url} is not an http(s) URL or an existing file");
                if (spec.Cni.ManifestSha256 is null)
                    throw new AirgapException($"--flannel-manifest {url} needs --flannel-manifest-sha256 so its content can be verified (sha256sum of the file)");
                sha = Oci.Digest.FromHex(spec.Cni.ManifestSha256.ToLowerInvariant());
            }
            else
            {
                var release = version is null ? FlannelRelease.DefaultFor(spec.Kubernetes) : FlannelRelease.Get(version);
                version = release.Version;
                uri = new Uri(release.ManifestUrl);
                sha = Oci.Digest.FromHex(release.ManifestSha256);
            }
            var path = await downloads.GetAsync(uri, sha, $"download flannel {version} manifest", ct).ConfigureAwait(false);
            text = Encoding.UTF8.GetString(await File.ReadAllBytesAsync(path, ct).ConfigureAwait(false));
            source = uri.ToString();
        }
        var imagesInManifest = FlannelManifest.ReadImages(text);
        if (imagesInManifest.Count == 0) throw new AirgapException($"flannel manifest {source} names no container image; is it really kube-flannel.yml?");
        return new PlannedCni("flannel", version, text, source, FlannelManifest.ReadNetwork(text));
    }
}
