using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Airgap.Bundles;

namespace Airgap.Tests.Bundles;

/// <summary>Archives crafted to escape the target directory or smuggle in non-files are refused, and nothing lands.</summary>
public sealed class BundleSafetyTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("airgap-safety-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    public static TheoryData<string, TarEntryType, string> EvilMembers => new()
    {
        { "../../etc/cron.d/x", TarEntryType.RegularFile, "path traversal" },
        { "/etc/cron.d/x", TarEntryType.RegularFile, "absolute path" },
        { "images/link", TarEntryType.SymbolicLink, "is a SymbolicLink, bundles hold only regular files" },
        { "images/hard", TarEntryType.HardLink, "is a HardLink, bundles hold only regular files" },
        { "images/null", TarEntryType.CharacterDevice, "is a CharacterDevice, bundles hold only regular files" },
        { "images/sda", TarEntryType.BlockDevice, "is a BlockDevice, bundles hold only regular files" },
        { "images/fifo", TarEntryType.Fifo, "is a Fifo, bundles hold only regular files" },
    };

    [Theory]
    [MemberData(nameof(EvilMembers))]
    public async Task Verify_refuses_a_member_that_could_escape_or_is_not_a_regular_file(string name, TarEntryType type, string why)
    {
        var bundle = Path.Combine(work, "evil.tar");
        await using (var file = File.Create(bundle))
        await using (var tar = new TarWriter(file, TarEntryFormat.Pax))
        {
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "bundle.yaml") { DataStream = new MemoryStream("kind: Bundle\n"u8.ToArray()) });
            var entry = new PaxTarEntry(type, name);
            if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink) entry.LinkName = "/etc/shadow";
            if (type == TarEntryType.RegularFile) entry.DataStream = new MemoryStream("boom"u8.ToArray());
            await tar.WriteEntryAsync(entry);
        }

        var e = await Assert.ThrowsAsync<AirgapException>(() => BundleReader.VerifyAsync(bundle, NullProgress.Instance, BundleTrust.None, default));

        Assert.Contains(name, e.Message);
        Assert.Contains(why, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task An_archive_member_installs_its_mapped_files_only_when_its_hash_matches()
    {
        var archive = Tgz(("bin/containerd", "daemon"), ("bin/ctr", "client"), ("README.md", "docs"));
        var bundle = await BundleWith("binaries/amd64/containerd.tar.gz", archive);
        var target = Path.Combine(work, "usr-local-bin");

        var installed = await BundleExtractor.InstallArchiveMemberAsync(bundle, "binaries/amd64/containerd.tar.gz", Sha(archive),
            name => name.StartsWith("bin/", StringComparison.Ordinal) ? Path.Combine(target, name[4..]) : null, UnixFileMode.UserRead | UnixFileMode.UserExecute, default);

        Assert.Equal([Path.Combine(target, "containerd"), Path.Combine(target, "ctr")], installed.Order());
        Assert.Equal("daemon", await File.ReadAllTextAsync(Path.Combine(target, "containerd")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(target, "ctr")));
        Assert.Equal(["containerd", "ctr"], Directory.GetFiles(target).Select(Path.GetFileName).Order());

        var wrong = Path.Combine(work, "wrong");
        var e = await Assert.ThrowsAsync<AirgapException>(() => BundleExtractor.InstallArchiveMemberAsync(bundle, "binaries/amd64/containerd.tar.gz", new string('0', 64),
            name => Path.Combine(wrong, Path.GetFileName(name)), UnixFileMode.UserRead, default));
        Assert.Contains("does not match bundle.yaml", e.Message);
        Assert.True(!Directory.Exists(wrong) || Directory.GetFiles(wrong).Length == 0, "a damaged archive installed files");
    }

    [Fact]
    public async Task An_archive_member_with_a_symlink_where_a_file_is_wanted_installs_nothing()
    {
        byte[] archive;
        using (var memory = new MemoryStream())
        {
            await using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
            await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
            {
                await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "bridge") { DataStream = new MemoryStream("ok"u8.ToArray()) });
                await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "loopback") { LinkName = "/usr/bin/sudo" });
            }
            archive = memory.ToArray();
        }
        var bundle = await BundleWith("binaries/amd64/cni.tgz", archive);
        var target = Path.Combine(work, "cni");

        var e = await Assert.ThrowsAsync<AirgapException>(() => BundleExtractor.InstallArchiveMemberAsync(bundle, "binaries/amd64/cni.tgz", Sha(archive),
            name => Path.Combine(target, name), UnixFileMode.UserRead, default));

        Assert.Contains("holds loopback as a SymbolicLink", e.Message);
        Assert.Empty(Directory.GetFiles(target));
    }

    [Fact]
    public async Task A_single_member_is_installed_atomically_with_its_mode_or_not_at_all()
    {
        var content = Encoding.UTF8.GetBytes("#!/bin/sh\necho kubeadm\n");
        var bundle = await BundleWith("binaries/amd64/kubeadm", content);
        var target = Path.Combine(work, "bin", "kubeadm");

        await BundleExtractor.InstallMemberAsync(bundle, "binaries/amd64/kubeadm", Sha(content), target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, default);
        Assert.Equal(content, await File.ReadAllBytesAsync(target));

        var e = await Assert.ThrowsAsync<AirgapException>(() => BundleExtractor.InstallMemberAsync(bundle, "binaries/amd64/kubeadm", new string('1', 64),
            Path.Combine(work, "bin", "other"), UnixFileMode.UserRead, default));
        Assert.Contains("does not match bundle.yaml", e.Message);
        Assert.Equal(["kubeadm"], Directory.GetFiles(Path.Combine(work, "bin")).Select(Path.GetFileName));
    }

    private async Task<string> BundleWith(string path, byte[] content)
    {
        var bundle = Path.Combine(work, $"bundle-{Guid.NewGuid():n}.tar");
        await BundleWriter.WriteAsync(bundle, new BundleDocument { Name = "t", Kubernetes = "v1.20.2", Arch = "amd64" },
            [BundleMember.FromBytes(path, content)], NullProgress.Instance, default);
        return bundle;
    }

    private static byte[] Tgz(params (string Name, string Content)[] files)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "bin/"));
            foreach (var (name, content) in files)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
        }
        return memory.ToArray();
    }

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
