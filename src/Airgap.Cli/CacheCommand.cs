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
            var root = result.GetValue(dir) ?? BlobCache.DefaultRoot();
            var report = new BlobCache(root).Report();
            var uploads = UploadSessions.For(root).Count;
            if (result.GetValue(format) == OutputFormat.Json) JsonOutput.Write(new
            {
                report.Root, report.Blobs, report.BlobBytes, report.Partials, report.PartialBytes, report.Leftovers, report.LeftoverBytes, PushUploads = uploads,
            });
            else
                Console.WriteLine($"{report.Root}: {report.Blobs} blobs and files ({Sizes.Human(report.BlobBytes)}), " +
                                  $"{report.Partials} partial downloads ({Sizes.Human(report.PartialBytes)}), {report.Leftovers} leftovers ({Sizes.Human(report.LeftoverBytes)}), " +
                                  $"{uploads} interrupted push uploads to continue");
            return Task.FromResult(0);
        }));

        var pruneDir = CacheDir();
        var all = new Option<bool>("--all") { Description = "remove every cached blob and file too (the next build downloads everything again)" };
        var prune = new Command("prune", "Remove partial downloads no build is continuing, leftovers of killed builds and interrupted push uploads; with --all, the whole cache.") { pruneDir, all };
        prune.SetAction(result => AirgapCli.Guard(() =>
        {
            var cache = new BlobCache(result.GetValue(pruneDir) ?? BlobCache.DefaultRoot());
            var freed = cache.Prune(result.GetValue(all));
            var uploads = UploadSessions.For(cache.Root).Clear();
            Console.WriteLine($"{cache.Root}: freed {Sizes.Human(freed)}{(uploads > 0 ? $", forgot {uploads} interrupted push uploads" : "")}");
            return Task.FromResult(0);
        }));
        command.Subcommands.Add(prune);
        return command;
    }
}
