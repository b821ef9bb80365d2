using Airgap.Bundles;
using Airgap.Oci;

namespace Airgap.Tests.Bundles;

/// <summary>What a killed build leaves — partial blobs in the cache, a partial bundle beside the output — goes with the next run; a live build's stays.</summary>
public sealed class OrphanSweepTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("airgap-orphans-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    // Above Linux's pid_max (4194304): never a live process.
    private const int Dead = 4194305;

    [Fact]
    public void The_cache_removes_partial_blobs_of_dead_processes_when_opened()
    {
        var tmp = Path.Combine(work, "cache", "tmp");
        Directory.CreateDirectory(tmp);
        var orphan = Path.Combine(tmp, $"{new string('a', 64)}.{Dead}.{Guid.NewGuid():N}");
        var live = Path.Combine(tmp, $"{new string('b', 64)}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        File.WriteAllBytes(orphan, new byte[1024]);
        File.WriteAllBytes(live, new byte[1024]);

        _ = new BlobCache(Path.Combine(work, "cache"));

        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(live));
    }

    [Fact]
    public async Task Writing_a_bundle_removes_partial_copies_of_it_left_by_killed_builds()
    {
        var output = Path.Combine(work, "out");
        Directory.CreateDirectory(output);
        var orphan = Path.Combine(output, $".b.tar.{Dead}.partial");
        var other = Path.Combine(output, $".other.tar.{Dead}.partial");
        File.WriteAllBytes(orphan, new byte[4096]);
        File.WriteAllBytes(other, new byte[16]);

        await BundleWriter.WriteAsync(Path.Combine(output, "b.tar"), new BundleDocument { Name = "b", Kubernetes = "v1.20.2", Arch = "amd64" },
            [BundleMember.FromBytes("manifests/x.yml", "x: 1\n"u8.ToArray())], NullProgress.Instance, default);

        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(other)); // another bundle's partial: its own build removes it
        Assert.Equal([".other.tar.4194305.partial", "b.tar"], Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}

public sealed class CachePruneTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("airgap-prune-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    [Fact]
    public void Prune_frees_partials_nobody_continues_and_leftovers_and_with_all_the_blobs()
    {
        var cache = new BlobCache(work);
        File.WriteAllBytes(cache.PathOf(Digest.Parse("sha256:" + new string('a', 64))), new byte[100]);
        var idle = Path.Combine(work, "tmp", new string('b', 64) + ".partial");
        var busy = Path.Combine(work, "tmp", new string('c', 64) + ".partial");
        var leftover = Path.Combine(work, "tmp", $"{new string('d', 64)}.4194305.{Guid.NewGuid():N}");
        File.WriteAllBytes(idle, new byte[10]);
        File.WriteAllBytes(busy, new byte[20]);
        File.WriteAllBytes(leftover, new byte[5]);
        Assert.Equal(new CacheReport(work, 1, 100, 2, 30, 1, 5), cache.Report());

        // A build holds the lock of the busy one: it is being continued right now.
        using (new FileStream(busy + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
            Assert.Equal(15, cache.Prune(all: false));

        Assert.False(File.Exists(idle));
        Assert.False(File.Exists(leftover));
        Assert.True(File.Exists(busy));
        Assert.Equal(120, cache.Prune(all: true));
        Assert.Equal(new CacheReport(work, 0, 0, 0, 0, 0, 0), cache.Report());
    }
}
