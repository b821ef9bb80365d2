using System.CommandLine;
using Airgap.Bundles.Parts;

namespace Airgap.Cli;

internal static class SplitCommand
{
    public static Command Create()
    {
        var bundle = new Argument<string>("BUNDLE") { Description = "the bundle .tar to cut (it is kept; delete it yourself once the parts are on the media)" };
        var size = new Option<string>("--size") { Description = "largest part, e.g. 300M, 2G (binary units); FAT32 media take at most 4095M", Required = true };
        var to = new Option<string?>("--to") { Description = "write the parts and index into this directory (a mounted medium, say) instead of beside the bundle" };
        var format = AirgapCli.FormatOption();
        var command = new Command("split", "Cut a bundle into BUNDLE.part-001… of at most --size plus the index BUNDLE.parts (each part's size and sha256; sha256sum -c reads it). verify, install, join, upgrade, push, serve and cluster deploy take the index or the first part and read the parts in place, never joining them.")
        {
            bundle, size, to, format,
        };
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var partSize = ByteSize.Parse("--size", result.GetValue(size)!);
            var json = result.GetValue(format) == OutputFormat.Json;
            var split = await LiveProgress.RunAsync(json, p => BundleSplitter.SplitAsync(result.GetValue(bundle)!, partSize, p, ct, result.GetValue(to)));
            Print(split, json);
            return 0;
        }));
        return command;
    }

    public static void Print(BundleSplitter.Result split, bool json)
    {
        if (json)
        {
            JsonOutput.Write(new
            {
                index = split.IndexPath, bundle = split.Index.BundleName, bytes = split.Index.BundleSize, sha256 = split.Index.BundleSha256,
                parts = split.Index.Parts.Select((p, i) => new { path = split.PartPaths[i], bytes = p.Size, sha256 = p.Sha256 }),
            });
            return;
        }
        foreach (var (part, path) in split.Index.Parts.Zip(split.PartPaths)) Console.WriteLine($"{path}  {Sizes.Human(part.Size)}");
        Console.WriteLine($"{split.IndexPath}  index of {split.Index.Parts.Count} parts ({Sizes.Human(split.Index.BundleSize)})");
        Console.Error.WriteLine($"carry all {split.Index.Parts.Count + 1} files in one directory; check them with: sha256sum -c {Path.GetFileName(split.IndexPath)}; then: airgap verify {split.IndexPath}");
    }
}
