using System.CommandLine;
using Airgap.Bundles;

namespace Airgap.Cli;

/// <summary>--trust-key, as every command that takes a bundle on trust reads it.</summary>
internal static class TrustOption
{
    public static Option<string[]> Create() => new("--trust-key")
    {
        Description = $"a PEM public key (airgap key generate's KEYBASE.pub.pem) the bundle must be signed with (repeatable; {BundleTrust.DefaultDirectory}/*.pem count too)",
    };

    public static BundleTrust Read(ParseResult result, Option<string[]> option) => BundleTrust.Load(result.GetValue(option) ?? []);
}
