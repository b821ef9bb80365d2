using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Airgap.Packages;
using Airgap.Packages.Apt;

namespace Airgap.Tests.Packages.Apt;

public sealed class AptRepositoryWriterTests
{
    private static ResolvedPackage Package(string name, string version, string filename) => new(
        name, version, "amd64", new Uri($"http://127.0.0.1:1/{filename}"), new string('b', 64), 42, "debian", $"{name}_{version}_amd64.deb",
        $"Package: {name}\nVersion: {version}\nArchitecture: amd64\nDepends: libc6 (>= 2.34)\nFilename: {filename}\nSize: 42\nSHA256: {new string('b', 64)}\nDescription: x\n more");

    private static readonly ResolvedPackage[] Packages =
    [
        Package("socat", "1.7.4.4-2", "pool/main/s/socat/socat_1.7.4.4-2_amd64.deb"),
        Package("conntrack", "1:1.4.7-1+b2", "pool/main/c/conntrack-tools/conntrack_1.4.7-1+b2_amd64.deb"),
    ];

    [Fact]
    public void Writes_sorted_stanzas_with_Filename_relative_to_the_repository_root()
    {
        var files = AptRepositoryWriter.Write(Packages).ToDictionary(f => f.RelativePath, f => f.Content);
        Assert.Equal(["Packages", "Packages.gz", "Release"], files.Keys.Order());
        var text = Encoding.UTF8.GetString(files["Packages"]);
        var stanzas = ControlStanza.ParseAll(text, "written");
        Assert.Equal(["conntrack", "socat"], stanzas.Select(s => s["Package"]));
        Assert.Equal("./conntrack_1:1.4.7-1+b2_amd64.deb", stanzas[0]["Filename"]);
        Assert.Equal("libc6 (>= 2.34)", stanzas[0]["Depends"]);
        Assert.Equal("x\nmore", stanzas[1]["Description"]);
        Assert.EndsWith(" more\n\n", text, StringComparison.Ordinal);

        using var gz = new GZipStream(new MemoryStream(files["Packages.gz"]), CompressionMode.Decompress);
        using var unzipped = new MemoryStream();
        gz.CopyTo(unzipped);
        Assert.Equal(files["Packages"], unzipped.ToArray());
    }

    [Fact]
    public void Release_carries_the_SHA256_of_each_index_and_a_constant_date()
    {
        var files = AptRepositoryWriter.Write(Packages).ToDictionary(f => f.RelativePath, f => f.Content);
        var release = ReleaseFile.Parse(Encoding.UTF8.GetString(files["Release"]), "written");
        foreach (var name in new[] { "Packages", "Packages.gz" })
        {
            var entry = release.Find(name)!;
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(files[name])), entry.Sha256);
            Assert.Equal(files[name].Length, entry.Size);
        }
        Assert.Equal(DateTimeOffset.UnixEpoch, release.Date);
        Assert.Equal(["amd64"], release.Architectures);
    }

    [Fact]
    public void Same_packages_give_the_same_bytes_in_any_order()
    {
        var a = AptRepositoryWriter.Write(Packages);
        var b = AptRepositoryWriter.Write(Packages.Reverse().ToArray());
        Assert.Equal(a.Select(f => Convert.ToHexString(SHA256.HashData(f.Content))), b.Select(f => Convert.ToHexString(SHA256.HashData(f.Content))));
        var gz = a.Single(f => f.RelativePath == "Packages.gz").Content;
        Assert.Equal(new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0 }, gz[..8]);
    }
}
