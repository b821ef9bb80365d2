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

    /// <summary>The flag's keys plus those a config file names (node.yaml's trustKeys): both count, neither replaces the other.</summary>
    public static BundleTrust Read(ParseResult result, Option<string[]> option, IEnumerable<string>? fromConfig = null) =>
        BundleTrust.Load([.. result.GetValue(option) ?? [], .. fromConfig ?? []]);
}
