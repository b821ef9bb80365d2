using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Airgap.Bundles;
using Airgap.Oci;

namespace Airgap.Cli;

internal static class PushCommand
{
    public static Command Create()
    {
        var bundle = new Argument<string>("BUNDLE") { Description = "the bundle .tar, or a split bundle's .parts index or first part (read in place, nothing unpacked or joined)" };
        var registry = new Option<string>("--registry") { Description = "the site's registry as HOST[:PORT][/PREFIX]; images keep their full path below it: HOST/PREFIX/k8s.gcr.io/kube-apiserver", Required = true };
        var flat = new Option<bool>("--flat") { Description = "keep only the last path element: HOST/PREFIX/kube-apiserver (kubeadm's imageRepository, a Harbor project)" };
        var username = new Option<string?>("--username") { Description = "user for the registry (else ~/.docker/config.json)" };
        var password = new Option<string?>("--password") { Description = "password for --username (or set AIRGAP_REGISTRY_PASSWORD)" };
        var caCert = new Option<string[]>("--ca-cert") { Description = "PEM file of a CA to trust for the registry's TLS certificate (a site's private CA)" };
        var plainHttp = new Option<bool>("--plain-http") { Description = "talk plain HTTP to the registry (only when it has no TLS; loopback always is)" };
        var chunkSize = new Option<string>("--chunk-size")
        {
            Description = "blobs above this size go in PATCH chunks of it, each a point a cut or killed push continues from (lower it under a proxy's body limit, e.g. nginx client_max_body_size)",
            DefaultValueFactory = _ => "32M",
        };
        var format = AirgapCli.FormatOption();
        var baseBundle = BaseOption.Create();
        var command = new Command("push", "Push every image of a bundle into the site's own registry (Harbor, registry:2, Nexus) with upstream's tags and digests; only missing blobs move.")
        {
            bundle, baseBundle, registry, flat, username, password, caCert, plainHttp, chunkSize, format,
        };
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var path = result.GetValue(bundle)!;
            var mapping = RegistryMapping.Parse(result.GetValue(registry)!, result.GetValue(flat));
            var chunk = ByteSize.Parse("--chunk-size", result.GetValue(chunkSize)!);
            var credentials = new RegistryCredentials();
            if (result.GetValue(username) is { } user)
            {
                var pass = result.GetValue(password) ?? Environment.GetEnvironmentVariable("AIRGAP_REGISTRY_PASSWORD")
                    ?? throw new AirgapException("--username needs --password or AIRGAP_REGISTRY_PASSWORD");
                credentials.Add(mapping.Host, new RegistryCredential(user, pass));
            }
            credentials.AddDockerConfig();
            var cas = new X509Certificate2Collection();
            foreach (var file in result.GetValue(caCert) ?? [])
            {
                try
                {
                    cas.ImportFromPemFile(file);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
                {
                    throw new AirgapException($"--ca-cert {file} cannot be read as PEM certificates ({e.Message.Split('\n')[0]})");
                }
            }
            var json = result.GetValue(format) == OutputFormat.Json;
            var started = DateTime.UtcNow;
            var report = await LiveProgress.RunAsync(json, async progress =>
            {
                using var client = new RegistryClient(new RegistryClientOptions
                {
                    Credentials = credentials,
                    CaCertificates = cas,
                    UploadChunkSize = chunk,
                    UploadSessions = UploadSessions.Default(),
                    PlainHttpHosts = result.GetValue(plainHttp) ? new HashSet<string>(StringComparer.OrdinalIgnoreCase) { mapping.Host } : new HashSet<string>(),
                });
                return await BundlePush.RunAsync(new BundleSet(path, result.GetValue(baseBundle)), mapping, client, progress, ct);
            });
            var seconds = (DateTime.UtcNow - started).TotalSeconds;
            if (json)
            {
                JsonOutput.Write(new
                {
                    bundle = path, registry = mapping.ToString(), images = report.Images,
                    blobsSent = report.Copy.BlobsSent, blobsSkipped = report.Copy.BlobsSkipped, bytesSent = report.Copy.BytesSent, seconds,
                });
                return 0;
            }
            foreach (var image in report.Images) Console.WriteLine($"{image.Target}  {image.Digest}");
            Console.WriteLine($"pushed {report.Images.Count} images to {mapping}: {report.Copy.BlobsSent} blobs sent ({Sizes.Human(report.Copy.BytesSent)}), " +
                              $"{report.Copy.BlobsSkipped} already there, in {seconds:0.0} s");
            return 0;
        }));
        return command;
    }
}
