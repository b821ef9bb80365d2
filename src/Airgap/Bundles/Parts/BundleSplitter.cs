using System.Security.Cryptography;

namespace Airgap.Bundles.Parts;

/// <summary>
/// Cuts a bundle into NAME.part-001… of a fixed size plus NAME.parts, for media smaller than the
/// bundle or gateways that cap file sizes. Streams with one buffer; every file is written under a
/// temporary name and renamed only when all are complete, the index last, so an interrupted split
/// leaves no part that looks usable.
/// </summary>
public static class BundleSplitter
{
    public const int MaxParts = 999;

    public sealed record Result(string IndexPath, PartsIndex Index, IReadOnlyList<string> PartPaths);

    /// <param name="outputDirectory">where the parts and index go (the medium itself, say); null: beside the bundle</param>
    public static async Task<Result> SplitAsync(string bundlePath, long partSize, IProgressSink progress, CancellationToken ct, string? outputDirectory = null)
    {
        if (partSize <= 0) throw new AirgapException($"a part size must be positive, not {partSize}");
        var stored = StoredBundle.Open(bundlePath);
        if (stored.Index is not null)
            throw new AirgapException($"{stored.Path} is already split into {stored.Index.Parts.Count} parts; split the whole .tar (or join the parts with cat) to cut it differently");
        var source = stored.Path;
        var length = stored.Length;
        if (length == 0) throw new AirgapException($"{source} is empty; it is not a bundle");
        var count = (int)((length + partSize - 1) / partSize);
        if (count > MaxParts)
            throw new AirgapException($"{source} ({length} bytes) in parts of {partSize} bytes would make {count} parts, at most {MaxParts} are allowed; give a size of at least {Mebibytes((length + MaxParts - 1) / MaxParts)}M");

        var directory = outputDirectory is null ? Path.GetDirectoryName(source)! : Path.GetFullPath(outputDirectory);
        if (!Directory.Exists(directory)) throw new AirgapException($"{directory} does not exist; create it (or mount the medium) first");
        var name = Path.GetFileName(source);
        RemoveOrphans(directory, name);
        var temporaries = new List<string>();
        string Temporary(string file) => Path.Combine(directory, $".{file}.{Environment.ProcessId}.partial");
        try
        {
            var parts = new List<PartEntry>();
            using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var partHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 20];
            var id = "split " + source;
            progress.TransferStarted(id, $"split {name}", length);
            await using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous))
            {
                for (var number = 1; number <= count; number++)
                {
                    var partName = PartsIndex.PartName(name, number);
                    var temporary = Temporary(partName);
                    temporaries.Add(temporary);
                    var want = Math.Min(partSize, length - (number - 1) * partSize);
                    long written = 0;
                    await using (var output = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
                    {
                        while (written < want)
                        {
                            var n = await input.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, want - written)), ct).ConfigureAwait(false);
                            if (n == 0) throw new AirgapException($"{source} got shorter while it was being split; split it again when nothing writes to it");
                            whole.AppendData(buffer, 0, n);
                            partHash.AppendData(buffer, 0, n);
                            await output.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                            written += n;
                            progress.TransferAdvanced(id, n);
                        }
                    }
                    parts.Add(new PartEntry(partName, written, Convert.ToHexStringLower(partHash.GetHashAndReset())));
                }
                if (await input.ReadAsync(buffer.AsMemory(0, 1), ct).ConfigureAwait(false) != 0)
                    throw new AirgapException($"{source} grew while it was being split; split it again when nothing writes to it");
            }
            progress.TransferFinished(id, fromCache: false);

            var index = new PartsIndex(name, length, Convert.ToHexStringLower(whole.GetHashAndReset()), parts);
            var indexPath = Path.Combine(directory, PartsIndex.IndexName(name));
            var indexTemporary = Temporary(PartsIndex.IndexName(name));
            temporaries.Add(indexTemporary);
            await File.WriteAllTextAsync(indexTemporary, index.Format(), ct).ConfigureAwait(false);

            // An old index would vouch for parts that are about to change: it goes first, the new one comes last.
            File.Delete(indexPath);
            var partPaths = new List<string>();
            for (var i = 0; i < parts.Count; i++)
            {
                var target = Path.Combine(directory, parts[i].Name);
                File.Move(temporaries[i], target, overwrite: true);
                partPaths.Add(target);
            }
            // Parts beyond this split's count are an earlier split's: nothing names them any more.
            for (var number = parts.Count + 1; File.Exists(Path.Combine(directory, PartsIndex.PartName(name, number))); number++)
                File.Delete(Path.Combine(directory, PartsIndex.PartName(name, number)));
            File.Move(indexTemporary, indexPath, overwrite: true);
            return new Result(indexPath, index, partPaths);
        }
        finally
        {
            foreach (var temporary in temporaries) if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    private static long Mebibytes(long bytes) => (bytes + (1 << 20) - 1) >> 20;

    /// <summary>Temporary parts of killed splits of this bundle (their process is gone).</summary>
    private static void RemoveOrphans(string directory, string bundleName)
    {
        var prefix = $".{bundleName}.part";
        OrphanFiles.Remove(Directory.EnumerateFiles(directory, prefix + "*.partial"), file =>
        {
            var stem = file[..^".partial".Length];
            return stem[(stem.LastIndexOf('.') + 1)..];
        });
    }
}
