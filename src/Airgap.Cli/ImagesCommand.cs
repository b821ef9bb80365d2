using System.CommandLine;
using Airgap.Artifacts;
using Airgap.Bundles;
using Airgap.Oci;

namespace Airgap.Cli;

internal static class ImagesCommand
{
    public static Command Create()
    {
        var plan = new PlanOptions();
        var format = AirgapCli.FormatOption();
        var list = new Command("list", "Print the images a bundle for this version holds: what `kubeadm config images list` prints, then the CNI's.");
        foreach (var o in plan.All) list.Options.Add(o);
        list.Options.Add(format);
        list.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var spec = plan.ToSpec(result);
            using var downloads = new FileDownloader(new BlobCache(BlobCache.DefaultRoot()), new LineProgress(Console.Error));
            var images = await new ImagePlanner(downloads).PlanAsync(spec, ct);
            if (result.GetValue(format) == OutputFormat.Json)
            {
                JsonOutput.Write(images.Images.Select(i => new { name = i.Canonical.ToString(), source = i.Sources[0].ToString(), role = i.Role }));
                return 0;
            }
            // kubeadm's images are printed as kubeadm prints them with the same flags (under --image-repository
            // when given), so this output can be diffed against `kubeadm config images list`.
            foreach (var image in images.Images)
                Console.WriteLine(image.Role == "kubeadm" ? image.Sources[0].ToString() : image.Canonical.ToString());
            return 0;
        }));
        return new Command("images", "Image sets of Kubernetes versions.") { list };
    }
}
