using System.CommandLine;
using Airgap.Bundles;

namespace Airgap.Cli;

internal static class KeyCommand
{
    public static Command Create()
    {
        var command = new Command("key", "Keys: make the pair that signs bundles (generate).");
        command.Subcommands.Add(Generate());
        return command;
    }

    private static Command Generate()
    {
        var output = new Option<string>("--out") { Description = "KEYBASE: writes KEYBASE.pem (private, 0600; for airgap build --sign-key) and KEYBASE.pub.pem (for --trust-key)", Required = true };
        var format = AirgapCli.FormatOption();
        var command = new Command("generate", "Make an ECDSA P-256 key pair in PEM (openssl reads both) for signing bundles; existing files are never replaced.") { output, format };
        command.SetAction((result, _) => AirgapCli.Guard(() =>
        {
            var key = BundleSigningKey.Generate(result.GetValue(output)!);
            if (result.GetValue(format) == OutputFormat.Json)
                JsonOutput.Write(new { privateKey = key.PrivateKeyPath, publicKey = key.PublicKeyPath, fingerprint = key.Fingerprint });
            else
            {
                Console.WriteLine($"{key.PrivateKeyPath}  private: airgap build --sign-key {key.PrivateKeyPath} (keep it on the build host)");
                Console.WriteLine($"{key.PublicKeyPath}  public: copy to {BundleTrust.DefaultDirectory}/ on nodes, or --trust-key");
                Console.WriteLine($"fingerprint {key.Fingerprint}");
            }
            return Task.FromResult(0);
        }));
        return command;
    }
}
