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
    }

    /// <summary>
    /// Removes partial blobs (HEX.PID.GUID) whose process is gone — a build killed mid-download — so a
    /// cache does not fill with orphans. A live process's partials are left alone (another build).
    /// </summary>
    internal static int SweepOrphans(string tmp)
    {
        var removed = 0;
        foreach (var file in Directory.EnumerateFiles(tmp))
        {
            var parts = Path.GetFileName(file).Split('.');
            if (parts.Length != 3 || !int.TryParse(parts[1], out var pid) || ProcessAlive(pid)) continue;
            try
            {
                File.Delete(file);
                removed++;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    /// <summary>Linux's view: a live process has /proc/PID (a reused PID keeps a file, which is the safe mistake).</summary>
    internal static bool ProcessAlive(int pid) => pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}");

    public static string DefaultRoot()
    {
        var explicitRoot = Environment.GetEnvironmentVariable("AIRGAP_CACHE");
        if (!string.IsNullOrEmpty(explicitRoot)) return explicitRoot;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var baseDir = !string.IsNullOrEmpty(xdg) ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(baseDir, "airgap");
    }

    public string PathOf(Digest digest) => Path.Combine(Root, "blobs", "sha256", digest.Hex);

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

    private async Task<bool> FetchAsync(Digest digest, long size, Func<string, CancellationToken, Task> fetch, CancellationToken ct)
    {
        if (Contains(digest, size)) return true;
        var tmp = Path.Combine(Root, "tmp", $"{digest.Hex}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        try
        {
            await fetch(tmp, ct).ConfigureAwait(false);
            var length = new FileInfo(tmp).Length;
            if (length != size)
                throw new AirgapException($"blob {digest} is {length} bytes, its manifest says {size}; refusing it");
            File.Move(tmp, PathOf(digest), overwrite: true);
            return false;
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Stores small content (manifests) that was already verified in memory.</summary>
    public async Task PutAsync(Digest digest, byte[] content, CancellationToken ct)
    {
        if (Contains(digest, content.Length)) return;
        await EnsureAsync(digest, content.Length, (tmp, c) => File.WriteAllBytesAsync(tmp, content, c), ct).ConfigureAwait(false);
    }
}
