using System.CommandLine;
using Airgap.Bundles;

namespace Airgap.Cli;

internal static class InspectCommand
{
    public static Command Create()
    {
        var bundle = new Argument<string>("BUNDLE") { Description = "the bundle .tar to describe, or a split bundle's .parts index or first part" };
        var format = AirgapCli.FormatOption();
        var command = new Command("inspect", "Show what a bundle holds: versions, architecture, images with their sources and digests.")
        {
            bundle, format,
        };
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var path = result.GetValue(bundle)!;
            var doc = await BundleReader.ReadDocumentAsync(path, ct);
            // Described, not judged: airgap verify --trust-key checks the signature.
            var (_, signature) = await BundleReader.ReadSignedDocumentAsync(path, ct);
            var signed = signature is null ? "unsigned" : $"signed ({BundleSignature.FileName}; check it with airgap verify --trust-key PUB.pem)";
            var sbom = doc.Sbom is null ? "none (built before airgap wrote one)"
                : $"{doc.Sbom} (CycloneDX {BundleSbom.SpecVersion} JSON: {doc.Images.Count} images, {doc.Packages.Count} packages, {doc.Binaries.Count} binaries)";
            var carried = doc.Files.Where(f => f.Base is not null).ToList();
            var delta = doc.Base is null ? "no (a full bundle)"
                : $"of {doc.Base} — {carried.Count} of {doc.Files.Count} members ({Sizes.Human(carried.Sum(f => f.Size))} of {Sizes.Human(doc.Files.Sum(f => f.Size))}) " +
                  "are read from that base: give it with --base to verify, install, join, upgrade, push or serve";
            if (result.GetValue(format) == OutputFormat.Json)
            {
                JsonOutput.Write(new
                {
                    bundle = path, doc.Name, doc.Kubernetes, doc.Os, doc.Arch, doc.CreatedBy,
                    signed = signature is not null, sbom = doc.Sbom,
                    @base = doc.Base, fromBase = carried.Count, fromBaseBytes = carried.Sum(f => f.Size),
                    cni = doc.Cni,
                    images = doc.Images,
                    binaries = doc.Binaries,
                    packages = doc.Packages,
                    files = doc.Files.Count,
                    bytes = doc.Files.Sum(f => f.Size),
                });
                return 0;
            }
            Console.WriteLine($"bundle:      {doc.Name}");
            Console.WriteLine($"kubernetes:  {doc.Kubernetes}");
            Console.WriteLine($"platform:    {doc.Os}/{doc.Arch}");
            Console.WriteLine($"cni:         {doc.Cni.Name}{(doc.Cni.Version is null ? "" : " " + doc.Cni.Version)}");
            Console.WriteLine($"created by:  {doc.CreatedBy}");
            Console.WriteLine($"files:       {doc.Files.Count} ({Sizes.Human(doc.Files.Sum(f => f.Size))})");
            Console.WriteLine($"signature:   {signed}");
            Console.WriteLine($"sbom:        {sbom}");
            Console.WriteLine($"delta:       {delta}");
            if (doc.Binaries.Count > 0)
            {
                Console.WriteLine($"binaries ({doc.Binaries.Count}):");
                var w = doc.Binaries.Max(b => b.Name.Length);
                foreach (var b in doc.Binaries) Console.WriteLine($"  {b.Name.PadRight(w)}  {b.Version,-12}  {Sizes.Human(b.Size),10}  {b.Path}");
            }
            if (doc.Packages.Count > 0)
            {
                Console.WriteLine($"packages ({doc.Packages.Count}):");
                var w = doc.Packages.Max(p => p.Name.Length);
                foreach (var p in doc.Packages) Console.WriteLine($"  {p.Os,-13} {p.Name.PadRight(w)}  {p.Version}");
            }
            Console.WriteLine($"images ({doc.Images.Count}):");
            var width = doc.Images.Count == 0 ? 0 : doc.Images.Max(i => i.Name.Length);
            foreach (var image in doc.Images)
                Console.WriteLine($"  {image.Name.PadRight(width)}  {image.Digest[..19]}…  {Sizes.Human(image.Size),10}  from {image.Source}");
            return 0;
        }));
        return command;
    }
}
