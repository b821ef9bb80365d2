using System.Collections.Concurrent;
using Airgap.Artifacts;
using Airgap.Oci;

namespace Airgap.Packages;

/// <summary>Downloads resolved packages (.deb or .rpm) into the cache, each checked against its index's sha256 and size.</summary>
public static class PackageFiles
{
    /// <summary>Returns the cache path of each package by its file name.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> DownloadAsync(FileDownloader downloader, IReadOnlyList<ResolvedPackage> packages,
        int parallel, CancellationToken ct)
    {
        var paths = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(packages, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = ct }, async (p, c) =>
        {
            if (!Digest.IsHex64(p.Sha256))
                throw new AirgapException($"package {p.Name} {p.Version} from '{p.Repository}' has no SHA256 in its index; it cannot be verified, so it is refused");
            string path;
            try
            {
                path = await downloader.GetAsync(p.Url, Digest.FromHex(p.Sha256), $"download {p.FileName}", c).ConfigureAwait(false);
            }
            catch (AirgapException e)
            {
                throw new AirgapException($"package {p.Name} {p.Version} from '{p.Repository}': {e.Message}", e);
            }
            var length = new FileInfo(path).Length;
            if (p.Size >= 0 && length != p.Size)
                throw new AirgapException($"package {p.Name} {p.Version} from '{p.Repository}' is {length} bytes, its index says {p.Size}; refusing it");
            paths[p.FileName] = path;
        }).ConfigureAwait(false);
        return paths;
    }
}
