using System.CommandLine;
using Airgap.Bundles;

namespace Airgap.Cli;

/// <summary>--base, as every command that reads a bundle takes it: the full bundle a delta (build --since) was built on.</summary>
internal static class BaseOption
{
    public static Option<string?> Create() => new("--base")
    {
        Description = "for a delta bundle (airgap build --since): the bundle it was built on; what the delta leaves out is read from it, checked against the delta's bundle.yaml",
    };

    /// <summary>The bundle and its base, with a delta's base checked now (a delta without --base, or another base, is refused here in one line).</summary>
    public static async Task<BundleSet> ReadAsync(ParseResult result, Option<string?> option, string bundlePath, CancellationToken ct)
    {
        var set = new BundleSet(bundlePath, result.GetValue(option));
        await set.LayoutAsync(ct);
        return set;
    }
}
