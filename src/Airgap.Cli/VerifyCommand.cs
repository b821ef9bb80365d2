using System.CommandLine;
using Airgap.Bundles;

namespace Airgap.Cli;

internal static class VerifyCommand
{
    public static Command Create()
    {
        var bundle = new Argument<string>("BUNDLE") { Description = "the bundle .tar to check, or a split bundle's .parts index or first part (each part is checked against the index too)" };
        var format = AirgapCli.FormatOption();
        var trust = TrustOption.Create();
        var baseBundle = BaseOption.Create();
        var command = new Command("verify", "Check a bundle's signature (against trust keys), every member against SHA256SUMS and bundle.yaml, and every image blob against its digest.")
        {
            bundle, baseBundle, trust, format,
        };
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var path = result.GetValue(bundle)!;
            var json = result.GetValue(format) == OutputFormat.Json;
            var keys = TrustOption.Read(result, trust);
            var report = await LiveProgress.RunAsync(json, p => BundleReader.VerifyAsync(new BundleSet(path, result.GetValue(baseBundle)), p, keys, ct));
            var signature = new
            {
                state = report.Signature.State.ToString().ToLowerInvariant(), fingerprint = report.Signature.Signer?.Fingerprint, key = report.Signature.Signer?.Source,
            };
            if (json)
                JsonOutput.Write(new { bundle = path, @base = result.GetValue(baseBundle), ok = true, kubernetes = report.Document.Kubernetes, arch = report.Document.Arch, members = report.Members, bytes = report.Bytes, images = report.Images, blobs = report.Blobs, signature });
            else
                Console.WriteLine($"{path}: OK ({report.Members} members, {report.Images} images, {report.Blobs} blobs, {Sizes.Human(report.Bytes)} verified), {report.Signature.Describe()}");
            return 0;
        }));
        return command;
    }
}
