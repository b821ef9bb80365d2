using System.Reflection;
using System.Text;
using Airgap.Artifacts;
using Airgap.Oci;

namespace Airgap.Bundles;

public sealed record BuiltBundle(string Path, string Arch, long Size, int Images, int Blobs, long BlobBytes, int Binaries, int Packages)
{
    /// <summary>The fingerprint of the key that signed bundle.yaml, or null for an unsigned bundle.</summary>
    public string? SignedBy { get; init; }

    /// <summary>For a delta: the base's name, and how many members (and bytes) of the whole bundle the base carries.</summary>
    public string? Base { get; init; }
    public int FromBase { get; init; }
    public long FromBaseBytes { get; init; }

    /// <summary>The size of every member of the whole bundle, wherever it lies (for a full bundle, about its size).</summary>
    public long MemberBytes { get; init; }
}

/// <summary>An earlier (verified) bundle a build makes a delta against, with its bundle.yaml's bytes, which the delta names it by.</summary>
internal sealed record DeltaBase(string Path, BundleDocument Document, byte[] Yaml)
{
    private readonly HashSet<(string, long)> content = Document.Files.Select(f => (f.Sha256, f.Size)).ToHashSet();
    private readonly Dictionary<string, long> sizes = Document.Files.GroupBy(f => f.Sha256).ToDictionary(g => g.Key, g => g.First().Size);

    /// <summary>The size of the base's member with this sha256, or null: a published checksum names a binary before it is downloaded.</summary>
    public long? SizeOf(string sha256) => sizes.TryGetValue(sha256, out var size) ? size : null;

    /// <summary>True when the base has a member with these bytes: the delta will leave it to the base (<see cref="BundleDelta.Mark"/>'s rule).</summary>
    public bool Holds(string sha256, long size) => content.Contains((sha256, size));
}

/// <summary>
/// The build flow: plan, then fetch images (every platform, each blob once), binaries and packages into
/// the shared cache in parallel, then write one bundle per architecture. Nothing appears in the output
/// directory until a bundle is complete.
/// </summary>
public sealed class BundleBuilder(RegistryClient registry, BlobCache cache, FileDownloader downloads, IProgressSink progress)
{
    public static string ToolVersion =>
        typeof(BundleBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>
    /// Blobs pulled at once, across all images. Far mirrors cap each connection (4 MB/s is common behind the
    /// GFW) well below the link, so it takes about a dozen connections to fill a link of a few tens of MB/s;
    /// the bench (bench/run.sh, shaped part) measures the effect.
    /// </summary>
    public const int ParallelBlobs = 12;

    public async Task<IReadOnlyList<BuiltBundle>> BuildAsync(BundleSpec spec, CancellationToken ct)
    {
        var bases = await LoadBasesAsync(spec, ct).ConfigureAwait(false);
        var plan = spec.IncludeImages
            ? await new ImagePlanner(downloads).PlanAsync(spec, ct).ConfigureAwait(false)
            : new ImagePlan([], new PlannedCni("none", null, null, null, null));
        var binaryPlan = spec.IncludeBinaries
            ? spec.Architectures.SelectMany(arch => BinaryPlan.For(spec.Kubernetes,
                spec.BinaryVersions ?? BinaryVersions.For(spec.Kubernetes), arch, spec.BinarySources)).ToList()
            : [];
        progress.Info($"Kubernetes {spec.Kubernetes} for {string.Join(", ", spec.Architectures.Select(a => "linux/" + a))}: " +
                      $"{plan.Images.Count} images, {binaryPlan.Count / Math.Max(1, spec.Architectures.Count)} binaries");

        // The build is one composition of image ends: the registry (through mirrors) as the source, the
        // blob cache as the sink, the copier between. Layers keep streaming after manifests and configs are
        // in; the bundle is written in member order as they land, so writing overlaps pulling. Any failure
        // cancels everything still in flight.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var source = new RegistryImageSource(registry, progress, plan.Images.Select(i => new ImageRequest(i.Canonical, i.Sources)));
        // Blobs every base holds are not pulled: the deltas leave them to their bases. Configs among them are read
        // back from the base (checked against their digest) for the platform check.
        using var baseImages = bases.Count > 0 && bases.Values.All(b => b.Document.Images.Count > 0)
            ? await BundleImageSource.OpenAsync(bases.Values.First().Path, ct).ConfigureAwait(false) : null;
        var heldByBases = baseImages is null ? [] : bases.Values
            .Select(b => b.Document.Files.Where(f => f.Path.StartsWith("images/blobs/sha256/", StringComparison.Ordinal)).Select(f => ("sha256:" + f.Sha256, f.Size)).ToHashSet())
            .Aggregate((a, b) => { a.IntersectWith(b); return a; });
        var sink = new CacheImageSink(cache, registry.DownloadPolicy)
        {
            HeldElsewhere = blob => heldByBases.Contains((blob.Digest, blob.Size)),
            ReadElsewhere = baseImages is null ? null : (blob, c) => baseImages.OpenBlobAsync(blob, 0, c),
        };
        var copier = new ImageCopier(source, sink, progress, parallelBlobs: ParallelBlobs) { Verb = "pull", ReadBack = sink.OpenAsync };
        var imagesTask = CancelOthersOnFault(PullImagesAsync(copier, source, spec, plan, linked.Token), linked);
        try
        {
            var fetcher = new BinaryFetcher(downloads) { SizeHeldElsewhere = (arch, sha256) => bases.TryGetValue(arch, out var b) ? b.SizeOf(sha256) : null };
            var binariesTask = CancelOthersOnFault(fetcher.FetchAsync(binaryPlan, linked.Token), linked);
            var packagesTask = CancelOthersOnFault(CollectPackagesAsync(spec, bases, linked.Token), linked);
            await Task.WhenAll(imagesTask, binariesTask, packagesTask).ConfigureAwait(false);
            var (images, _) = await imagesTask.ConfigureAwait(false);
            var binaries = await binariesTask.ConfigureAwait(false);
            var packages = await packagesTask.ConfigureAwait(false);

            var results = new List<BuiltBundle>();
            foreach (var arch in spec.Architectures)
            {
                var path = Path.Combine(spec.OutputDirectory, BundlePaths.FileName(spec.Kubernetes.ToString(), "linux", arch));
                var document = NewDocument(spec, arch);
                var members = new List<BundleMember>();
                var archImages = images.Where(i => i.Platform.Architecture == arch).ToList();
                var (blobs, blobBytes) = AddImages(document, members, plan, archImages, copier, sink);
                var archBinaries = binaries.Where(b => b.Artifact.Arch == arch).ToList();
                AddBinaries(document, members, archBinaries);
                AddPackages(document, members, packages.Where(p => p.Arch == arch));
                var installerSha = await AddInstallerAsync(spec, arch, members, linked.Token).ConfigureAwait(false);
                document.Sbom = BundleSbom.FileName;
                members.Add(BundleSbom.Member(document, ToolVersion, installerSha));
                IReadOnlyList<BundleMember> written = members;
                if (bases.TryGetValue(arch, out var baseBundle))
                {
                    written = BundleDelta.Mark(members, baseBundle.Document, baseBundle.Path);
                    document.Base = BundleDelta.Reference(baseBundle.Document, baseBundle.Yaml);
                }
                await BundleWriter.WriteAsync(path, document, written, progress, linked.Token, spec.SigningKey).ConfigureAwait(false);
                var carried = written.Where(m => m.FromBase is not null).ToList();
                results.Add(new BuiltBundle(path, arch, new FileInfo(path).Length, archImages.Count, blobs, blobBytes, archBinaries.Count, document.Packages.Count)
                {
                    SignedBy = spec.SigningKey?.Fingerprint,
                    Base = document.Base?.Name,
                    FromBase = carried.Count,
                    FromBaseBytes = carried.Sum(m => m.Size),
                    MemberBytes = written.Sum(m => m.Size),
                });
            }
            await (await imagesTask.ConfigureAwait(false)).Landing.ConfigureAwait(false);
            return results;
        }
        catch
        {
            await linked.CancelAsync().ConfigureAwait(false);
            // Layers no bundle waited for are still moving: let them stop before the cache is left to the next run.
            if (imagesTask.IsCompletedSuccessfully)
                try { await imagesTask.Result.Landing.ConfigureAwait(false); } catch (Exception) { /* the first failure is the one reported */ }
            throw;
        }
    }

    /// <summary>
    /// The --since bundles by architecture, each verified in full (a delta is only as good as the base it
    /// leaves members to) before anything is downloaded. A delta is refused as a base: chains are not read.
    /// </summary>
    private async Task<Dictionary<string, DeltaBase>> LoadBasesAsync(BundleSpec spec, CancellationToken ct)
    {
        var bases = new Dictionary<string, DeltaBase>(StringComparer.Ordinal);
        foreach (var path in spec.Since)
        {
            var (yaml, _) = await BundleReader.ReadSignedDocumentAsync(path, ct).ConfigureAwait(false);
            var document = BundleDocument.Parse(Encoding.UTF8.GetString(yaml), path);
            if (document.Base is { } deeper)
                throw new AirgapException($"--since {path} is itself a delta (of {deeper.Name}); give the full bundle it was built on, or a full build");
            if (!spec.Architectures.Contains(document.Arch))
                throw new AirgapException($"--since {path} is for linux/{document.Arch}, and this build is for {string.Join(", ", spec.Architectures.Select(a => "linux/" + a))}; give a base of each --arch");
            if (bases.TryGetValue(document.Arch, out var other))
                throw new AirgapException($"--since {path} and {other.Path} are both for linux/{document.Arch}; give one base per architecture");
            await BundleReader.VerifyAsync(path, progress, BundleTrust.None, ct).ConfigureAwait(false);
            bases[document.Arch] = new DeltaBase(path, document, yaml);
        }
        if (bases.Count > 0 && spec.Architectures.FirstOrDefault(a => !bases.ContainsKey(a)) is { } missing)
            throw new AirgapException($"--since gives no base for linux/{missing}; give one --since bundle per --arch");
        return bases;
    }

    /// <summary>The first part to fail stops the others at once, instead of after they finish downloading.</summary>
    private static async Task<T> CancelOthersOnFault<T>(Task<T> task, CancellationTokenSource others)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch
        {
            await others.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Adds bin/airgap when there is one for the architecture and returns its sha256.</summary>
    private async Task<string?> AddInstallerAsync(BundleSpec spec, string arch, List<BundleMember> members, CancellationToken ct)
    {
        if (!spec.Installers.TryGetValue(arch, out var installer))
        {
            progress.Warn($"no self-contained airgap for linux/{arch} (make publish writes dist/airgap-linux-{arch}); the bundle has no bin/airgap, so nodes need airgap installed another way");
            return null;
        }
        // Hashed as it is read here; the writer checks the same bytes again as it copies them.
        await using var file = File.OpenRead(installer);
        var sha = Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(file, ct).ConfigureAwait(false));
        members.Add(BundleMember.FromFile("bin/airgap", installer, sha, file.Length, 0x1ED));
        return sha;
    }

    private async Task<IReadOnlyList<Packages.CollectedPackages>> CollectPackagesAsync(BundleSpec spec, IReadOnlyDictionary<string, DeltaBase> bases, CancellationToken ct)
    {
        if (!spec.IncludePackages || spec.OperatingSystems.Count == 0) return [];
        var collector = new Packages.PackageCollector(downloads, progress, spec.AllowUnsignedRepositories)
        {
            HeldElsewhere = (arch, sha256, size) => bases.TryGetValue(arch, out var b) && b.Holds(sha256, size),
        };
        var jobs = spec.OperatingSystems.SelectMany(os => spec.Architectures.Select(arch =>
            collector.CollectAsync(os, arch, spec.Kubernetes, spec.RepositoryOverrides, spec.ExtraPackages, ct)));
        return await Task.WhenAll(jobs).ConfigureAwait(false);
    }

    private static void AddPackages(BundleDocument document, List<BundleMember> members, IEnumerable<Packages.CollectedPackages> collected)
    {
        foreach (var c in collected)
        {
            foreach (var p in c.Set.Packages.OrderBy(p => p.FileName, StringComparer.Ordinal))
            {
                var path = $"{c.Root}/{p.FileName}";
                members.Add(BundleMember.FromFile(path, c.CachePaths[p.FileName], p.Sha256, p.Size));
                document.Packages.Add(new BundlePackage
                {
                    Os = c.Os, Name = p.Name, Version = p.Version, Arch = p.Architecture, Path = path,
                    Repository = p.Repository, Sha256 = p.Sha256, Size = p.Size, Requested = c.Requested.Contains(p.Name),
                });
            }
            foreach (var (relative, content) in c.Index) members.Add(BundleMember.FromBytes($"{c.Root}/{relative}", content));
        }
    }

    /// <summary>
    /// Every image resolved and its configs checked, one <see cref="PulledImage"/> per platform; the task
    /// of the layers still landing in the cache beside them.
    /// </summary>
    private static async Task<(IReadOnlyList<PulledImage> Images, Task Landing)> PullImagesAsync(ImageCopier copier, RegistryImageSource source,
        BundleSpec spec, ImagePlan plan, CancellationToken ct)
    {
        var copies = plan.Images
            .Select(image => new ImageCopy(image.Canonical, image.Canonical,
                spec.Architectures.Where(a => image.OnlyArch is null || image.OnlyArch == a).Select(Platform.Linux).ToList()))
            .Where(copy => copy.Platforms!.Count > 0)
            .ToList();
        if (copies.Count == 0) return ([], Task.CompletedTask);
        var started = await copier.StartAsync(copies, ct).ConfigureAwait(false);
        var pulled = started.Images.SelectMany(image => image.Manifests.Select(m => new PulledImage(
            image.Copy.To,
            source.SourceOf(image.Copy.From) ?? image.Copy.From,
            m.Platform!,
            new Descriptor(m.Descriptor.MediaType, m.Descriptor.Digest, m.Descriptor.Size),
            m.Parsed.Config,
            m.Parsed.Layers,
            image.Index))).ToList();
        return (pulled, started.Rest);
    }

    private static BundleDocument NewDocument(BundleSpec spec, string arch) => new()
    {
        Name = Path.GetFileNameWithoutExtension(BundlePaths.FileName(spec.Kubernetes.ToString(), "linux", arch)),
        Kubernetes = spec.Kubernetes.ToString(),
        Arch = arch,
        CreatedBy = "airgap " + ToolVersion,
    };

    private (int Blobs, long BlobBytes) AddImages(BundleDocument document, List<BundleMember> members, ImagePlan plan, List<PulledImage> images,
        ImageCopier copier, CacheImageSink sink)
    {
        document.Cni = new BundleCni { Name = plan.Cni.Name };
        if (images.Count == 0) return (0, 0);
        document.Images = images.OrderBy(i => i.Canonical.ToString(), StringComparer.Ordinal).Select(i => new BundleImage
        {
            Name = i.Canonical.ToString(),
            Source = i.Source.ToString(),
            Platform = i.Platform.ToString(),
            MediaType = i.Manifest.MediaType,
            Digest = i.Manifest.Digest,
            IndexDigest = i.Index?.Digest,
            IndexMediaType = i.Index?.MediaType,
            Size = i.TotalSize,
        }).ToList();
        members.Add(BundleMember.FromBytes("images/oci-layout", OciLayout.LayoutFile()));
        members.Add(BundleMember.FromBytes("images/index.json", OciLayout.Index(images)));
        members.Add(BundleMember.FromBytes("images/manifest.json", OciLayout.DockerManifest(images)));
        var blobs = images.SelectMany(i => i.Blobs.Select(b => (Image: i.Canonical, Blob: b))).DistinctBy(x => x.Blob.Digest).ToList();
        foreach (var (image, blob) in blobs)
        {
            var digest = blob.ParsedDigest;
            members.Add(BundleMember.FromFile("images/" + OciLayout.BlobPath(digest), cache.PathOf(digest), digest.Hex, blob.Size)
                with { Ready = () => copier.Landed(image, blob), VerifiedThisRun = () => sink.DownloadedThisRun(blob.Digest) });
        }
        if (plan.Cni.ManifestText is { } manifest)
        {
            const string manifestPath = "manifests/kube-flannel.yml";
            members.Add(BundleMember.FromBytes(manifestPath, Encoding.UTF8.GetBytes(manifest)));
            document.Cni = new BundleCni { Name = plan.Cni.Name, Version = plan.Cni.Version, Manifest = manifestPath, Source = plan.Cni.ManifestSource };
        }
        return (blobs.Count, blobs.Sum(b => b.Blob.Size));
    }

    private static void AddBinaries(BundleDocument document, List<BundleMember> members, List<FetchedBinary> binaries)
    {
        if (binaries.Count == 0) return;
        foreach (var b in binaries.OrderBy(b => b.Artifact.BundlePath, StringComparer.Ordinal))
        {
            members.Add(BundleMember.FromFile(b.Artifact.BundlePath, b.CachePath, b.Sha256, b.Size, b.Artifact.Executable ? 0x1ED : 0x1A4));
            document.Binaries.Add(new BundleBinary
            {
                Name = b.Artifact.Name,
                Version = b.Artifact.Version,
                Path = b.Artifact.BundlePath,
                Source = b.Artifact.Url.ToString(),
                ChecksumSource = b.ChecksumSource.ToString(),
                Sha256 = b.Sha256,
                Size = b.Size,
            });
        }
        foreach (var (path, content) in Templates.Systemd()) members.Add(BundleMember.FromBytes(path, content));
    }
}
