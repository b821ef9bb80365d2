using System.CommandLine;
using Airgap.Bundles;

namespace Airgap.Cli;

internal static class VerifyCommand
{
    public static Command Create()
    {
        var bundle = new Argument<string>("BUNDLE") { Description = "the bundle .tar to check" };
        var format = AirgapCli.FormatOption();
        var command = new Command("verify", "Check every member of a bundle against SHA256SUMS and bundle.yaml, and every image blob against its digest.")
        {
            bundle, format,
        };
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var path = result.GetValue(bundle)!;
            var json = result.GetValue(format) == OutputFormat.Json;
            var report = await LiveProgress.RunAsync(json, p => BundleReader.VerifyAsync(path, p, ct));
            if (json)
                JsonOutput.Write(new { bundle = path, ok = true, kubernetes = report.Document.Kubernetes, arch = report.Document.Arch, members = report.Members, bytes = report.Bytes, images = report.Images, blobs = report.Blobs });
            else
                Console.WriteLine($"{path}: OK ({report.Members} members, {report.Images} images, {report.Blobs} blobs, {Sizes.Human(report.Bytes)} verified)");
            return 0;
        }));
        return command;
    }
}
