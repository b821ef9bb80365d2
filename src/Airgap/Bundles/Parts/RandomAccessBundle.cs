using Microsoft.Win32.SafeHandles;

namespace Airgap.Bundles.Parts;

/// <summary>
/// Positional reads over a bundle's bytes, whether one tar or many parts: a read that reaches into a
/// part first checks that part's sha256 against the index (once), so no byte of a damaged part is used.
/// Reads never cross a part boundary; callers loop until they have what they asked for, as with any stream.
/// </summary>
public sealed class RandomAccessBundle : IDisposable
{
    /// <summary>One file of the bundle; a part's handle is opened on first use, so reading one member opens only the parts it lies in.</summary>
    private sealed class Segment(long start, long length, string path, FileOptions hint, PartEntry? part) : IDisposable
    {
        private readonly Lazy<SafeFileHandle> handle = new(() => Open(path, hint), LazyThreadSafetyMode.ExecutionAndPublication);

        public long Start { get; } = start;
        public long Length { get; } = length;
        public SafeFileHandle Handle => handle.Value;
        public PartEntry? Part { get; } = part;
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public volatile bool Checked = part is null;

        public void Dispose()
        {
            if (handle.IsValueCreated) handle.Value.Dispose();
            Gate.Dispose();
        }
    }

    private readonly StoredBundle bundle;
    private readonly Segment[] segments;

    internal RandomAccessBundle(StoredBundle bundle, FileOptions hint)
    {
        this.bundle = bundle;
        if (bundle.Index is null)
        {
            // A plain tar is opened now, so a file that cannot be read fails here, as it always did.
            var whole = new Segment(0, bundle.Length, bundle.Path, hint, null);
            _ = whole.Handle;
            segments = [whole];
            return;
        }
        var opened = new List<Segment>();
        long start = 0;
        foreach (var part in bundle.Index.Parts)
        {
            opened.Add(new Segment(start, part.Size, bundle.PartPath(part), hint, part));
            start += part.Size;
        }
        segments = [.. opened];
    }

    public string Path => bundle.Path;

    public long Length => bundle.Length;

    private static SafeFileHandle Open(string path, FileOptions hint)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, hint);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new AirgapException($"{path} disappeared while the bundle was being read; copy it again from the media");
        }
        catch (UnauthorizedAccessException)
        {
            throw new AirgapException($"{path} cannot be read (permission denied); run as a user who can read it");
        }
    }

    private Segment At(long offset)
    {
        int lo = 0, hi = segments.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (segments[mid].Start <= offset) lo = mid;
            else hi = mid - 1;
        }
        return segments[lo];
    }

    public async ValueTask<int> ReadAsync(Memory<byte> buffer, long offset, CancellationToken ct)
    {
        if (offset >= Length || buffer.Length == 0) return 0;
        var segment = At(offset);
        if (!segment.Checked) await CheckAsync(segment, ct).ConfigureAwait(false);
        var n = (int)Math.Min(buffer.Length, segment.Start + segment.Length - offset);
        return await RandomAccess.ReadAsync(segment.Handle, buffer[..n], offset - segment.Start, ct).ConfigureAwait(false);
    }

    public int Read(Span<byte> buffer, long offset)
    {
        if (offset >= Length || buffer.Length == 0) return 0;
        var segment = At(offset);
        // Sync readers (a tar reader's sync path) are rare; the check itself is the async one.
        if (!segment.Checked) CheckAsync(segment, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var n = (int)Math.Min(buffer.Length, segment.Start + segment.Length - offset);
        return RandomAccess.Read(segment.Handle, buffer[..n], offset - segment.Start);
    }

    private async ValueTask CheckAsync(Segment segment, CancellationToken ct)
    {
        await segment.Gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (segment.Checked) return;
            await bundle.VerifyPartAsync(segment.Part!, segment.Handle, ct).ConfigureAwait(false);
            segment.Checked = true;
        }
        finally
        {
            segment.Gate.Release();
        }
    }

    public void Dispose()
    {
        foreach (var s in segments) s.Dispose();
    }
}
