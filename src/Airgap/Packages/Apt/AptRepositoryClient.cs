using System.IO.Compression;
using System.Net;
using System.Text;
using Airgap.Artifacts;
using Airgap.Oci;
using SharpCompress.Compressors.Xz;

namespace Airgap.Packages.Apt;

/// <summary>
/// Reads an apt repository the way apt-get update does, trusting nothing that is not vouched for by
/// the repository's key: InRelease (or Release + Release.gpg) is verified first, then each Packages
/// index is fetched into the blob cache checked against Release's SHA256 before it is decompressed.
/// Also downloads chosen .deb files into the cache, checked against the index's SHA256.
/// </summary>
public sealed class AptRepositoryClient : IDisposable
{
    // Preference order as apt's default: the smallest download first. Packages.xz is ~25 % smaller than .gz.
    private static readonly string[] Compressions = [".xz", ".gz", ""];
    private const int MaxMetadataBytes = 64 << 20;

    private readonly FileDownloader _downloader;
    private readonly IProgressSink _progress;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    // Parsed indexes by content: a build resolving several package sets against one archive reads its ~50 MB index once.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Sha256, string Arch, string Repository, string Root), Lazy<IReadOnlyList<AptPackage>>> _parsed = new();

    public AptRepositoryClient(FileDownloader downloader, IProgressSink progress, HttpMessageHandler? handler = null, TimeProvider? time = null)
    {
        _downloader = downloader;
        _progress = progress;
        _time = time ?? TimeProvider.System;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(15) }, disposeHandler: handler is null)
        {
            Timeout = TimeSpan.FromMinutes(2),
            DefaultRequestHeaders = { { "User-Agent", "airgap" } },
        };
    }

    /// <summary>Accept repositories without a key file (their Release is still required, its checksums still checked). Off by default.</summary>
    public bool AllowUnsigned { get; init; }

    public int MaxParallelDownloads { get; init; } = 4;

    public void Dispose() => _http.Dispose();

    /// <summary>Whether the repository is "flat" (<c>deb URL dir/</c>): indexes directly under URL/dir, no dists/.</summary>
    public static bool IsFlat(PackageRepository repo) => repo.Suite is null || repo.Suite.EndsWith('/');

    /// <summary>Where InRelease and the index paths of Release are relative to.</summary>
    public static Uri ReleaseDirectory(PackageRepository repo)
    {
        var root = repo.BaseUrl.AbsoluteUri.TrimEnd('/') + "/";
        if (!IsFlat(repo)) return new Uri($"{root}dists/{repo.Suite}/");
        var dir = repo.Suite is null or "/" or "./" ? "" : repo.Suite.TrimStart('.', '/');
        return new Uri(root + dir);
    }

    /// <summary>Fetches, verifies and parses the repository's indexes for <paramref name="arch"/>.</summary>
    public async Task<AptIndex> LoadAsync(PackageRepository repo, string arch, CancellationToken ct)
    {
        if (repo.Kind != RepositoryKind.Apt)
            throw new AirgapException($"repository '{repo.Name}' is an {repo.Kind.ToString().ToLowerInvariant()} repository, not apt");
        var release = await LoadReleaseAsync(repo, ct).ConfigureAwait(false);
        var dir = ReleaseDirectory(repo);

        // apt refuses an expired Release too: a replayed old (validly signed) index could pin packages
        // with known holes.
        if (release.ValidUntil is { } until && until < _time.GetUtcNow())
            throw new AirgapException($"repository '{repo.Name}' at {repo.BaseUrl}: its Release expired on {until:yyyy-MM-dd} (Valid-Until); the mirror is stale or replaying old metadata, use another mirror");
        if (!IsFlat(repo) && release.Architectures.Count > 0 && !release.Architectures.Contains(arch))
            throw new AirgapException(
                $"repository '{repo.Name}' has no {arch} packages (its Release lists {string.Join(" ", release.Architectures)}); choose another --arch or repository");

        var prefixes = new List<string>();
        if (IsFlat(repo))
        {
            prefixes.Add("");
        }
        else
        {
            var components = repo.Components.Count > 0 ? repo.Components : ["main"];
            foreach (var component in components)
            {
                if (release.Components.Count > 0 && !release.Components.Contains(component) && !release.Components.Any(c => c.EndsWith("/" + component, StringComparison.Ordinal)))
                    throw new AirgapException(
                        $"repository '{repo.Name}': suite {repo.Suite} has no component '{component}' (it has {string.Join(" ", release.Components)}); fix the components in --repos");
                prefixes.Add($"{component}/binary-{arch}/");
                if (!release.ArchitectureAllInArchIndexes && HasIndex(release, $"{component}/binary-all/"))
                    prefixes.Add($"{component}/binary-all/");
            }
        }

        var packages = new List<AptPackage>();
        foreach (var prefix in prefixes)
            packages.AddRange(await LoadPackagesAsync(repo, release, dir, prefix, arch, ct).ConfigureAwait(false));
        return new AptIndex(repo, release, packages);
    }

    /// <summary>
    /// Downloads each package into the blob cache, checked against its SHA256 and size. Returns the cache
    /// path by file name. A package whose checksum does not match is an error that names it.
    /// </summary>
    public Task<IReadOnlyDictionary<string, string>> DownloadAsync(IReadOnlyList<ResolvedPackage> packages, CancellationToken ct) =>
        PackageFiles.DownloadAsync(_downloader, packages, MaxParallelDownloads, ct);

    private async Task<ReleaseFile> LoadReleaseAsync(PackageRepository repo, CancellationToken ct)
    {
        var dir = ReleaseDirectory(repo);
        if (repo.KeyFile is null && !AllowUnsigned)
            throw new AirgapException(
                $"repository '{repo.Name}' ({repo.BaseUrl}) has no key to check its signature; {OpenPgpKeyRing.KeyAdvice}, or pass --allow-unsigned-repos to use it unverified");
        var verifier = repo.KeyFile is null ? null : InReleaseVerifier.FromKeyFile(repo.KeyFile, repo.Name, _time.GetUtcNow);

        string text;
        var inRelease = await GetOptionalAsync(new Uri(dir, "InRelease"), ct).ConfigureAwait(false);
        if (inRelease is not null)
        {
            text = verifier is null ? InReleaseVerifier.UnverifiedText(inRelease, repo.Name) : verifier.VerifyClearsigned(inRelease);
        }
        else
        {
            var release = await GetOptionalAsync(new Uri(dir, "Release"), ct).ConfigureAwait(false)
                ?? throw new AirgapException(
                    $"repository '{repo.Name}': neither InRelease nor Release found under {dir}; check the URL and suite (flat repositories use suite \"/\")");
            if (verifier is null)
            {
                text = Encoding.UTF8.GetString(release);
            }
            else
            {
                var signature = await GetOptionalAsync(new Uri(dir, "Release.gpg"), ct).ConfigureAwait(false)
                    ?? throw new AirgapException(
                        $"repository '{repo.Name}': {dir} has a Release but neither InRelease nor Release.gpg, so it is unsigned; use a signed mirror, or give it no key in --repos and pass --allow-unsigned-repos");
                text = verifier.VerifyDetached(release, signature);
            }
        }
        return ReleaseFile.Parse(text, $"repository '{repo.Name}' Release");
    }

    private static bool HasIndex(ReleaseFile release, string prefix) =>
        Compressions.Any(c => release.Find(prefix + "Packages" + c) is not null);

    private async Task<IReadOnlyList<AptPackage>> LoadPackagesAsync(PackageRepository repo, ReleaseFile release, Uri dir, string prefix, string arch, CancellationToken ct)
    {
        var candidates = Compressions.Select(c => release.Find(prefix + "Packages" + c)).OfType<ReleaseEntry>().ToList();
        if (candidates.Count == 0)
            throw new AirgapException(release.Sha256Entries.Count == 0
                ? $"repository '{repo.Name}': its Release has no SHA256 checksums, so its indexes cannot be verified; use a mirror with a current Release"
                : $"repository '{repo.Name}': its Release lists no {prefix}Packages index; check the suite, component and --arch");

        for (var i = 0; i < candidates.Count; i++)
        {
            var entry = candidates[i];
            var plain = new Uri(dir, entry.Path);
            string path;
            try
            {
                path = await FetchIndexAsync(repo, release, dir, entry, ct).ConfigureAwait(false);
            }
            catch (AirgapException) when (i + 1 < candidates.Count)
            {
                // A partial mirror without this compression: apt too goes on to the next one. Anything else is an error.
                if (await IsMissingAsync(plain, ct).ConfigureAwait(false)) continue;
                throw;
            }
            var length = new FileInfo(path).Length;
            if (length != entry.Size)
                throw new AirgapException($"repository '{repo.Name}': {entry.Path} is {length} bytes, its signed Release says {entry.Size}; the mirror serves altered content");
            var key = (entry.Sha256, arch, repo.Name, repo.BaseUrl.AbsoluteUri);
            var parsed = _parsed.GetOrAdd(key, _ => new Lazy<IReadOnlyList<AptPackage>>(() => Parse(repo, path, entry.Path, arch)));
            try
            {
                return parsed.Value;
            }
            catch
            {
                _parsed.TryRemove(new(key, parsed));
                throw;
            }
        }
        throw new InvalidOperationException("unreachable: the last candidate either returns or throws");
    }

    /// <summary>
    /// Downloads one index into the cache. When the repository serves by-hash paths they are tried
    /// first: a mirror that updates between our InRelease and Packages requests would otherwise hand
    /// us a newer Packages that no longer matches (apt's "Hash Sum mismatch").
    /// </summary>
    private async Task<string> FetchIndexAsync(PackageRepository repo, ReleaseFile release, Uri dir, ReleaseEntry entry, CancellationToken ct)
    {
        var digest = Digest.FromHex(entry.Sha256);
        var label = $"{repo.Name} {entry.Path}";
        if (release.AcquireByHash)
        {
            var slash = entry.Path.LastIndexOf('/');
            var byHash = new Uri(dir, $"{entry.Path[..(slash + 1)]}by-hash/SHA256/{entry.Sha256}");
            try
            {
                return await _downloader.GetAsync(byHash, digest, label, ct).ConfigureAwait(false);
            }
            catch (AirgapException)
            {
                // Some mirrors announce by-hash but do not carry it; the plain path is checked against the same digest.
            }
        }
        try
        {
            return await _downloader.GetAsync(new Uri(dir, entry.Path), digest, label, ct).ConfigureAwait(false);
        }
        catch (AirgapException e) when (e.Message.Contains("expected", StringComparison.Ordinal))
        {
            throw new AirgapException(
                $"repository '{repo.Name}': {entry.Path} does not match the SHA256 in its signed Release: the mirror serves altered or half-synced content; retry later or use another mirror", e);
        }
    }

    private static IReadOnlyList<AptPackage> Parse(PackageRepository repo, string path, string indexPath, string arch)
    {
        var source = $"repository '{repo.Name}' {indexPath}";
        try
        {
            using var file = File.OpenRead(path);
            using var decompressed = Decompress(file, indexPath);
            using var reader = new StreamReader(decompressed, Encoding.UTF8);
            return AptIndex.ParsePackages(reader, repo, arch, source);
        }
        // The xz decoder throws its own exception types on bad data; anything but our own errors means "not decodable".
        catch (Exception e) when (e is not AirgapException)
        {
            throw new AirgapException($"{source} cannot be decompressed ({e.Message}) although its checksum matched; the repository publishes a broken index", e);
        }
    }

    private static Stream Decompress(Stream file, string path) =>
        path.EndsWith(".xz", StringComparison.Ordinal) ? new XZStream(file)
        : path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress)
        : file;

    private async Task<bool> IsMissingAsync(Uri uri, CancellationToken ct)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, uri);
            using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
            return response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone or HttpStatusCode.Forbidden;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>A small metadata file as bytes (signatures are checked over exact bytes), or null when the server says 404.</summary>
    private async Task<byte[]?> GetOptionalAsync(Uri uri, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                // S3-backed repositories answer 403 for a key that does not exist.
                if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone or HttpStatusCode.Forbidden) return null;
                if (((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests) && attempt < 4)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(400 * (1 << (attempt - 1))), ct).ConfigureAwait(false);
                    continue;
                }
                if (!response.IsSuccessStatusCode) throw new AirgapException($"{uri} answered HTTP {(int)response.StatusCode}; check the repository URL or the mirror");
                if (response.Content.Headers.ContentLength > MaxMetadataBytes)
                    throw new AirgapException($"{uri} is larger than {MaxMetadataBytes} bytes; it is not an apt Release file");
                return await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (!ct.IsCancellationRequested)
            {
                if (attempt >= 4) throw new AirgapException($"cannot download {uri}: {e.Message}; check the repository URL and the network", e);
                await Task.Delay(TimeSpan.FromMilliseconds(400 * (1 << (attempt - 1))), ct).ConfigureAwait(false);
            }
            catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
            {
                if (attempt >= 4) throw new AirgapException($"cannot download {uri}: timed out; check the repository URL and the network", e);
            }
        }
    }
}
