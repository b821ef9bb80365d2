using System.CommandLine;
using Airgap.Bundles;

namespace Airgap.Cli;

internal static class KeyCommand
{
    public static Command Create()
    {
        var command = new Command("key", "Keys: make the pair that signs bundles (generate); list the repository keys shipped with airgap and the bundle keys this host trusts (list).");
        command.Subcommands.Add(Generate());
        command.Subcommands.Add(List());
        return command;
    }

    private static Command List()
    {
        var trust = TrustOption.Create();
        var format = AirgapCli.FormatOption();
        var command = new Command("list", "Every OpenPGP repository key shipped with airgap (fingerprint, expiry) and every bundle trust key (SHA256 fingerprint).") { trust, format };
        command.SetAction((result, _) => AirgapCli.Guard(() =>
        {
            var now = DateTimeOffset.UtcNow;
            var shipped = Airgap.Packages.Profiles.OsProfileCatalog.ShippedKeys();
            var trusted = TrustOption.Read(result, trust);
            if (result.GetValue(format) == OutputFormat.Json)
            {
                JsonOutput.Write(new
                {
                    repositoryKeys = shipped.SelectMany(s => s.Keys.Select(k => new
                    {
                        file = s.File, k.Fingerprint, k.UserId, k.Created, k.Expires, expired = k.IsExpiredAt(now), k.Revoked,
                    })),
                    trustKeys = trusted.Keys.Select(k => new { k.Fingerprint, k.Source }),
                });
                return Task.FromResult(0);
            }
            Console.WriteLine("repository keys shipped with airgap (OpenPGP; a build checks each OS and Kubernetes repository against them):");
            var width = shipped.Max(s => s.File.Length);
            foreach (var (file, keys) in shipped)
                foreach (var k in keys)
                    Console.WriteLine($"  {file.PadRight(width)}  {k.Fingerprint}  {k.Status(now),-34}  {k.UserId}");
            Console.WriteLine($"bundle trust keys (--trust-key, {BundleTrust.DefaultDirectory}/*.pem):");
            if (trusted.Keys.Count == 0) Console.WriteLine("  none: bundles are not required to be signed");
            foreach (var k in trusted.Keys) Console.WriteLine($"  {k.Fingerprint}  {k.Source}");
            return Task.FromResult(0);
        }));
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
                Console.WriteLine($"{key.PublicKeyPath}  public: copy to {BundleTrust.DefaultDirectory}/ on nodes, or --trust-key, or install.trustKeys in cluster.yaml");
                Console.WriteLine($"fingerprint {key.Fingerprint}");
            }
            return Task.FromResult(0);
        }));
        return command;
    }
}
