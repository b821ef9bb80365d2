using System.CommandLine;
using Airgap.Artifacts;
using Airgap.Bundles;
using Airgap.Oci;

namespace Airgap.Cli;

internal static class BuildCommand
{
    public static Command Create()
    {
        var plan = new PlanOptions();
        var arch = new Option<string[]>("--arch") { Description = "amd64 (default), arm64, or amd64,arm64: one bundle per architecture" };
        var mirror = new Option<string[]>("--mirror") { Description = "SRC=DST: pull images of registry SRC from DST first (repeatable; e.g. quay.io=quay.mirror.example.com)" };
        var plainHttp = new Option<string[]>("--plain-http") { Description = "talk plain HTTP to this registry host[:port] (loopback always is)" };
        var output = new Option<string>("--output") { Description = "directory for the bundles", DefaultValueFactory = _ => "bundles" };
        var username = new Option<string?>("--username") { Description = "user for the --image-repository registry (else ~/.docker/config.json)" };
        var password = new Option<string?>("--password") { Description = "password for --username (or set AIRGAP_REGISTRY_PASSWORD)" };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "blob cache shared by builds (default ~/.cache/airgap, or $AIRGAP_CACHE)" };
        var format = AirgapCli.FormatOption(withLongName: false);
        var command = new Command("build", "Pull everything a Kubernetes version needs into one verified bundle per architecture.");
        foreach (var o in plan.All) command.Options.Add(o);
        foreach (var o in new Option[] { arch, mirror, plainHttp, output, username, password, cacheDir, format }) command.Options.Add(o);

        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var mirrors = new MirrorRules();
            foreach (var rule in result.GetValue(mirror) ?? []) mirrors.Add(rule);
            var spec = plan.ToSpec(result, mirrors, BundleSpec.ParseArchitectures(result.GetValue(arch) ?? []), result.GetValue(output)!);

            var credentials = new RegistryCredentials();
            if (result.GetValue(username) is { } user)
            {
                var pass = result.GetValue(password) ?? Environment.GetEnvironmentVariable("AIRGAP_REGISTRY_PASSWORD")
                    ?? throw new AirgapException("--username needs --password or AIRGAP_REGISTRY_PASSWORD");
                if (spec.ImageRepository is null) throw new AirgapException("--username applies to the --image-repository registry; pass --image-repository too, or use docker login for other registries");
                credentials.Add(ImageReference.Parse(spec.ImageRepository + "/x").Registry, new RegistryCredential(user, pass));
            }
            credentials.AddDockerConfig();

            var json = result.GetValue(format) == OutputFormat.Json;
            var cache = new BlobCache(result.GetValue(cacheDir) ?? BlobCache.DefaultRoot());
            var started = DateTime.UtcNow;
            var bundles = await LiveProgress.RunAsync(json, async progress =>
            {
                using var registry = new RegistryClient(new RegistryClientOptions
                {
                    Credentials = credentials,
                    PlainHttpHosts = (result.GetValue(plainHttp) ?? []).ToHashSet(StringComparer.OrdinalIgnoreCase),
                });
                using var downloads = new FileDownloader(cache, progress);
                return await new BundleBuilder(registry, cache, downloads, progress).BuildAsync(spec, ct);
            });
            var seconds = (DateTime.UtcNow - started).TotalSeconds;
            if (json)
            {
                JsonOutput.Write(new { kubernetes = spec.Kubernetes.ToString(), seconds = Math.Round(seconds, 1), bundles });
                return 0;
            }
            foreach (var b in bundles)
                Console.WriteLine($"{b.Path}  {Sizes.Human(b.Size)}  {b.Images} images, {b.Blobs} blobs ({Sizes.Human(b.BlobBytes)})");
            Console.Error.WriteLine($"done in {seconds:0.0} s; check with: airgap verify {bundles[0].Path}");
            return 0;
        }));
        return command;
    }
}
