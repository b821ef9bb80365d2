using System.CommandLine;
using Airgap.Artifacts;
using Airgap.Bundles;
using Airgap.Oci;

namespace Airgap.Cli;

internal static class BuildCommand
{
    private static Uri? HttpUrl(string? value, string flag)
    {
        if (value is null) return null;
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return uri;
        throw new AirgapException($"{flag} \"{value}\" is not an http(s) URL");
    }

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
        var binariesUrl = new Option<string?>("--binaries-url") { Description = "dl.k8s.io-shaped mirror for kubeadm/kubelet/kubectl (default https://dl.k8s.io)" };
        var githubMirror = new Option<string?>("--github-mirror") { Description = "GitHub-release mirror for crictl, CNI plugins, containerd, runc: URL/OWNER/REPO/releases/download/TAG/FILE" };
        var crictlVersion = new Option<string?>("--crictl-version") { Description = "cri-tools release (default: the one for the Kubernetes minor, e.g. v1.20.0)" };
        var cniVersion = new Option<string?>("--cni-plugins-version") { Description = "containernetworking/plugins release (e.g. v0.8.7)" };
        var containerdVersion = new Option<string?>("--containerd-version") { Description = "containerd release (e.g. 1.4.3)" };
        var runcVersion = new Option<string?>("--runc-version") { Description = "runc release (e.g. v1.0.0-rc92)" };
        var os = new Option<string[]>("--os") { Description = "target OS profiles whose packages go in as offline repositories, e.g. ubuntu-20.04,centos-7 (see manifests/os)" };
        var osMirror = new Option<string?>("--os-mirror") { Description = "replace the profile's OS archive root (suites, components and key stay)" };
        var k8sRepo = new Option<string?>("--k8s-repo") { Description = "replace the Kubernetes package repository (legacy or per-minor layout)" };
        var k8sRepoKey = new Option<string?>("--k8s-repo-key") { Description = "OpenPGP public key that must have signed --k8s-repo" };
        var reposFile = new Option<string?>("--repos") { Description = "repos.yaml: more or replaced repositories (name, kind, url, suite, components, key)" };
        var package = new Option<string[]>("--package") { Description = "an extra package for every --os (NAME or NAME=VERSION, repeatable)" };
        var noPackages = new Option<bool>("--no-packages") { Description = "leave OS packages out even with --os" };
        var allowUnsigned = new Option<bool>("--allow-unsigned-repos") { Description = "use --repos entries that have no key without verifying their metadata (packages are still checked against it)" };
        var installerDir = new Option<string?>("--installer-dir") { Description = "where airgap-linux-<arch> (from make publish) are found for bin/airgap (default: beside this airgap)" };
        var noImages = new Option<bool>("--no-images") { Description = "leave images out" };
        var noBinaries = new Option<bool>("--no-binaries") { Description = "leave the binaries (kubeadm, kubelet, kubectl, crictl, CNI plugins, containerd, runc) out" };
        var signKey = new Option<string?>("--sign-key") { Description = "PEM ECDSA P-256 private key (airgap key generate) that signs bundle.yaml into bundle.yaml.sig" };
        var splitSize = new Option<string?>("--split-size") { Description = "write each bundle as NAME.part-001… of at most this size (e.g. 300M; 4095M for FAT32 media) plus the index NAME.parts, and no whole .tar (see airgap split)" };
        var since = new Option<string[]>("--since") { Description = "OLD bundle .tar: write a delta holding only what OLD lacks (by sha256), naming OLD; install/push/upgrade it with --base OLD (one per --arch, repeatable)" };
        var format = AirgapCli.FormatOption(withLongName: false);
        var command = new Command("build", "Pull everything a Kubernetes version needs into one verified bundle per architecture.");
        foreach (var o in plan.All) command.Options.Add(o);
        foreach (var o in new Option[] { arch, mirror, plainHttp, output, username, password, cacheDir,
                     binariesUrl, githubMirror, crictlVersion, cniVersion, containerdVersion, runcVersion,
                     os, osMirror, k8sRepo, k8sRepoKey, reposFile, package, noPackages, allowUnsigned, installerDir, noImages, noBinaries, signKey, splitSize, since, format }) command.Options.Add(o);

        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            // Parsed first: a bad size should stop the build before it downloads anything.
            var partSize = result.GetValue(splitSize) is { } sizeText ? ByteSize.Parse("--split-size", sizeText) : (long?)null;
            var cache = new BlobCache(result.GetValue(cacheDir) ?? BlobCache.DefaultRoot());
            var mirrors = new MirrorRules();
            foreach (var rule in result.GetValue(mirror) ?? []) mirrors.Add(rule);
            var spec = plan.ToSpec(result, mirrors, BundleSpec.ParseArchitectures(result.GetValue(arch) ?? []), result.GetValue(output)!);
            var versionOverrides = (result.GetValue(crictlVersion), result.GetValue(cniVersion), result.GetValue(containerdVersion), result.GetValue(runcVersion));
            spec = spec with
            {
                IncludeImages = !result.GetValue(noImages),
                IncludeBinaries = !result.GetValue(noBinaries),
                BinarySources = new BinarySources(
                    HttpUrl(result.GetValue(binariesUrl), "--binaries-url") ?? BinarySources.DefaultKubernetesRelease,
                    HttpUrl(result.GetValue(githubMirror), "--github-mirror") ?? BinarySources.DefaultGitHub),
                BinaryVersions = result.GetValue(noBinaries) ? null
                    : BinaryVersions.For(spec.Kubernetes).With(versionOverrides.Item1, versionOverrides.Item2, versionOverrides.Item3, versionOverrides.Item4),
            };
            var profiles = (result.GetValue(os) ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct().ToList();
            foreach (var profile in profiles) Airgap.Packages.Profiles.OsProfileCatalog.Get(profile);
            var keyFile = result.GetValue(k8sRepoKey);
            if (keyFile is not null && !File.Exists(keyFile)) throw new AirgapException($"--k8s-repo-key {keyFile} does not exist");
            var extraRepos = result.GetValue(reposFile) is { } reposPath
                ? Airgap.Packages.Profiles.RepositoryOverrides.LoadReposFile(reposPath)
                : [];
            spec = spec with
            {
                OperatingSystems = profiles,
                IncludePackages = !result.GetValue(noPackages),
                AllowUnsignedRepositories = result.GetValue(allowUnsigned),
                ExtraPackages = result.GetValue(package) ?? [],
                RepositoryOverrides = new Airgap.Packages.Profiles.RepositoryOverrides(
                    HttpUrl(result.GetValue(osMirror), "--os-mirror"), HttpUrl(result.GetValue(k8sRepo), "--k8s-repo"),
                    keyFile is null ? null : Path.GetFullPath(keyFile), extraRepos)
                {
                    KeyDirectory = Path.Combine(cache.Root, "keys"),
                },
            };
            spec = spec with
            {
                Installers = Installers.Find(result.GetValue(installerDir), spec.Architectures),
                // Read now: a bad key should stop the build before it downloads anything.
                SigningKey = result.GetValue(signKey) is { } keyPath ? BundleSigningKey.Load(keyPath) : null,
                Since = result.GetValue(since) ?? [],
            };
            if (!spec.IncludeImages && !spec.IncludeBinaries && (!spec.IncludePackages || profiles.Count == 0))
                throw new AirgapException("nothing to bundle: --no-images and --no-binaries without --os");

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
            var started = DateTime.UtcNow;
            var (bundles, splits) = await LiveProgress.RunAsync(json, async progress =>
            {
                using var registry = new RegistryClient(new RegistryClientOptions
                {
                    Credentials = credentials,
                    PlainHttpHosts = (result.GetValue(plainHttp) ?? []).ToHashSet(StringComparer.OrdinalIgnoreCase),
                });
                using var downloads = new FileDownloader(cache, progress);
                var built = await new BundleBuilder(registry, cache, downloads, progress).BuildAsync(spec, ct);
                var splits = new List<Airgap.Bundles.Parts.BundleSplitter.Result>();
                if (partSize is { } size)
                {
                    // Whoever asks for parts carries parts: the whole tar would only double the disk used.
                    foreach (var b in built)
                    {
                        splits.Add(await Airgap.Bundles.Parts.BundleSplitter.SplitAsync(b.Path, size, progress, ct));
                        File.Delete(b.Path);
                    }
                }
                return (built, splits);
            });
            var seconds = (DateTime.UtcNow - started).TotalSeconds;
            if (json)
            {
                JsonOutput.Write(new
                {
                    kubernetes = spec.Kubernetes.ToString(), seconds = Math.Round(seconds, 1), bundles,
                    parts = splits.Select(s => new { index = s.IndexPath, parts = s.PartPaths.Zip(s.Index.Parts, (path, p) => new { path, bytes = p.Size, sha256 = p.Sha256 }) }),
                });
                return 0;
            }
            foreach (var b in bundles)
                Console.WriteLine($"{b.Path}  {Sizes.Human(b.Size)}  {b.Images} images, {b.Blobs} blobs ({Sizes.Human(b.BlobBytes)}), {b.Binaries} binaries, {b.Packages} packages, " +
                                  (b.SignedBy is null ? "unsigned" : $"signed by {b.SignedBy}") +
                                  (b.Base is null ? "" : $", delta of {b.Base}: {b.FromBase} members ({Sizes.Human(b.FromBaseBytes)} of {Sizes.Human(b.MemberBytes)}) left to it"));
            foreach (var s in splits)
                Console.WriteLine($"{s.IndexPath}  split into {s.Index.Parts.Count} parts: {string.Join(", ", s.PartPaths.Select(Path.GetFileName))} (the whole .tar was removed)");
            var baseHint = spec.Since.Count == 1 ? $" --base {spec.Since[0]}" : "";
            Console.Error.WriteLine($"done in {seconds:0.0} s; check with: airgap verify {(splits.Count > 0 ? splits[0].IndexPath : bundles[0].Path)}{baseHint}");
            return 0;
        }));
        return command;
    }
}
