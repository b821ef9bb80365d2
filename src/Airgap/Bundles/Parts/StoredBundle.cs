using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Airgap.Bundles.Parts;

/// <summary>
/// A bundle as it lies on disk: one .tar, or the parts <c>airgap split</c> (or <c>build --split-size</c>)
/// wrote with their index. Every reader opens the bundle through this, so a path naming the tar, its
/// index, one of its parts, or a .tar that is only present as parts all read as the same bytes, and the
/// parts are never joined on disk.
/// </summary>
public sealed class StoredBundle
{
    private StoredBundle(string path, long length, PartsIndex? index, string? indexPath)
    {
        Path = path;
        Length = length;
        Index = index;
        IndexPath = indexPath;
    }

    /// <summary>The tar, or the index of a split bundle.</summary>
    public string Path { get; }

    public long Length { get; }

    /// <summary>The parts and their digests; null for a plain tar.</summary>
    public PartsIndex? Index { get; }

    public string? IndexPath { get; }

    /// <summary>The files making up the bundle, in order: the tar alone, or every part.</summary>
    public IReadOnlyList<string> Files => Index is null ? [Path] : Index.Parts.Select(PartPath).ToList();

    public string PartPath(PartEntry part) => System.IO.Path.Combine(System.IO.Path.GetDirectoryName(IndexPath!)!, part.Name);

    /// <summary>The file name <see cref="Open"/> will read <paramref name="path"/> as (the tar's or the index's), without opening anything.</summary>
    public static string FileNameOf(string path)
    {
        var name = System.IO.Path.GetFileName(path);
        if (PartsIndex.BundleNameOfPart(name) is { } whole) return PartsIndex.IndexName(whole);
        return !name.EndsWith(PartsIndex.Extension, StringComparison.Ordinal) && !File.Exists(path) && File.Exists(path + PartsIndex.Extension)
            ? name + PartsIndex.Extension
            : name;
    }

    /// <summary>
    /// Finds what <paramref name="path"/> names. Parts are checked here only for presence and size
    /// (cheap, and the commonest transfer fault); their sha256 before their first byte is used.
    /// </summary>
    public static StoredBundle Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(full)!;
        var name = System.IO.Path.GetFileName(full);
        string? indexPath = null;
        if (name.EndsWith(PartsIndex.Extension, StringComparison.Ordinal) && File.Exists(full)) indexPath = full;
        else if (PartsIndex.BundleNameOfPart(name) is { } whole)
        {
            indexPath = System.IO.Path.Combine(directory, PartsIndex.IndexName(whole));
            if (!File.Exists(indexPath))
                throw new AirgapException($"{full} is a part of a split bundle, but its index {indexPath} is missing; copy {PartsIndex.IndexName(whole)} from the media next to the parts");
        }
        else if (File.Exists(full)) return new StoredBundle(full, FileLength(full), null, null);
        else if (File.Exists(full + PartsIndex.Extension)) indexPath = full + PartsIndex.Extension;
        else if (Directory.Exists(full)) throw new AirgapException($"{full} is a directory; give the bundle .tar, or the .parts index of a split bundle");
        else throw new AirgapException($"bundle {full} does not exist; give the .tar airgap build wrote, or the .parts index (or first part) of a split bundle");

        string text;
        try
        {
            var info = new FileInfo(indexPath);
            if (info.Length > 1 << 20) throw new AirgapException($"{indexPath} is too large to be a parts index; copy it again from the media");
            text = File.ReadAllText(indexPath);
        }
        catch (UnauthorizedAccessException)
        {
            throw new AirgapException($"{indexPath} cannot be read (permission denied); run as a user who can read it");
        }
        var index = PartsIndex.Parse(text, indexPath);
        var bundle = new StoredBundle(indexPath, index.BundleSize, index, indexPath);
        foreach (var part in index.Parts)
        {
            var partPath = bundle.PartPath(part);
            if (!File.Exists(partPath))
                throw new AirgapException($"part {partPath} is missing ({index.Parts.Count} parts make the bundle); copy it from the media next to {PartsIndex.IndexName(index.BundleName)}");
            var size = FileLength(partPath);
            if (size != part.Size)
                throw new AirgapException($"part {partPath} is {size} bytes, {PartsIndex.IndexName(index.BundleName)} says {part.Size}: it was cut short or damaged in transfer; copy it again from the media");
        }
        return bundle;
    }

    /// <summary>A stream of the whole bundle: seekable, so a tar reader skips members it does not need.</summary>
    public Stream OpenSequential()
    {
        if (Index is null)
        {
            try
            {
                return new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
            }
            catch (UnauthorizedAccessException)
            {
                throw new AirgapException($"bundle {Path} cannot be read (permission denied); run as a user who can read it");
            }
        }
        var source = OpenRandomAccess(FileOptions.SequentialScan);
        return new BufferedStream(new FileWindowStream(source, 0, Length, 0, ownsSource: true), 1 << 20);
    }

    /// <summary>Checks every part against the index now (parts already checked in this process are not read again).</summary>
    public async Task VerifyPartsAsync(CancellationToken ct)
    {
        if (Index is null) return;
        foreach (var part in Index.Parts)
        {
            using var handle = File.OpenHandle(PartPath(part), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            await VerifyPartAsync(part, handle, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Positional reads over the whole bundle; many readers may share it.</summary>
    public RandomAccessBundle OpenRandomAccess(FileOptions hint = FileOptions.RandomAccess) => new(this, hint);

    private static long FileLength(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (UnauthorizedAccessException)
        {
            throw new AirgapException($"{path} cannot be read (permission denied); run as a user who can read it");
        }
    }

    /// <summary>
    /// Hashes a part and compares it with the index; a part checked once in this process (same path,
    /// size and modification time) is not read again, since install opens the bundle many times.
    /// </summary>
    internal async ValueTask VerifyPartAsync(PartEntry part, Microsoft.Win32.SafeHandles.SafeFileHandle handle, CancellationToken ct)
    {
        var path = PartPath(part);
        var stamp = (part.Size, File.GetLastWriteTimeUtc(path), part.Sha256);
        if (Verified.TryGetValue(path, out var seen) && seen == stamp) return;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long offset = 0;
        while (true)
        {
            var n = await RandomAccess.ReadAsync(handle, buffer, offset, ct).ConfigureAwait(false);
            if (n == 0) break;
            hash.AppendData(buffer, 0, n);
            offset += n;
        }
        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        var indexName = PartsIndex.IndexName(Index!.BundleName);
        if (offset != part.Size)
            throw new AirgapException($"part {path} is {offset} bytes, {indexName} says {part.Size}: it was cut short or damaged in transfer; copy it again from the media");
        if (actual != part.Sha256)
            throw new AirgapException($"part {path} has sha256 {actual}, {indexName} says {part.Sha256}: it was damaged in transfer; copy it again from the media (sha256sum -c {indexName} checks every part)");
        Verified[path] = stamp;
    }

    private static readonly ConcurrentDictionary<string, (long, DateTime, string)> Verified = new(StringComparer.Ordinal);
}
