using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Airgap.Oci;

namespace Airgap.Bundles;

public sealed record VerifyReport(BundleDocument Document, int Members, long Bytes, int Images, int Blobs, SignatureStatus Signature);

/// <summary>
/// Reads bundles as a stream, member by member, never extracting to disk: verification hashes every
/// member once and checks it against SHA256SUMS, bundle.yaml and (for blobs) its own name.
/// </summary>
public static class BundleReader
{
    // Manifests, configs and index files are small; layers are not. Keeping only small members in
    // memory lets the structural checks run without a second pass and without memory that grows with layers.
    private const long SmallMember = 1 << 20;
    private const long MaxDocument = 64 << 20;

    /// <summary>Reads bundle.yaml only: it is the first member, so this is quick even for large bundles.</summary>
    public static async Task<BundleDocument> ReadDocumentAsync(string bundlePath, CancellationToken ct)
    {
        await using var file = Open(bundlePath);
        var reader = new TarReader(file);
        try
        {
            while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
            {
                CheckEntry(bundlePath, entry);
                if (entry.Name != BundleDocument.FileName) continue;
                var text = await ReadTextAsync(bundlePath, entry, ct).ConfigureAwait(false);
                return BundleDocument.Parse(text, bundlePath);
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw Damaged(bundlePath, e);
        }
        throw new AirgapException($"{bundlePath} has no bundle.yaml: it is not an airgap bundle");
    }

    /// <summary>
    /// bundle.yaml's bytes and bundle.yaml.sig's (null when there is none). The writer puts both before
    /// any other member but SHA256SUMS, so reading stops at the first other member: a signature moved
    /// further in counts as missing, which fails closed.
    /// </summary>
    public static async Task<(byte[] Yaml, byte[]? Signature)> ReadSignedDocumentAsync(string bundlePath, CancellationToken ct)
    {
        await using var file = Open(bundlePath);
        var reader = new TarReader(file);
        byte[]? yaml = null;
        byte[]? signature = null;
        try
        {
            while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
            {
                CheckEntry(bundlePath, entry);
                if (entry.Name is not (BundleDocument.FileName or BundleDocument.SumsFileName or BundleSignature.FileName)) break;
                if (entry.Name == BundleDocument.SumsFileName) continue;
                var bytes = await ReadBytesAsync(bundlePath, entry, ct).ConfigureAwait(false);
                if (entry.Name == BundleDocument.FileName) yaml = bytes;
                else signature = bytes;
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw Damaged(bundlePath, e);
        }
        return (yaml ?? throw new AirgapException($"{bundlePath} has no bundle.yaml: it is not an airgap bundle"), signature);
    }

    /// <summary>
    /// Streams the bundle once and checks every member; bundle.yaml's signature is checked against
    /// <paramref name="trust"/> before anything bundle.yaml says is relied on.
    /// </summary>
    /// <remarks>
    /// For a delta (<see cref="BundleSet.BasePath"/>), the base is streamed after it and the members the
    /// delta leaves to it are hashed there and checked against the delta's (new) bundle.yaml, as if the
    /// delta held them; the base's other members are skipped unread.
    /// </remarks>
    /// <summary>One member read to its end: its sha256 and length (a short read is an error), and its bytes when asked to keep them.</summary>
    private static async Task<(string Sha256, long Length, byte[]? Kept)> HashEntryAsync(TarEntry entry, byte[] buffer, bool keep, Action<int> advanced, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var kept = keep ? new MemoryStream((int)entry.Length) : null;
        long length = 0;
        if (entry.DataStream is { } data)
        {
            int n;
            while ((n = await data.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                kept?.Write(buffer, 0, n);
                length += n;
                advanced(n);
            }
        }
        if (length != entry.Length) throw new EndOfStreamException($"{entry.Name} ends after {length} of {entry.Length} bytes");
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), length, kept?.ToArray());
    }

    public static async Task<VerifyReport> VerifyAsync(BundleSet bundle, IProgressSink progress, BundleTrust trust, CancellationToken ct)
    {
        var bundlePath = bundle.Path;
        var hashes = new Dictionary<string, (string Sha256, long Size)>(StringComparer.Ordinal);
        var small = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string? sumsText = null;
        string? yamlText = null;
        long total = 0;
        await using (var file = Open(bundlePath))
        {
            progress.TransferStarted("verify", $"verify {Path.GetFileName(bundlePath)}", file.Length);
            var reader = new TarReader(file);
            var buffer = new byte[256 * 1024];
            try
            {
                while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
                {
                    CheckEntry(bundlePath, entry);
                    if (hashes.ContainsKey(entry.Name))
                        throw new AirgapException($"{bundlePath}: member {entry.Name} appears twice; the bundle was tampered with, build it again");
                    var isDocument = entry.Name is BundleDocument.FileName or BundleDocument.SumsFileName or BundleSignature.FileName;
                    if (isDocument && entry.Length > MaxDocument)
                        throw new AirgapException($"{bundlePath}: {entry.Name} is implausibly large ({entry.Length} bytes); the bundle is damaged");
                    var (sha, length, kept) = await HashEntryAsync(entry, buffer, keep: entry.Length <= SmallMember || isDocument, n => progress.TransferAdvanced("verify", n), ct).ConfigureAwait(false);
                    hashes[entry.Name] = (sha, length);
                    total += length;
                    if (kept is not null) small[entry.Name] = kept;
                    if (entry.Name == BundleDocument.SumsFileName) sumsText = Encoding.UTF8.GetString(small[entry.Name]);
                    if (entry.Name == BundleDocument.FileName) yamlText = Encoding.UTF8.GetString(small[entry.Name]);

                    const string blobPrefix = "images/blobs/sha256/";
                    if (entry.Name.StartsWith(blobPrefix, StringComparison.Ordinal) && entry.Name[blobPrefix.Length..] != sha)
                        throw new AirgapException($"{bundlePath}: blob {entry.Name} has sha256 {sha}; the bundle is corrupt, build or copy it again");
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException)
            {
                throw Damaged(bundlePath, e);
            }
        }
        progress.TransferFinished("verify", fromCache: false);

        if (yamlText is null) throw new AirgapException($"{bundlePath} has no bundle.yaml: it is not an airgap bundle");
        // First, so that an altered bundle.yaml is named as what it is (a bad signature), not as a checksum mismatch.
        var signature = BundleSignature.Check(bundlePath, small[BundleDocument.FileName], small.GetValueOrDefault(BundleSignature.FileName), trust);
        if (sumsText is null) throw new AirgapException($"{bundlePath} has no SHA256SUMS: it is not a complete airgap bundle, build it again");
        var document = BundleDocument.Parse(yamlText, bundlePath);
        // The layout refuses a delta without its base, a wrong base and a base given to a full bundle.
        var layout = document.Base is null && bundle.BasePath is null ? null : new BundleLayout(bundlePath, bundle.BasePath, document);
        if (bundle.BasePath is { } basePath)
        {
            if (document.Base is null) throw BundleDelta.BaseForFullBundle(bundlePath, document, basePath);
            total += await HashBaseAsync(bundlePath, basePath, document, layout!, hashes, small, progress, ct).ConfigureAwait(false);
        }
        else if (document.Base is { } expected) throw BundleDelta.BaseMissing(bundlePath, expected);

        var sums = ParseSums(bundlePath, sumsText);
        foreach (var (path, sha) in sums)
        {
            if (!hashes.TryGetValue(path, out var actual))
                throw new AirgapException($"{bundlePath}: {path} is listed in SHA256SUMS but missing; the bundle is incomplete, copy it again");
            if (actual.Sha256 != sha)
                throw new AirgapException($"{bundlePath}: {path} has sha256 {actual.Sha256}, SHA256SUMS says {sha}; the bundle is corrupt, copy it again");
        }
        // The signature cannot be listed in what it signs; it is checked above instead.
        var carried = layout?.FromBase.Select(f => f.Path).ToHashSet(StringComparer.Ordinal) ?? [];
        var unlisted = hashes.Keys.FirstOrDefault(k => k is not (BundleDocument.SumsFileName or BundleSignature.FileName) && !sums.ContainsKey(k) && !carried.Contains(k));
        if (unlisted is not null)
            throw new AirgapException($"{bundlePath}: {unlisted} is not covered by SHA256SUMS; the bundle was altered after it was built");
        foreach (var f in document.Files)
        {
            if (!hashes.TryGetValue(f.Path, out var actual) || actual.Sha256 != f.Sha256 || actual.Size != f.Size)
                throw f.Base is null
                    ? new AirgapException($"{bundlePath}: {f.Path} does not match bundle.yaml (sha256 or size); the bundle is corrupt")
                    : new AirgapException($"{bundle.BasePath}: {f.Base} (the delta's {f.Path}) does not match the delta's bundle.yaml (sha256 or size); the base is corrupt, copy it again");
        }

        var (images, blobs) = CheckImages(bundlePath, document, small, hashes);
        return new VerifyReport(document, hashes.Count, total, images, blobs, signature);
    }

    /// <summary>
    /// Streams the base: its bundle.yaml must be the one the delta names, and each member the delta leaves
    /// to it is hashed and entered under its name in the new bundle, for the checks against bundle.yaml.
    /// </summary>
    private static async Task<long> HashBaseAsync(string deltaPath, string basePath, BundleDocument delta, BundleLayout layout,
        Dictionary<string, (string Sha256, long Size)> hashes, Dictionary<string, byte[]> small, IProgressSink progress, CancellationToken ct)
    {
        var wanted = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var f in layout.FromBase)
        {
            if (hashes.ContainsKey(f.Path))
                throw new AirgapException($"{deltaPath}: {f.Path} is in the delta although bundle.yaml leaves it to the base; the bundle was altered, build it again");
            (wanted.TryGetValue(f.Base!, out var names) ? names : wanted[f.Base!] = []).Add(f.Path);
        }
        var id = "verify " + basePath;
        var expectedBytes = layout.FromBase.Sum(f => f.Size);
        progress.TransferStarted(id, $"verify {Path.GetFileName(basePath)} (base)", expectedBytes);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long total = 0;
        var yamlChecked = false;
        await using (var file = Open(basePath))
        {
            var reader = new TarReader(file);
            var buffer = new byte[256 * 1024];
            try
            {
                while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
                {
                    CheckEntry(basePath, entry);
                    if (entry.Name == BundleDocument.FileName && !yamlChecked)
                    {
                        BundleDelta.CheckBase(deltaPath, delta, basePath, await ReadBytesAsync(basePath, entry, ct).ConfigureAwait(false));
                        yamlChecked = true;
                        continue;
                    }
                    if (!wanted.TryGetValue(entry.Name, out var names)) continue;
                    if (!seen.Add(entry.Name))
                        throw new AirgapException($"{basePath}: member {entry.Name} appears twice; the base was tampered with");
                    var (sha, length, kept) = await HashEntryAsync(entry, buffer, keep: entry.Length <= SmallMember, n => progress.TransferAdvanced(id, n), ct).ConfigureAwait(false);
                    foreach (var name in names)
                    {
                        hashes[name] = (sha, length);
                        if (kept is not null) small[name] = kept;
                    }
                    total += length * names.Count;
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException)
            {
                throw Damaged(basePath, e);
            }
        }
        progress.TransferFinished(id, fromCache: false);
        if (!yamlChecked) throw new AirgapException($"{basePath} has no bundle.yaml: it is not an airgap bundle, so it cannot be the base of {deltaPath}");
        var missing = wanted.Keys.FirstOrDefault(k => !seen.Contains(k));
        if (missing is not null)
            throw new AirgapException($"{basePath}: {missing} is missing, and the delta {Path.GetFileName(deltaPath)} needs it from its base; copy the base again");
        return total;
    }

    private static (int Images, int Blobs) CheckImages(string bundlePath, BundleDocument document,
        Dictionary<string, byte[]> small, Dictionary<string, (string Sha256, long Size)> hashes)
    {
        if (document.Images.Count == 0) return (0, 0);
        if (!small.TryGetValue("images/index.json", out var indexBytes))
            throw new AirgapException($"{bundlePath}: images/index.json is missing; the bundle is incomplete");
        var index = ManifestJson.Read<ImageIndex>(indexBytes, $"{bundlePath}: images/index.json");
        var referenced = new HashSet<string>();
        void CheckManifest(Descriptor entry, byte[] manifestBytes)
        {
            var manifest = ManifestJson.Read<ImageManifest>(manifestBytes, $"{bundlePath}: manifest {entry.Digest}");
            foreach (var blob in manifest.Layers.Append(manifest.Config))
            {
                var path = "images/" + OciLayout.BlobPath(blob.ParsedDigest);
                if (!hashes.TryGetValue(path, out var actual) || actual.Size != blob.Size)
                    throw new AirgapException($"{bundlePath}: blob {blob.Digest} of manifest {entry.Digest} is missing or has the wrong size");
                referenced.Add(path);
            }
        }
        byte[] Document(Descriptor entry, string what)
        {
            var path = "images/" + OciLayout.BlobPath(entry.ParsedDigest);
            if (!small.TryGetValue(path, out var bytes))
                throw new AirgapException($"{bundlePath}: {what} {entry.Digest} is missing");
            referenced.Add(path);
            return bytes;
        }
        foreach (var entry in index.Manifests)
        {
            var bytes = Document(entry, "manifest named in images/index.json");
            if (!MediaTypes.IsIndex(entry.MediaType))
            {
                CheckManifest(entry, bytes);
                continue;
            }
            // A multi-arch index is kept byte-exact: it lists every platform upstream has, the bundle holds its own.
            var list = ManifestJson.Read<ImageIndex>(bytes, $"{bundlePath}: index {entry.Digest}");
            var own = list.Manifests.Where(m => m.Platform is { } p && p.Matches(Platform.Linux(document.Arch)) && MediaTypes.IsManifest(m.MediaType)
                                                && small.ContainsKey("images/" + OciLayout.BlobPath(m.ParsedDigest))).ToList();
            if (own.Count == 0)
                throw new AirgapException($"{bundlePath}: the linux/{document.Arch} manifest of index {entry.Digest} is missing; the bundle is damaged");
            foreach (var child in own) CheckManifest(child, Document(child, $"linux/{document.Arch} manifest of index {entry.Digest}"));
        }
        foreach (var image in document.Images)
        {
            if (!index.Manifests.Any(m => m.Digest == image.TargetDigest &&
                    m.Annotations?.GetValueOrDefault(OciLayout.ContainerdNameAnnotation) == image.Name))
                throw new AirgapException($"{bundlePath}: image {image.Name} from bundle.yaml is not in images/index.json");
        }
        return (document.Images.Count, referenced.Count);
    }

    internal static Dictionary<string, string> ParseSums(string where, string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            if (raw.Length == 0) continue;
            // sha256sum writes "HASH  NAME" (text mode) or "HASH *NAME" (binary mode).
            if (raw.Length < 67 || raw[64] != ' ' || (raw[65] != ' ' && raw[65] != '*') || !Digest.IsHex64(raw[..64]))
                throw new AirgapException($"{where}: SHA256SUMS has a malformed line \"{Truncate(raw)}\"; the bundle is corrupt");
            var path = raw[66..];
            BundlePaths.Validate(path);
            result[path] = raw[..64];
        }
        return result;
    }

    private static string Truncate(string s) => s.Length > 80 ? s[..80] + "…" : s;

    internal static void CheckEntry(string bundlePath, TarEntry entry)
    {
        if (!BundlePaths.IsSafe(entry.Name, out var why))
            throw new AirgapException($"{bundlePath}: member \"{Truncate(entry.Name)}\" is unsafe ({why}); refusing the bundle");
        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            throw new AirgapException($"{bundlePath}: member \"{Truncate(entry.Name)}\" is a {entry.EntryType}, bundles hold only regular files; refusing the bundle");
    }

    private static async Task<string> ReadTextAsync(string bundlePath, TarEntry entry, CancellationToken ct) =>
        Encoding.UTF8.GetString(await ReadBytesAsync(bundlePath, entry, ct).ConfigureAwait(false));

    private static async Task<byte[]> ReadBytesAsync(string bundlePath, TarEntry entry, CancellationToken ct)
    {
        if (entry.Length > MaxDocument) throw new AirgapException($"{bundlePath}: {entry.Name} is implausibly large");
        using var memory = new MemoryStream();
        if (entry.DataStream is not null) await entry.DataStream.CopyToAsync(memory, ct).ConfigureAwait(false);
        if (memory.Length != entry.Length) throw new EndOfStreamException($"{entry.Name} is cut short");
        return memory.ToArray();
    }

    /// <summary>The tar, or a split bundle's parts read as one stream (each part checked against its index before use).</summary>
    internal static Stream Open(string bundlePath) => Parts.StoredBundle.Open(bundlePath).OpenSequential();

    private static AirgapException Damaged(string bundlePath, Exception e) =>
        new($"{bundlePath} is truncated or not a tar archive ({e.Message.Split('\n')[0]}); copy the bundle again or build a new one", e);
}

/// <summary>Copies parts of a bundle out of it as a stream, never the whole bundle at once.</summary>
public static class BundleExtractor
{
    /// <summary>
    /// Writes every member under <paramref name="prefix"/> into <paramref name="directory"/>, keeping the path
    /// below the prefix. Names were checked safe by the reader; the target is checked again to stay inside.
    /// </summary>
    /// <remarks>
    /// Each member is hashed as it is written and checked against <paramref name="expectedSha256"/>
    /// (bundle.yaml's list), so what lands on disk is what was verified, even if the file changed since.
    /// For a delta, the members under the prefix that its base carries are then written from the base,
    /// under their names in the new bundle and checked against the same list.
    /// </remarks>
    public static async Task<int> ExtractAsync(BundleSet bundle, string prefix, string directory,
        IReadOnlyDictionary<string, string> expectedSha256, CancellationToken ct)
    {
        var bundlePath = bundle.Path;
        var layout = await bundle.LayoutAsync(ct).ConfigureAwait(false);
        var root = Path.GetFullPath(directory) + Path.DirectorySeparatorChar;
        var count = 0;
        async Task WriteAsync(string file, string name, TarEntry entry)
        {
            var target = Path.GetFullPath(Path.Combine(root, name[prefix.Length..]));
            if (!target.StartsWith(root, StringComparison.Ordinal))
                throw new AirgapException($"{file}: member {name} would be written outside {directory}; refusing the bundle");
            if (!expectedSha256.TryGetValue(name, out var expected))
                throw new AirgapException($"{file}: member {name} is not listed in bundle.yaml; the bundle was altered");
            await WriteVerifiedAsync(file, entry.Name, entry.DataStream ?? Stream.Null, expected, target, entry.Mode, ct).ConfigureAwait(false);
            count++;
        }
        await ForEachAsync(bundlePath, prefix, (_, entry) => WriteAsync(bundlePath, entry.Name, entry), ct).ConfigureAwait(false);

        var fromBase = layout.FromBase.Where(f => f.Path.StartsWith(prefix, StringComparison.Ordinal))
            .GroupBy(f => f.Base!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(f => f.Path).ToList(), StringComparer.Ordinal);
        if (fromBase.Count == 0) return count;
        var basePath = layout.BasePath!;
        var found = new HashSet<string>(StringComparer.Ordinal);
        await ForEachAsync(basePath, name => fromBase.ContainsKey(name), async entry =>
        {
            found.Add(entry.Name);
            // One base member may stand for several new ones (same bytes, other names): each is written, the
            // member read once per name (the tar reader streams, it cannot rewind).
            var names = fromBase[entry.Name];
            await WriteAsync(basePath, names[0], entry).ConfigureAwait(false);
            foreach (var other in names.Skip(1))
            {
                var first = Path.GetFullPath(Path.Combine(root, names[0][prefix.Length..]));
                var target = Path.GetFullPath(Path.Combine(root, other[prefix.Length..]));
                if (!target.StartsWith(root, StringComparison.Ordinal))
                    throw new AirgapException($"{basePath}: member {other} would be written outside {directory}; refusing the bundle");
                await using var copy = File.OpenRead(first);
                await WriteVerifiedAsync(basePath, entry.Name, copy, expectedSha256[other], target, entry.Mode, ct).ConfigureAwait(false);
                count++;
            }
        }, ct).ConfigureAwait(false);
        var missing = fromBase.Keys.FirstOrDefault(k => !found.Contains(k));
        if (missing is not null)
            throw new AirgapException($"{basePath}: {missing} is missing, and the delta {Path.GetFileName(bundlePath)} needs it from its base; copy the base again");
        return count;
    }

    /// <summary>
    /// Writes one member to <paramref name="target"/> (temporary file, hash check, mode, rename), so a
    /// half-written or altered binary never lands where a service would run it.
    /// </summary>
    public static async Task InstallMemberAsync(BundleSet bundle, string name, string sha256, string target, UnixFileMode mode, CancellationToken ct)
    {
        var at = (await bundle.LayoutAsync(ct).ConfigureAwait(false)).Locate(name);
        var (bundlePath, memberName) = (at.BundlePath, at.Member);
        name = memberName;
        var found = false;
        await ForEachAsync(bundlePath, name, async (_, entry) =>
        {
            found = true;
            await WriteVerifiedAsync(bundlePath, name, entry.DataStream ?? Stream.Null, sha256, target, mode, ct).ConfigureAwait(false);
        }, ct, exact: true).ConfigureAwait(false);
        if (!found) throw new AirgapException($"{bundlePath}: {name} is listed in bundle.yaml but missing; the bundle is incomplete, copy it again");
    }

    /// <summary>
    /// Unpacks the regular files of a .tar.gz member that <paramref name="map"/> gives a target path
    /// (null skips one). The member's sha256 is checked over the compressed bytes as they stream; only
    /// when it matches are the files renamed into place, so a damaged archive installs nothing.
    /// </summary>
    public static async Task<IReadOnlyList<string>> InstallArchiveMemberAsync(BundleSet bundle, string name, string sha256,
        Func<string, string?> map, UnixFileMode mode, CancellationToken ct)
    {
        var at = (await bundle.LayoutAsync(ct).ConfigureAwait(false)).Locate(name);
        var (bundlePath, memberName) = (at.BundlePath, at.Member);
        name = memberName;
        var staged = new List<(string Temporary, string Target)>();
        var found = false;
        try
        {
            await ForEachAsync(bundlePath, name, async (_, entry) =>
            {
                found = true;
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var hashing = new HashingReadStream(entry.DataStream ?? Stream.Null, hash);
                try
                {
                    await using (var gzip = new System.IO.Compression.GZipStream(hashing, System.IO.Compression.CompressionMode.Decompress, leaveOpen: true))
                    {
                        var inner = new TarReader(gzip);
                        while (await inner.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } file)
                        {
                            if (file.EntryType is TarEntryType.Directory) continue;
                            if (map(file.Name.StartsWith("./", StringComparison.Ordinal) ? file.Name[2..] : file.Name) is not { } target) continue;
                            if (file.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                                throw new AirgapException($"{bundlePath}: {name} holds {file.Name} as a {file.EntryType}; only regular files are installed, refusing it");
                            var temporary = target + ".airgap-partial";
                            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                            await using (var output = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
                                if (file.DataStream is not null) await file.DataStream.CopyToAsync(output, ct).ConfigureAwait(false);
                            staged.Add((temporary, target));
                        }
                    }
                    // The gzip reader may stop at the end of the tar; the hash covers every byte of the member.
                    await hashing.CopyToAsync(Stream.Null, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
                {
                    throw new AirgapException($"{bundlePath}: {name} is not a readable .tar.gz ({e.Message.Split('\n')[0]}); copy the bundle again", e);
                }
                if (Convert.ToHexStringLower(hash.GetHashAndReset()) != sha256)
                    throw new AirgapException($"{bundlePath}: {name} does not match bundle.yaml; the bundle changed since it was verified, copy it again");
            }, ct, exact: true).ConfigureAwait(false);
            if (!found) throw new AirgapException($"{bundlePath}: {name} is listed in bundle.yaml but missing; the bundle is incomplete, copy it again");
            foreach (var (temporary, target) in staged)
            {
                File.SetUnixFileMode(temporary, mode);
                File.Move(temporary, target, overwrite: true);
            }
            return staged.Select(s => s.Target).ToList();
        }
        finally
        {
            foreach (var (temporary, _) in staged) if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    private static async Task WriteVerifiedAsync(string bundlePath, string name, Stream source, string sha256, string target, UnixFileMode mode, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temporary = target + ".airgap-partial";
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                var buffer = new byte[256 * 1024];
                int n;
                while ((n = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                }
            }
            if (Convert.ToHexStringLower(hash.GetHashAndReset()) != sha256)
                throw new AirgapException($"{bundlePath}: {name} does not match bundle.yaml; the bundle changed since it was verified, copy it again");
            File.SetUnixFileMode(temporary, mode);
            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>A member's bytes, or null when there is none; one a delta's base carries is checked against the delta's bundle.yaml.</summary>
    public static async Task<byte[]?> ReadMemberAsync(BundleSet bundle, string name, CancellationToken ct)
    {
        var layout = await bundle.LayoutAsync(ct).ConfigureAwait(false);
        var at = layout.Locate(name);
        var result = await ReadTarMemberAsync(at.BundlePath, at.Member, ct).ConfigureAwait(false);
        if (at.InBase && result is not null && Convert.ToHexStringLower(SHA256.HashData(result)) != layout.File(name)!.Sha256)
            throw new AirgapException($"{at.BundlePath}: {at.Member} (the delta's {name}) does not match the delta's bundle.yaml; the base is corrupt, copy it again");
        return result;
    }

    /// <summary>One member of the tar (or its parts) at <paramref name="bundlePath"/>, read as it lies, unchecked; null when absent.</summary>
    internal static async Task<byte[]?> ReadTarMemberAsync(string bundlePath, string member, CancellationToken ct)
    {
        byte[]? result = null;
        await ForEachAsync(bundlePath, member, async (_, entry) =>
        {
            using var memory = new MemoryStream();
            if (entry.DataStream is not null) await entry.DataStream.CopyToAsync(memory, ct).ConfigureAwait(false);
            result = memory.ToArray();
        }, ct, exact: true).ConfigureAwait(false);
        return result;
    }

    private static Task ForEachAsync(string bundlePath, string prefix, Func<string, TarEntry, Task> action, CancellationToken ct, bool exact = false) =>
        ForEachAsync(bundlePath, name => exact ? name == prefix : name.StartsWith(prefix, StringComparison.Ordinal),
            entry => action(exact ? entry.Name : entry.Name[prefix.Length..], entry), ct);

    private static async Task ForEachAsync(string bundlePath, Func<string, bool> wanted, Func<TarEntry, Task> action, CancellationToken ct)
    {
        await using var file = BundleReader.Open(bundlePath);
        var reader = new TarReader(file);
        try
        {
            while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
            {
                BundleReader.CheckEntry(bundlePath, entry);
                if (!wanted(entry.Name)) continue;
                await action(entry).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new AirgapException($"{bundlePath} is truncated or not a tar archive ({e.Message.Split('\n')[0]}); copy the bundle again", e);
        }
    }
}

/// <summary>Passes reads through and hashes what was read.</summary>
internal sealed class HashingReadStream(Stream inner, IncrementalHash hash) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = inner.Read(buffer, offset, count);
        hash.AppendData(buffer, offset, n);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        hash.AppendData(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}
