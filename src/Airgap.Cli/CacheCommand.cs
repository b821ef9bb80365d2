using System.CommandLine;
using Airgap.Oci;

namespace Airgap.Cli;

internal static class CacheCommand
{
    private static Option<string?> CacheDir() => new("--cache-dir") { Description = "the cache (default ~/.cache/airgap, or $AIRGAP_CACHE)" };

    public static Command Create()
    {
        var dir = CacheDir();
        var format = AirgapCli.FormatOption();
        var command = new Command("cache", "What the build cache holds: blobs and files, partial downloads a later build continues, leftovers.") { dir, format };
        command.SetAction(result => AirgapCli.Guard(() =>
        {
            var report = new BlobCache(result.GetValue(dir) ?? BlobCache.DefaultRoot()).Report();
            if (result.GetValue(format) == OutputFormat.Json) JsonOutput.Write(report);
            else
                Console.WriteLine($"{report.Root}: {report.Blobs} blobs and files ({Sizes.Human(report.BlobBytes)}), " +
                                  $"{report.Partials} partial downloads ({Sizes.Human(report.PartialBytes)}), {report.Leftovers} leftovers ({Sizes.Human(report.LeftoverBytes)})");
            return Task.FromResult(0);
        }));

        var pruneDir = CacheDir();
        var all = new Option<bool>("--all") { Description = "remove every cached blob and file too (the next build downloads everything again)" };
        var prune = new Command("prune", "Remove partial downloads no build is continuing and leftovers of killed builds; with --all, the whole cache.") { pruneDir, all };
        prune.SetAction(result => AirgapCli.Guard(() =>
        {
            var cache = new BlobCache(result.GetValue(pruneDir) ?? BlobCache.DefaultRoot());
            var freed = cache.Prune(result.GetValue(all));
            Console.WriteLine($"{cache.Root}: freed {Sizes.Human(freed)}");
            return Task.FromResult(0);
        }));
        command.Subcommands.Add(prune);
        return command;
    }
}
