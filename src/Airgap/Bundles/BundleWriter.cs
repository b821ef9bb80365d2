using System.Security.Cryptography;
using System.Text;

namespace Airgap.Bundles;

/// <summary>
/// One member of a bundle: its path, size, the sha256 it must have, and how to open it. The hash is
/// known before writing (blobs are named by it, small files are hashed in memory) so SHA256SUMS can be
/// the second member and a reader can check as it streams.
/// </summary>
public sealed record BundleMember(string Path, long Size, string Sha256, Func<Stream> Open, int Mode = 0x1A4 /* 0644 */)
{
    /// <summary>Awaited before <see cref="Open"/>: lets the writer start while downloads are still running.</summary>
    public Func<Task>? Ready { get; init; }

    /// <summary>
    /// True (asked after <see cref="Ready"/>) when this process downloaded and verified the content
    /// itself; the writer then copies without hashing again. Cache hits from earlier builds are hashed.
    /// </summary>
    public Func<bool>? VerifiedThisRun { get; init; }

    /// <summary>
    /// In a delta: the member's path in the base, which carries these bytes. The member is listed in
    /// bundle.yaml (with this path as its base) but neither written nor opened, nor in SHA256SUMS.
    /// </summary>
    public string? FromBase { get; init; }

    public static BundleMember FromBytes(string path, byte[] content, int mode = 0x1A4) =>
        new(path, content.Length, Convert.ToHexStringLower(SHA256.HashData(content)), () => new MemoryStream(content, writable: false), mode);

    public static BundleMember FromFile(string path, string file, string sha256, long size, int mode = 0x1A4) =>
        new(path, size, sha256, () => new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan), mode);
}

/// <summary>
/// Writes a bundle tar: bundle.yaml, SHA256SUMS, bundle.yaml.sig when signing, then every member sorted
/// by path, with fixed owners and times, so the same inputs give the same bytes. The signature is in
/// neither bundle.yaml nor SHA256SUMS (it signs them), so signing adds one member and changes no other. Written under a temporary name and renamed
/// only when complete and verified; on any failure nothing is left behind.
/// </summary>
public static class BundleWriter
{
    /// <summary>Partial bundles of this name left by builds that were killed (their process is gone); a running build's stays.</summary>
    internal static long RemoveOrphans(string directory, string fileName)
    {
        var prefix = $".{fileName}.";
        return OrphanFiles.Remove(Directory.EnumerateFiles(directory, prefix + "*.partial"), name => name[prefix.Length..^".partial".Length]);
    }

    public static async Task WriteAsync(string destination, BundleDocument document, IReadOnlyList<BundleMember> members,
        IProgressSink progress, CancellationToken ct, BundleSigningKey? signer = null)
    {
        var duplicates = members.GroupBy(m => m.Path).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0) throw new AirgapException($"bundle would contain {duplicates[0]} twice; this is a bug in airgap");
        foreach (var m in members) BundlePaths.Validate(m.Path);

        var sorted = members.OrderBy(m => m.Path, StringComparer.Ordinal).ToList();
        document.Files = sorted.Select(m => new BundleFile { Path = m.Path, Sha256 = m.Sha256, Size = m.Size, Base = m.FromBase }).ToList();
        // SHA256SUMS covers what this tar holds, so `sha256sum -c` works on it alone; bundle.yaml covers the whole.
        sorted = sorted.Where(m => m.FromBase is null).ToList();
        var yamlBytes = Encoding.UTF8.GetBytes(document.ToYaml());
        var yaml = BundleMember.FromBytes(BundleDocument.FileName, yamlBytes);
        var sums = new StringBuilder();
        foreach (var m in new[] { yaml }.Concat(sorted).OrderBy(m => m.Path, StringComparer.Ordinal))
            sums.Append(m.Sha256).Append("  ").Append(m.Path).Append('\n');
        var sumsMember = BundleMember.FromBytes(BundleDocument.SumsFileName, Encoding.ASCII.GetBytes(sums.ToString()));
        List<BundleMember> head = [yaml, sumsMember];
        if (signer is not null) head.Add(BundleMember.FromBytes(BundleSignature.FileName, signer.Sign(yamlBytes)));

        var directory = Path.GetDirectoryName(Path.GetFullPath(destination))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(destination)}.{Environment.ProcessId}.partial");
        RemoveOrphans(directory, Path.GetFileName(destination));
        try
        {
            await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                var tar = new TarArchiveWriter(file);
                var progressId = "write " + destination;
                progress.TransferStarted(progressId, $"write {Path.GetFileName(destination)}", sorted.Sum(m => m.Size));
                foreach (var member in head.Concat(sorted))
                {
                    if (member.Ready is not null) await member.Ready().ConfigureAwait(false);
                    progress.TransferAdvanced(progressId, member.Size);
                    await using var source = member.Open();
                    var verified = member.VerifiedThisRun?.Invoke() ?? false;
                    var hash = await tar.WriteFileAsync(member.Path, source, member.Size, member.Mode, ct, hash: !verified).ConfigureAwait(false);
                    if (hash is not null && Convert.ToHexStringLower(hash) is var actual && actual != member.Sha256)
                        throw new AirgapException($"{member.Path} has sha256 {actual}, expected {member.Sha256}: the blob cache is damaged; remove {BundlePaths.CacheHint} and build again");
                }
                await tar.FinishAsync(ct).ConfigureAwait(false);
                // No fsync: on slow disks a full writeback doubles build time, and a bundle is only
                // ever used after verification, which catches a file a crash left short.
                await file.FlushAsync(ct).ConfigureAwait(false);
                progress.TransferFinished(progressId, fromCache: false);
            }
            File.Move(temporary, destination, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
