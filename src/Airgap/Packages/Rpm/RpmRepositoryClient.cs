using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Airgap.Artifacts;
using Airgap.Oci;

namespace Airgap.Packages.Rpm;

/// <summary>
/// Reads a yum repository the way dnf does, but trusting nothing unchecked: repomd.xml is verified
/// against repomd.xml.asc with the repository's key, primary.xml is fetched into the cache checked
/// against repomd's sha256 before it is decompressed, and its decompressed content against repomd's
/// open-checksum before any of it is used.
/// </summary>
public sealed class RpmRepositoryClient(FileDownloader downloader, IProgressSink progress)
{
    /// <summary>Lets a repository without a key (<see cref="PackageRepository.KeyFile"/> null) be read unverified.</summary>
    public bool AllowUnsigned { get; init; }

    /// <summary>The clock signing keys' expiry is judged by.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    public async Task<RpmRepositoryIndex> LoadAsync(PackageRepository repository, CancellationToken ct)
    {
        if (repository.Kind != RepositoryKind.Rpm)
            throw new AirgapException($"repository {repository.Name} is an {repository.Kind} repository, not rpm");
        var source = $"rpm repository {repository.Name} ({repository.BaseUrl})";
        var root = Root(repository);

        var repomdUri = new Uri(root, "repodata/repomd.xml");
        var repomdBytes = await downloader.TryGetBytesAsync(repomdUri, ct).ConfigureAwait(false)
            ?? throw new AirgapException($"{source}: {repomdUri} not found (HTTP 404); is this a yum repository URL?");
        var signingKey = await VerifyAsync(repository, root, repomdBytes, source, ct).ConfigureAwait(false);

        var repomd = Repomd.Parse(FileDownloader.Text(repomdBytes), source);
        var primary = repomd.Find("primary")
                      ?? throw new AirgapException($"{source}: repomd.xml lists no primary metadata; this is not a usable yum repository");
        if (primary.ChecksumType != "sha256")
            throw new AirgapException($"{source}: repomd.xml gives primary metadata a '{primary.ChecksumType}' checksum; airgap trusts sha256 only (createrepo_c --checksum sha256 writes it)");
        if (!Digest.TryParse("sha256:" + primary.Checksum, out var primaryDigest))
            throw new AirgapException($"{source}: repomd.xml gives primary metadata the checksum '{primary.Checksum}', which is not sha256 hex");

        string path;
        try
        {
            path = await downloader.GetAsync(new Uri(root, primary.LocationHref), primaryDigest, $"{repository.Name} primary metadata", ct).ConfigureAwait(false);
        }
        catch (AirgapException e)
        {
            throw new AirgapException($"{source}: primary metadata listed in its signed repomd.xml: {e.Message}", e);
        }
        var packages = await Task.Run(() => ReadPrimary(path, primary, source, ct), ct).ConfigureAwait(false);
        progress.Info($"{repository.Name}: {packages.Count} rpm packages" + (signingKey is null ? " (unsigned, allowed)" : $", metadata signed by key {signingKey}"));
        return new RpmRepositoryIndex(repository, packages, signingKey);
    }

    private async Task<string?> VerifyAsync(PackageRepository repository, Uri root, byte[] repomd, string source, CancellationToken ct)
    {
        if (repository.KeyFile is null)
        {
            if (AllowUnsigned)
            {
                progress.Warn($"{source}: no key given; its metadata is used without a signature check");
                return null;
            }
            throw new AirgapException($"{source} has no signing key; give its public key (the profile's key, --k8s-repo-key or `key:` in repos.yaml), or pass --allow-unsigned-repos to use it unverified");
        }
        byte[] signature;
        try
        {
            signature = await downloader.TryGetBytesAsync(new Uri(root, "repodata/repomd.xml.asc"), ct).ConfigureAwait(false)
                ?? throw new AirgapException("repodata/repomd.xml.asc not found (HTTP 404)");
        }
        catch (AirgapException e)
        {
            throw new AirgapException($"{source}: cannot fetch repodata/repomd.xml.asc, needed because the repository has a key ({e.Message})", e);
        }
        // Verified over the bytes as served: decoding first would drop a byte-order mark and break the signature.
        var keys = OpenPgpKeyRing.FromKeyFile(repository.KeyFile, source, Time.GetUtcNow, repository.Name);
        return keys.VerifyDetached(repomd, signature, "repomd.xml", "repomd.xml.asc");
    }

    private static List<RpmPackage> ReadPrimary(string path, RepomdData primary, string source, CancellationToken ct)
    {
        using var file = File.OpenRead(path);
        using var decompressed = Decompress(file, primary.LocationHref, source);
        using var sha = SHA256.Create();
        using var hashed = new CryptoStream(decompressed, sha, CryptoStreamMode.Read);
        List<RpmPackage> packages;
        try
        {
            packages = RpmPrimaryReader.Read(hashed, source, ct).ToList();
            hashed.CopyTo(Stream.Null);
        }
        catch (InvalidDataException e)
        {
            throw new AirgapException($"{source}: {primary.LocationHref} does not decompress: {e.Message}", e);
        }
        if (primary.OpenChecksumType == "sha256" && primary.OpenChecksum is { } open)
        {
            var actual = Convert.ToHexStringLower(sha.Hash!);
            if (actual != open)
                throw new AirgapException($"{source}: {primary.LocationHref} decompresses to sha256 {actual}, repomd.xml says {open}; refusing it");
        }
        return packages;
    }

    /// <summary>Chosen by the file's magic bytes, not its name: mirrors rename, content does not lie.</summary>
    private static Stream Decompress(FileStream file, string href, string source)
    {
        Span<byte> magic = stackalloc byte[6];
        var n = file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        file.Position = 0;
        magic = magic[..n];
        if (magic.StartsWith((ReadOnlySpan<byte>)[0x1f, 0x8b])) return new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
        var trimmed = magic.TrimStart((ReadOnlySpan<byte>)[0xef, 0xbb, 0xbf, (byte)' ', (byte)'\n', (byte)'\r', (byte)'\t']);
        if (trimmed.Length > 0 && trimmed[0] == (byte)'<') return file;
        // Current createrepo_c writes zstd (EL9 mirrors) and older ones xz: both streamed, never buffered whole.
        if (magic.StartsWith((ReadOnlySpan<byte>)[0x28, 0xb5, 0x2f, 0xfd]))
            return new SharpCompress.Compressors.ZStandard.DecompressionStream(file, leaveOpen: true);
        if (magic.StartsWith((ReadOnlySpan<byte>)[0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0]))
            return new SharpCompress.Compressors.Xz.XZStream(file);
        var kind = magic.StartsWith("BZh"u8) ? "bzip2" : "an unknown format";
        throw new AirgapException($"{source}: {href} is compressed with {kind}; airgap reads gzip, zstd, xz or plain primary metadata, so use a mirror that serves one of those");
    }

    internal static Uri Root(PackageRepository repository) => new(AsDirectory(repository.BaseUrl));

    internal static string AsDirectory(Uri uri)
    {
        var s = uri.ToString();
        return s.EndsWith('/') ? s : s + "/";
    }
}
