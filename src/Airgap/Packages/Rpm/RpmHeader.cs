using System.Buffers.Binary;
using System.Text;

namespace Airgap.Packages.Rpm;

/// <summary>
/// The main header of an .rpm file (lead, signature header, then this one), read only as far as a
/// repository writer needs: identity and the full file list. primary.xml carries only the "primary"
/// files, and filelists.xml must list them all or dnf misses file requires such as /usr/libexec/….
/// </summary>
internal sealed class RpmHeader
{
    public const int TagName = 1000, TagVersion = 1001, TagRelease = 1002, TagArch = 1022;
    public const int TagFileModes = 1030, TagFileFlags = 1037, TagOldFileNames = 1027;
    public const int TagDirIndexes = 1116, TagBaseNames = 1117, TagDirNames = 1118;

    private const int TypeInt16 = 3, TypeInt32 = 4, TypeString = 6, TypeStringArray = 8, TypeI18nString = 9;
    private const int FileGhost = 1 << 6;
    private static ReadOnlySpan<byte> LeadMagic => [0xed, 0xab, 0xee, 0xdb];
    private static ReadOnlySpan<byte> HeaderMagic => [0x8e, 0xad, 0xe8, 0x01];

    private readonly Dictionary<int, (int Type, int Offset, int Count)> _index;
    private readonly byte[] _store;

    private RpmHeader(Dictionary<int, (int, int, int)> index, byte[] store)
    {
        _index = index;
        _store = store;
    }

    public static async Task<RpmHeader> ReadAsync(string path, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);
        var lead = new byte[96];
        await ReadExactly(file, lead, path, ct).ConfigureAwait(false);
        if (!lead.AsSpan(0, 4).SequenceEqual(LeadMagic)) throw new AirgapException($"{path} is not an rpm file (no rpm lead)");
        // The signature header is padded to 8 bytes; the main header follows it directly.
        var (_, signatureLength) = await ReadSectionAsync(file, path, ct).ConfigureAwait(false);
        var pad = (8 - signatureLength % 8) % 8;
        file.Seek(pad, SeekOrigin.Current);
        var (header, _) = await ReadSectionAsync(file, path, ct).ConfigureAwait(false);
        return header;
    }

    private static async Task<(RpmHeader Header, long Length)> ReadSectionAsync(FileStream file, string path, CancellationToken ct)
    {
        var intro = new byte[16];
        await ReadExactly(file, intro, path, ct).ConfigureAwait(false);
        if (!intro.AsSpan(0, 4).SequenceEqual(HeaderMagic)) throw new AirgapException($"{path} is not an rpm file (bad header magic)");
        var count = BinaryPrimitives.ReadInt32BigEndian(intro.AsSpan(8));
        var size = BinaryPrimitives.ReadInt32BigEndian(intro.AsSpan(12));
        // rpm itself refuses headers beyond these bounds (hdrchkTags/hdrchkData); so do we, before allocating.
        if (count is < 1 or > 0xffff || size is < 0 or > 256 * 1024 * 1024)
            throw new AirgapException($"{path} has an rpm header of implausible size; the file is damaged");
        var entries = new byte[count * 16];
        await ReadExactly(file, entries, path, ct).ConfigureAwait(false);
        var store = new byte[size];
        await ReadExactly(file, store, path, ct).ConfigureAwait(false);
        var index = new Dictionary<int, (int, int, int)>();
        for (var i = 0; i < count; i++)
        {
            var e = entries.AsSpan(i * 16, 16);
            var offset = BinaryPrimitives.ReadInt32BigEndian(e[8..]);
            if (offset < 0 || offset > size) throw new AirgapException($"{path} has an rpm header entry outside its data; the file is damaged");
            index[BinaryPrimitives.ReadInt32BigEndian(e)] = (BinaryPrimitives.ReadInt32BigEndian(e[4..]), offset, BinaryPrimitives.ReadInt32BigEndian(e[12..]));
        }
        return (new RpmHeader(index, store), 16 + entries.Length + size);
    }

    private static async Task ReadExactly(FileStream file, byte[] buffer, string path, CancellationToken ct)
    {
        try
        {
            await file.ReadExactlyAsync(buffer, ct).ConfigureAwait(false);
        }
        catch (EndOfStreamException e)
        {
            throw new AirgapException($"{path} ends inside its rpm header; the file is truncated", e);
        }
    }

    public string? String(int tag)
    {
        if (!_index.TryGetValue(tag, out var e) || e.Type is not (TypeString or TypeI18nString or TypeStringArray)) return null;
        return ReadStrings(e.Offset, 1)[0];
    }

    public IReadOnlyList<string> Strings(int tag) =>
        _index.TryGetValue(tag, out var e) && e.Type is TypeStringArray or TypeI18nString ? ReadStrings(e.Offset, e.Count) : [];

    public IReadOnlyList<int> Integers(int tag)
    {
        if (!_index.TryGetValue(tag, out var e)) return [];
        var width = e.Type switch { TypeInt16 => 2, TypeInt32 => 4, _ => 0 };
        if (width == 0 || e.Offset + (long)e.Count * width > _store.Length) return [];
        var result = new int[e.Count];
        for (var i = 0; i < e.Count; i++)
        {
            var at = _store.AsSpan(e.Offset + i * width);
            result[i] = width == 2 ? BinaryPrimitives.ReadUInt16BigEndian(at) : BinaryPrimitives.ReadInt32BigEndian(at);
        }
        return result;
    }

    /// <summary>Every file the package installs, with createrepo's kinds: "dir", "ghost", or null for a plain file.</summary>
    public IReadOnlyList<(string Path, string? Type)> Files()
    {
        var names = Strings(TagBaseNames);
        IReadOnlyList<string> paths;
        if (names.Count > 0)
        {
            var dirs = Strings(TagDirNames);
            var dirIndexes = Integers(TagDirIndexes);
            if (dirIndexes.Count != names.Count || dirIndexes.Any(d => d < 0 || d >= dirs.Count))
                throw new AirgapException("rpm header file list is inconsistent (dirindexes do not match basenames)");
            paths = names.Select((n, i) => dirs[dirIndexes[i]] + n).ToArray();
        }
        else
        {
            paths = Strings(TagOldFileNames);
        }
        var modes = Integers(TagFileModes);
        var flags = Integers(TagFileFlags);
        return paths.Select((p, i) =>
        {
            string? type = null;
            if (i < flags.Count && (flags[i] & FileGhost) != 0) type = "ghost";
            else if (i < modes.Count && (modes[i] & 0xf000) == 0x4000) type = "dir";
            return (p, type);
        }).ToArray();
    }

    private string[] ReadStrings(int offset, int count)
    {
        if (count < 0 || count > _store.Length - offset) throw new AirgapException("rpm header string array is larger than its data; the file is damaged");
        var result = new string[count];
        var at = offset;
        for (var i = 0; i < count; i++)
        {
            var end = Array.IndexOf(_store, (byte)0, at);
            if (end < 0) throw new AirgapException("rpm header string runs past its data; the file is damaged");
            result[i] = Encoding.UTF8.GetString(_store, at, end - at);
            at = end + 1;
        }
        return result;
    }
}
