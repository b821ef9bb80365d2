using System.Buffers.Binary;
using System.Text;

namespace Airgap.Tests.Packages.Rpm;

/// <summary>
/// Writes an .rpm that has only what a repository writer reads (lead, an empty signature header, a
/// main header with identity and file list) and no payload: enough for unit tests, no rpmbuild needed.
/// </summary>
internal static class FakeRpm
{
    public static byte[] Bytes(string name, string version, string release, string arch, params (string Path, bool Dir)[] files)
    {
        var lead = new byte[96];
        new byte[] { 0xed, 0xab, 0xee, 0xdb, 3, 0 }.CopyTo(lead, 0);
        var signature = Header([(1000 + 7, 7, Encoding.ASCII.GetBytes("sig"), 3)]); // an opaque BIN entry
        var pad = new byte[(8 - signature.Length % 8) % 8];

        var dirs = files.Select(f => f.Path[..(f.Path.LastIndexOf('/') + 1)]).Distinct().ToList();
        var main = Header(
        [
            (1000, 6, Z(name), 1),
            (1001, 6, Z(version), 1),
            (1002, 6, Z(release), 1),
            (1022, 6, Z(arch), 1),
            (1030, 3, files.SelectMany(f => Be16(f.Dir ? 0x41ed : 0x81a4)).ToArray(), files.Length),
            (1037, 4, files.SelectMany(_ => Be32(0)).ToArray(), files.Length),
            (1116, 4, files.SelectMany(f => Be32(dirs.IndexOf(f.Path[..(f.Path.LastIndexOf('/') + 1)]))).ToArray(), files.Length),
            (1117, 8, files.SelectMany(f => Z(f.Path[(f.Path.LastIndexOf('/') + 1)..])).ToArray(), files.Length),
            (1118, 8, dirs.SelectMany(Z).ToArray(), dirs.Count),
        ]);
        return [.. lead, .. signature, .. pad, .. main];
    }

    private static byte[] Header((int Tag, int Type, byte[] Data, int Count)[] entries)
    {
        var store = new List<byte>();
        var index = new List<byte>();
        foreach (var (tag, type, data, count) in entries)
        {
            // rpm aligns numbers in the store to their size.
            var align = type switch { 3 => 2, 4 => 4, _ => 1 };
            while (store.Count % align != 0) store.Add(0);
            index.AddRange([.. Be32(tag), .. Be32(type), .. Be32(store.Count), .. Be32(count)]);
            store.AddRange(data);
        }
        return [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, .. Be32(entries.Length), .. Be32(store.Count), .. index, .. store];
    }

    private static byte[] Z(string s) => [.. Encoding.UTF8.GetBytes(s), 0];

    private static byte[] Be32(int v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, v);
        return b;
    }

    private static byte[] Be16(int v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)v);
        return b;
    }
}
