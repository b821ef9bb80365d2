using System.Collections.Concurrent;

namespace Airgap.Oci;

/// <summary>
/// Content-addressed store shared by builds (~/.cache/airgap/blobs/sha256/&lt;hex&gt;). A file only
/// appears under its digest after it was verified against it (written to a temporary name and
/// renamed), so concurrent builds and killed builds never leave a wrong file under a right name.
/// </summary>
public sealed class BlobCache
{
    private readonly ConcurrentDictionary<string, Lazy<Task<bool>>> _inFlight = new();

    public string Root { get; }

    public BlobCache(string root)
    {
        Root = root;
        Directory.CreateDirectory(Path.Combine(root, "blobs", "sha256"));
        Directory.CreateDirectory(Path.Combine(root, "tmp"));
        SweepOrphans(Path.Combine(root, "tmp"));
        // A build killed between putting a blob in place and removing its lock leaves the lock behind, and
        // nothing fetches that blob again to remove it.
        foreach (var lockPath in Directory.EnumerateFiles(Path.Combine(root, "tmp"), "*.partial.lock"))
            if (File.Exists(PathOf(Path.GetFileName(lockPath)[..^".partial.lock".Length])) && !File.Exists(lockPath[..^".lock".Length]))
                RemoveStaleLock(lockPath);
    }

    /// <summary>
    /// Removes private partial files (HEX.PID.GUID, plain downloads) whose process is gone — a build
    /// killed mid-download — so a cache does not fill with orphans. A live process's are left alone;
    /// blob partials (HEX.partial) are kept for the next fetch to continue.
    /// </summary>
    internal static long SweepOrphans(string tmp) =>
        Bundles.OrphanFiles.Remove(Directory.EnumerateFiles(tmp), name => name.Split('.') is [_, var pid, _] ? pid : null);

    public static string DefaultRoot()
    {
        var explicitRoot = Environment.GetEnvironmentVariable("AIRGAP_CACHE");
        if (!string.IsNullOrEmpty(explicitRoot)) return explicitRoot;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var baseDir = !string.IsNullOrEmpty(xdg) ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(baseDir, "airgap");
    }

    public string PathOf(Digest digest) => PathOf(digest.Hex);

    private string PathOf(string hex) => Path.Combine(Root, "blobs", "sha256", hex);

    public bool Contains(Digest digest, long size)
    {
        var info = new FileInfo(PathOf(digest));
        return info.Exists && info.Length == size;
    }

    /// <summary>
    /// Makes sure the blob is in the cache. <paramref name="fetch"/> writes and verifies it at the given
    /// temporary path. Concurrent callers for the same digest share one fetch. Returns true on a cache hit.
    /// </summary>
    public async Task<bool> EnsureAsync(Digest digest, long size, Func<string, CancellationToken, Task> fetch, CancellationToken ct)
    {
        if (Contains(digest, size)) return true;
        var lazy = _inFlight.GetOrAdd(digest.Hex, _ => new Lazy<Task<bool>>(() => FetchAsync(digest, size, fetch, ct)));
        try
        {
            return await lazy.Value.ConfigureAwait(false);
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, Lazy<Task<bool>>>(digest.Hex, lazy));
        }
    }

    /// <summary>
    /// One partial file per digest (tmp/HEX.partial), owned through a lock file: a killed build leaves
    /// the bytes it had, and the next fetch of that digest — in this build or another sharing the
    /// cache — continues from them (the fetcher hashes what is there before it asks for the rest).
    /// Two builds never write one partial at once: the second waits for the first's lock, then finds
    /// the blob done or takes the partial over. The kernel drops the lock of a killed process.
    /// </summary>
    private async Task<bool> FetchAsync(Digest digest, long size, Func<string, CancellationToken, Task> fetch, CancellationToken ct)
    {
        if (Contains(digest, size)) return true;
        var partial = Path.Combine(Root, "tmp", $"{digest.Hex}.partial");
        var lockPath = partial + ".lock";
        await using var held = await LockAsync(lockPath, () => Contains(digest, size), ct).ConfigureAwait(false);
        if (held is null) return true;
        var hit = Contains(digest, size);
        if (!hit)
        {
            if (File.Exists(partial) && new FileInfo(partial).Length > size) File.Delete(partial);
            await fetch(partial, ct).ConfigureAwait(false);
            var length = new FileInfo(partial).Length;
            if (length != size)
            {
                File.Delete(partial);
                throw new AirgapException($"blob {digest} is {length} bytes, its manifest says {size}; refusing it");
            }
            File.Move(partial, PathOf(digest), overwrite: true);
        }
        // Removed only once the blob is in place, while still held: whoever holds or takes a lock on this
        // digest from now on finds the blob and fetches nothing, so no two fetchers can ever overlap.
        File.Delete(lockPath);
        return hit;
    }

    /// <summary>Removes a lock while holding it, as its fetcher would have; one held by a live build is that build's to remove.</summary>
    private static void RemoveStaleLock(string lockPath)
    {
        if (!File.Exists(lockPath)) return;
        try
        {
            using var held = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1);
            File.Delete(lockPath);
        }
        catch (IOException)
        {
            // Held by a live build, or already gone.
        }
    }

    /// <summary>The lock on a partial, or null when <paramref name="done"/> became true while waiting for another build.</summary>
    private static async Task<FileStream?> LockAsync(string path, Func<bool> done, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                // FileShare.None is an exclusive flock on Linux: held until closed, or until the process dies.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
            }
            catch (IOException)
            {
                if (done()) return null;
                await Task.Delay(200, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>What the cache holds: finished blobs and files, partial downloads waiting to be continued, other leftovers.</summary>
    public CacheReport Report()
    {
        var blobs = new DirectoryInfo(Path.Combine(Root, "blobs", "sha256")).EnumerateFiles().ToList();
        var tmp = new DirectoryInfo(Path.Combine(Root, "tmp")).EnumerateFiles().ToList();
        var partials = tmp.Where(f => f.Name.EndsWith(".partial", StringComparison.Ordinal)).ToList();
        var others = tmp.Except(partials).Where(f => !f.Name.EndsWith(".lock", StringComparison.Ordinal)).ToList();
        return new CacheReport(Root, blobs.Count, blobs.Sum(f => f.Length), partials.Count, partials.Sum(f => f.Length), others.Count, others.Sum(f => f.Length));
    }

    /// <summary>
    /// Removes partial downloads no build is writing (their lock can be taken) and leftovers of dead
    /// processes; with <paramref name="all"/>, every finished blob too. Returns the bytes freed.
    /// </summary>
    public long Prune(bool all)
    {
        long freed = 0;
        var tmp = Path.Combine(Root, "tmp");
        foreach (var partial in Directory.EnumerateFiles(tmp, "*.partial"))
        {
            // A segment (HEX-N.partial) belongs to its blob's partial and is held by that one's lock.
            var name = Path.GetFileName(partial);
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            var lockPath = (dash > 0 ? Path.Combine(tmp, name[..dash] + ".partial") : partial) + ".lock";
            FileStream? held;
            try
            {
                held = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
            }
            catch (IOException)
            {
                continue; // a running build is continuing it
            }
            using (held)
            {
                freed += new FileInfo(partial).Length;
                File.Delete(partial);
                if (dash < 0 || !File.Exists(lockPath[..^".lock".Length])) File.Delete(lockPath);
            }
        }
        freed += SweepOrphans(tmp);
        if (!all) return freed;
        foreach (var blob in Directory.EnumerateFiles(Path.Combine(Root, "blobs", "sha256")))
        {
            freed += new FileInfo(blob).Length;
            File.Delete(blob);
        }
        return freed;
    }

    /// <summary>Stores small content (manifests) that was already verified in memory.</summary>
    public async Task PutAsync(Digest digest, byte[] content, CancellationToken ct)
    {
        if (Contains(digest, content.Length)) return;
        await EnsureAsync(digest, content.Length, (tmp, c) => File.WriteAllBytesAsync(tmp, content, c), ct).ConfigureAwait(false);
    }
}

/// <summary>The cache's contents by kind, as `airgap cache` shows them.</summary>
public sealed record CacheReport(string Root, int Blobs, long BlobBytes, int Partials, long PartialBytes, int Leftovers, long LeftoverBytes);
