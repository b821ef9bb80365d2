using System.CommandLine;
using Airgap.Bundles;
using Airgap.Oci;
using Airgap.Releases;

namespace Airgap.Cli;

/// <summary>The flags that decide which images a bundle holds; shared by `images list` and `build` so both agree.</summary>
internal sealed class PlanOptions
{
    public Option<string> Kubernetes { get; } = new("--k8s", "--kubernetes-version")
    {
        Description = "Kubernetes version, e.g. v1.20.2",
        Required = true,
    };
    public Option<string?> ImageRepository { get; } = new("--image-repository")
    {
        Description = "pull kubeadm's images from this repository (e.g. registry.aliyuncs.com/google_containers); they are still named as kubeadm expects",
    };
    public Option<string> Cni { get; } = new("--cni")
    {
        Description = "flannel (default), flannel:vX.Y.Z, bridge (single node: CNI plugins only), or none",
        DefaultValueFactory = _ => "flannel",
    };
    public Option<string?> FlannelManifest { get; } = new("--flannel-manifest")
    {
        Description = "kube-flannel.yml to use instead of the release's: a local path, or a URL together with --flannel-manifest-sha256",
    };
    public Option<string?> FlannelManifestSha256 { get; } = new("--flannel-manifest-sha256")
    {
        Description = "sha256 of the --flannel-manifest URL's content",
    };
    public Option<string?> Kubeadm { get; } = new("--kubeadm")
    {
        Description = "ask this kubeadm binary for its image list instead of the built-in table",
    };
    public Option<string[]> Images { get; } = new("--image")
    {
        Description = "an extra image to bundle (repeatable), e.g. docker.io/library/nginx:1.19",
        AllowMultipleArgumentsPerToken = false,
    };
    public Option<string?> ImagesFile { get; } = new("--images-file")
    {
        Description = "a file with one extra image per line (# comments allowed)",
    };

    public IEnumerable<Option> All => [Kubernetes, ImageRepository, Cni, FlannelManifest, FlannelManifestSha256, Kubeadm, Images, ImagesFile];

    public static KubernetesVersion ParseVersion(string value) =>
        KubernetesVersion.TryParse(value, out var v)
            ? v
            : throw new AirgapException($"--k8s \"{value}\" is not a Kubernetes version: expected vMAJOR.MINOR.PATCH, e.g. v1.20.2");

    public BundleSpec ToSpec(ParseResult result) => ToSpec(result, new MirrorRules(), ["amd64"], "bundles");

    public BundleSpec ToSpec(ParseResult result, MirrorRules mirrors, IReadOnlyList<string> arches, string output)
    {
        var cni = CniSpec.Parse(result.GetValue(Cni) ?? "flannel");
        var manifest = result.GetValue(FlannelManifest);
        if (manifest is not null && cni.Name != "flannel") throw new AirgapException("--flannel-manifest needs --cni flannel");
        cni = cni with { Manifest = manifest, ManifestSha256 = result.GetValue(FlannelManifestSha256) };

        var repository = result.GetValue(ImageRepository)?.Trim().TrimEnd('/');
        if (repository is not null && !ImageReference.TryParse(repository + "/x:y", out _, out var why))
            throw new AirgapException($"--image-repository \"{repository}\" is not a registry/path: {why}");

        var extra = new List<ImageReference>();
        foreach (var image in result.GetValue(Images) ?? []) extra.Add(ImageReference.Parse(image));
        if (result.GetValue(ImagesFile) is { } file)
        {
            if (!File.Exists(file)) throw new AirgapException($"--images-file {file} does not exist");
            foreach (var line in File.ReadAllLines(file))
            {
                var text = line.Split('#')[0].Trim();
                if (text.Length > 0) extra.Add(ImageReference.Parse(text));
            }
        }
        return new BundleSpec
        {
            Kubernetes = ParseVersion(result.GetValue(Kubernetes)!),
            ImageRepository = repository,
            Cni = cni,
            KubeadmPath = result.GetValue(Kubeadm),
            ExtraImages = extra,
            Mirrors = mirrors,
            Architectures = arches,
            OutputDirectory = output,
        };
    }
}
