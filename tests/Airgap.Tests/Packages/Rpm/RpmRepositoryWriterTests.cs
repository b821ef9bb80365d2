using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Airgap.Packages;
using Airgap.Packages.Rpm;
using static Airgap.Tests.Packages.Rpm.PrimaryXml;

namespace Airgap.Tests.Packages.Rpm;

public sealed class RpmRepositoryWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("airgap-rpmwriter-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Writes_repodata_that_points_at_the_flat_files_and_checks_out()
    {
        var (packages, path) = Packages();
        var files = await RpmRepositoryWriter.WriteAsync(packages, path, CancellationToken.None);

        Assert.Equal("repodata/repomd.xml", files[0].RelativePath);
        var byPath = files.ToDictionary(f => f.RelativePath, f => f.Content);
        var repomd = Repomd.Parse(Encoding.UTF8.GetString(byPath["repodata/repomd.xml"]), "ours");
        Assert.Equal(["primary", "filelists", "other"], repomd.Data.Select(d => d.Type));
        foreach (var d in repomd.Data)
        {
            var content = byPath[d.LocationHref];
            Assert.Equal(d.Checksum, Sha(content));
            Assert.Equal(d.OpenChecksum, Sha(Gunzip(content)));
            Assert.Equal(d.Size, content.Length);
            Assert.Equal([0, 0, 0, 0], content[4..8]); // gzip mtime
        }

        using var primary = new MemoryStream(Gunzip(byPath[repomd.Find("primary")!.LocationHref]));
        var read = RpmPrimaryReader.Read(primary, "ours").ToList();
        Assert.Equal(["kubectl", "kubelet"], read.Select(p => p.Name));
        Assert.Equal(["kubectl-1.20.2-0.x86_64.rpm", "kubelet-1.20.2-0.x86_64.rpm"], read.Select(p => p.LocationHref));
        Assert.All(read, p => Assert.Null(p.LocationBase));
        var kubelet = read[1];
        Assert.Equal(["conntrack", "iptables >= 1.4.21"], kubelet.Requires.Select(r => r.ToString()));
        Assert.Equal(packages[0].Sha256, kubelet.Checksum);
        Assert.Contains("with a two-line description & an ampersand", kubelet.Xml.Replace("&amp;", "&", StringComparison.Ordinal));

        // filelists has every file of the rpm, not just primary's, with directories marked.
        var filelists = XElement.Parse(Encoding.UTF8.GetString(Gunzip(byPath[repomd.Find("filelists")!.LocationHref])));
        XNamespace fl = "http://linux.duke.edu/metadata/filelists";
        var entry = filelists.Elements(fl + "package").Single(p => (string?)p.Attribute("name") == "kubelet");
        Assert.Equal(packages[0].Sha256, (string?)entry.Attribute("pkgid"));
        Assert.Equal(["/usr/bin/kubelet", "/usr/lib/systemd/system/kubelet.service", "dir:/etc/kubernetes/manifests"],
            entry.Elements(fl + "file").Select(f => ((string?)f.Attribute("type") is { } t ? t + ":" : "") + f.Value).Order(StringComparer.Ordinal));
        Assert.Equal("2", (string?)filelists.Attribute("packages"));
    }

    [Fact]
    public async Task Same_packages_give_the_same_bytes_whatever_their_order()
    {
        var (packages, path) = Packages();
        var a = await RpmRepositoryWriter.WriteAsync(packages, path, CancellationToken.None);
        var b = await RpmRepositoryWriter.WriteAsync([.. packages.Reverse(), packages[0]], path, CancellationToken.None);
        Assert.Equal(a.Select(f => f.RelativePath), b.Select(f => f.RelativePath));
        Assert.Equal(a.Select(f => Sha(f.Content)), b.Select(f => Sha(f.Content)));
    }

    [Fact]
    public async Task Refuses_a_file_that_is_not_the_package_its_entry_describes()
    {
        var (packages, path) = Packages();
        var e = await Assert.ThrowsAsync<AirgapException>(() =>
            RpmRepositoryWriter.WriteAsync(packages, p => path(packages[0] == p ? packages[1] : packages[0]), CancellationToken.None));
        Assert.Contains("but its metadata entry is kubelet-1.20.2-0.x86_64", e.Message);

        var clash = packages[1] with { FileName = packages[0].FileName, Sha256 = new string('0', 64) };
        e = await Assert.ThrowsAsync<AirgapException>(() => RpmRepositoryWriter.WriteAsync([packages[0], clash], path, CancellationToken.None));
        Assert.Contains("two different packages want the file name kubelet-1.20.2-0.x86_64.rpm", e.Message);

        await File.WriteAllBytesAsync(Path.Combine(_dir, "junk.rpm"), new byte[200]);
        e = await Assert.ThrowsAsync<AirgapException>(() => RpmRepositoryWriter.WriteAsync(packages, _ => Path.Combine(_dir, "junk.rpm"), CancellationToken.None));
        Assert.Contains("is not an rpm file", e.Message);
    }

    private (ResolvedPackage[] Packages, Func<ResolvedPackage, string> Path) Packages()
    {
        var kubeletRpm = FakeRpm.Bytes("kubelet", "1.20.2", "0", "x86_64",
            ("/usr/bin/kubelet", false), ("/etc/kubernetes/manifests", true), ("/usr/lib/systemd/system/kubelet.service", false));
        var kubectlRpm = FakeRpm.Bytes("kubectl", "1.20.2", "0", "x86_64", ("/usr/bin/kubectl", false));
        File.WriteAllBytes(System.IO.Path.Combine(_dir, "kubelet.rpm"), kubeletRpm);
        File.WriteAllBytes(System.IO.Path.Combine(_dir, "kubectl.rpm"), kubectlRpm);
        var kubelet = Package("kubelet", "1.20.2-0", requires: ["conntrack", "iptables >= 1.4.21"], files: ["/usr/bin/kubelet"], sha256: Sha(kubeletRpm));
        kubelet.Element(XName.Get("location", RpmPrimaryReader.CommonNamespace))!.SetAttributeValue(XNamespace.Xml + "base", "http://elsewhere.example/");
        var index = Index("kubernetes", kubelet, Package("kubectl", "1.20.2-0", files: ["/usr/bin/kubectl"], sha256: Sha(kubectlRpm)));
        var set = RpmResolver.Resolve([index], [new("kubelet", null), new("kubectl", null)], "amd64", new HashSet<string> { "conntrack", "iptables" });
        var packages = set.Packages.OrderByDescending(p => p.Name).ToArray();
        Assert.Equal(new Uri("http://elsewhere.example/Packages/kubelet-1.20.2-0.x86_64.rpm"), packages[0].Url);
        return (packages, p => System.IO.Path.Combine(_dir, $"{p.Name}.rpm"));
    }

    private static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private static byte[] Gunzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(new MemoryStream(data), CompressionMode.Decompress)) gz.CopyTo(output);
        return output.ToArray();
    }
}
