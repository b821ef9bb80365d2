using System.Reflection;
using System.Text;
using Airgap.Oci;

namespace Airgap.Bundles;

public sealed record BuiltBundle(string Path, string Arch, long Size, int Images, int Blobs, long BlobBytes);

/// <summary>
/// The build flow: plan the images, pull every platform into the shared cache (each blob once), then
/// write one bundle per architecture. Nothing appears in the output directory until a bundle is complete.
/// </summary>
public sealed class BundleBuilder(RegistryClient registry, BlobCache cache, Artifacts.FileDownloader downloads, IProgressSink progress)
{
    public static string ToolVersion =>
        typeof(BundleBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public async Task<IReadOnlyList<BuiltBundle>> BuildAsync(BundleSpec spec, CancellationToken ct)
    {
        var plan = await new ImagePlanner(downloads).PlanAsync(spec, ct).ConfigureAwait(false);
        progress.Info($"Kubernetes {spec.Kubernetes}: {plan.Images.Count} images for {string.Join(", ", spec.Architectures.Select(a => "linux/" + a))}");

        var puller = new ImagePuller(registry, cache, progress);
        var wanted = plan.Images
            .Select(image => (image, platforms: spec.Architectures.Where(a => image.OnlyArch is null || image.OnlyArch == a).Select(Platform.Linux).ToList()))
            .Where(x => x.platforms.Count > 0);
        var pulled = await Task.WhenAll(wanted.Select(x =>
            puller.PullAsync(new ImageRequest(x.image.Canonical, x.image.Sources), x.platforms, ct))).ConfigureAwait(false);
        var all = pulled.SelectMany(p => p).ToList();

        var results = new List<BuiltBundle>();
        foreach (var arch in spec.Architectures)
        {
            var images = all.Where(i => i.Platform.Architecture == arch).ToList();
            var path = Path.Combine(spec.OutputDirectory, BundlePaths.FileName(spec.Kubernetes.ToString(), "linux", arch));
            var (document, members, blobs, blobBytes) = Assemble(spec, plan, arch, images);
            await BundleWriter.WriteAsync(path, document, members, progress, ct).ConfigureAwait(false);
            results.Add(new BuiltBundle(path, arch, new FileInfo(path).Length, images.Count, blobs, blobBytes));
        }
        return results;
    }

    private (BundleDocument, List<BundleMember>, int Blobs, long BlobBytes) Assemble(BundleSpec spec, ImagePlan plan, string arch, List<PulledImage> images)
    {
        var document = new BundleDocument
        {
            Name = Path.GetFileNameWithoutExtension(BundlePaths.FileName(spec.Kubernetes.ToString(), "linux", arch)),
            Kubernetes = spec.Kubernetes.ToString(),
            Arch = arch,
            CreatedBy = "airgap " + ToolVersion,
            Images = images.OrderBy(i => i.Canonical.ToString(), StringComparer.Ordinal).Select(i => new BundleImage
            {
                Name = i.Canonical.ToString(),
                Source = i.Source.ToString(),
                Platform = i.Platform.ToString(),
                MediaType = i.Manifest.MediaType,
                Digest = i.Manifest.Digest,
                SourceDigest = i.SourceDigest.ToString(),
                ListDigest = i.IndexDigest?.ToString(),
                Size = i.TotalSize,
            }).ToList(),
        };
        var members = new List<BundleMember>
        {
            BundleMember.FromBytes("images/oci-layout", OciLayout.LayoutFile()),
            BundleMember.FromBytes("images/index.json", OciLayout.Index(images)),
            BundleMember.FromBytes("images/manifest.json", OciLayout.DockerManifest(images)),
        };
        var blobs = images.SelectMany(i => i.Blobs).DistinctBy(b => b.Digest).ToList();
        foreach (var blob in blobs)
        {
            var digest = blob.ParsedDigest;
            members.Add(BundleMember.FromFile("images/" + OciLayout.BlobPath(digest), cache.PathOf(digest), digest.Hex, blob.Size));
        }
        if (plan.Cni.ManifestText is { } manifest)
        {
            const string manifestPath = "manifests/kube-flannel.yml";
            members.Add(BundleMember.FromBytes(manifestPath, Encoding.UTF8.GetBytes(manifest)));
            document.Cni = new BundleCni { Name = plan.Cni.Name, Version = plan.Cni.Version, Manifest = manifestPath, Source = plan.Cni.ManifestSource };
        }
        return (document, members, blobs.Count, blobs.Sum(b => b.Size));
    }
}
