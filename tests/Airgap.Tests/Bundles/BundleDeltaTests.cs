using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Airgap.Bundles;

namespace Airgap.Tests.Bundles;

/// <summary>What goes in a delta, how it names its base, the check of a given base, and the member-level view over both.</summary>
public sealed class BundleDeltaTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("airgap-delta-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private static BundleMember Member(string path, string content, int mode = 0x1A4) => BundleMember.FromBytes(path, Encoding.ASCII.GetBytes(content), mode);

    private static BundleDocument Document(string kubernetes) => new() { Name = $"airgap-k8s-{kubernetes}-linux-amd64", Kubernetes = kubernetes, Arch = "amd64" };

    /// <summary>The old bundle: kubeadm of its version, a shared CNI tarball under a name the new one changes, a manifest.</summary>
    private static IReadOnlyList<BundleMember> OldMembers() =>
    [
        Member("binaries/amd64/kubeadm", "kubeadm v1.20.2", 0x1ED),
        Member("binaries/amd64/cni-plugins-v0.8.7.tgz", "cni plugins"),
        Member("manifests/kube-flannel.yml", "kind: DaemonSet\n"),
    ];

    private static IReadOnlyList<BundleMember> NewMembers() =>
    [
        Member("binaries/amd64/kubeadm", "kubeadm v1.20.15", 0x1ED),
        Member("binaries/amd64/cni-plugins.tgz", "cni plugins"),
        Member("manifests/kube-flannel.yml", "kind: DaemonSet\n"),
    ];

    private async Task<(string Old, string Delta, string Full)> WriteAllAsync()
    {
        var old = Path.Combine(work, "old.tar");
        var oldDocument = Document("v1.20.2");
        await BundleWriter.WriteAsync(old, oldDocument, OldMembers(), NullProgress.Instance, default);
        var full = Path.Combine(work, "full.tar");
        await BundleWriter.WriteAsync(full, Document("v1.20.15"), NewMembers(), NullProgress.Instance, default);
        var (oldYaml, _) = await BundleReader.ReadSignedDocumentAsync(old, default);
        var delta = Path.Combine(work, "delta.tar");
        var deltaDocument = Document("v1.20.15");
        deltaDocument.Base = BundleDelta.Reference(oldDocument, oldYaml);
        await BundleWriter.WriteAsync(delta, deltaDocument, BundleDelta.Mark(NewMembers(), oldDocument, old), NullProgress.Instance, default);
        return (old, delta, full);
    }

    private static async Task<Dictionary<string, byte[]>> TarAsync(string bundle)
    {
        var members = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await using var file = File.OpenRead(bundle);
        var reader = new TarReader(file);
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            using var memory = new MemoryStream();
            entry.DataStream?.CopyTo(memory);
            members[entry.Name] = memory.ToArray();
        }
        return members;
    }

    [Fact]
    public void Members_the_base_holds_by_content_are_left_to_it_under_the_base_s_name_whatever_their_path()
    {
        var baseDocument = Document("v1.20.2");
        baseDocument.Files = OldMembers().Select(m => new BundleFile { Path = m.Path, Sha256 = m.Sha256, Size = m.Size }).ToList();

        var marked = BundleDelta.Mark(NewMembers(), baseDocument, "old.tar").ToDictionary(m => m.Path, m => m.FromBase);

        Assert.Null(marked["binaries/amd64/kubeadm"]); // same path, other bytes: carried by the delta
        Assert.Equal("binaries/amd64/cni-plugins-v0.8.7.tgz", marked["binaries/amd64/cni-plugins.tgz"]); // same bytes, other path
        Assert.Equal("manifests/kube-flannel.yml", marked["manifests/kube-flannel.yml"]);
    }

    [Fact]
    public void Same_bytes_of_another_size_cannot_match_and_a_delta_is_refused_as_a_base()
    {
        var baseDocument = Document("v1.20.2");
        var kubeadm = NewMembers()[0];
        baseDocument.Files = [new BundleFile { Path = "x", Sha256 = kubeadm.Sha256, Size = kubeadm.Size + 1 }];
        Assert.All(BundleDelta.Mark(NewMembers(), baseDocument, "old.tar"), m => Assert.Null(m.FromBase));

        baseDocument.Base = new BundleBase { Name = "older", Kubernetes = "v1.20.1", BundleYamlSha256 = new string('a', 64) };
        var e = Assert.Throws<AirgapException>(() => BundleDelta.Mark(NewMembers(), baseDocument, "old.tar"));
        Assert.Equal("--since old.tar is itself a delta (of older); give a full bundle as --since", e.Message);
    }

    [Fact]
    public void The_base_check_names_the_expected_and_the_given_base()
    {
        var oldYaml = Encoding.UTF8.GetBytes(Document("v1.20.2").ToYaml());
        var otherYaml = Encoding.UTF8.GetBytes(Document("v1.20.9").ToYaml());
        var delta = Document("v1.20.15");
        delta.Base = BundleDelta.Reference(Document("v1.20.2"), oldYaml);
        var oldSha = Convert.ToHexStringLower(SHA256.HashData(oldYaml));
        Assert.Equal(oldSha, delta.Base.BundleYamlSha256);

        BundleDelta.CheckBase("new.tar", delta, "old.tar", oldYaml);

        var wrong = Assert.Throws<AirgapException>(() => BundleDelta.CheckBase("new.tar", delta, "other.tar", otherYaml));
        Assert.Equal($"new.tar is a delta of airgap-k8s-v1.20.2-linux-amd64 (Kubernetes v1.20.2, bundle.yaml sha256 {oldSha}), " +
                     $"but --base other.tar is airgap-k8s-v1.20.9-linux-amd64 (Kubernetes v1.20.9, bundle.yaml sha256 {Convert.ToHexStringLower(SHA256.HashData(otherYaml))}); " +
                     "give the bundle the delta was built on", wrong.Message);
        // The same bundle.yaml changed by one byte is another base.
        var altered = (byte[])oldYaml.Clone();
        altered[^2] ^= 1;
        Assert.Contains("but --base old.tar is ", Assert.Throws<AirgapException>(() => BundleDelta.CheckBase("new.tar", delta, "old.tar", altered)).Message);
        Assert.Contains("is a full bundle", Assert.Throws<AirgapException>(() => BundleDelta.CheckBase("old.tar", Document("v1.20.2"), "x.tar", oldYaml)).Message);
    }

    [Fact]
    public async Task The_writer_leaves_base_members_out_of_the_tar_and_SHA256SUMS_but_lists_them_all_in_bundle_yaml()
    {
        var (_, delta, full) = await WriteAllAsync();

        var members = await TarAsync(delta);
        Assert.Equal([BundleDocument.FileName, BundleDocument.SumsFileName, "binaries/amd64/kubeadm"], members.Keys);
        Assert.DoesNotContain("manifests", Encoding.ASCII.GetString(members[BundleDocument.SumsFileName]));
        var document = BundleDocument.Parse(Encoding.UTF8.GetString(members[BundleDocument.FileName]), delta);
        var fullDocument = await BundleReader.ReadDocumentAsync(full, default);
        Assert.Equal(fullDocument.Files.Select(f => (f.Path, f.Sha256, f.Size)), document.Files.Select(f => (f.Path, f.Sha256, f.Size)));
        Assert.Equal(["binaries/amd64/cni-plugins-v0.8.7.tgz", null, "manifests/kube-flannel.yml"], document.Files.Select(f => f.Base)); // sorted by path
    }

    [Fact]
    public async Task Base_and_delta_read_as_the_full_bundle_member_by_member()
    {
        var (old, delta, full) = await WriteAllAsync();
        var set = new BundleSet(delta, old);
        var layout = await set.LayoutAsync(default);

        Assert.Equal(new MemberLocation(old, "binaries/amd64/cni-plugins-v0.8.7.tgz", true), layout.Locate("binaries/amd64/cni-plugins.tgz"));
        Assert.Equal(new MemberLocation(delta, "binaries/amd64/kubeadm", false), layout.Locate("binaries/amd64/kubeadm"));
        Assert.Equal(new MemberLocation(delta, BundleDocument.SumsFileName, false), layout.Locate(BundleDocument.SumsFileName));

        var report = await BundleReader.VerifyAsync(set, NullProgress.Instance, BundleTrust.None, default);
        var fullReport = await BundleReader.VerifyAsync(full, NullProgress.Instance, BundleTrust.None, default);
        Assert.Equal(fullReport.Members, report.Members);
        foreach (var member in NewMembers())
            Assert.Equal(await BundleExtractor.ReadMemberAsync(full, member.Path, default), await BundleExtractor.ReadMemberAsync(set, member.Path, default));

        var expected = layout.Document.Files.ToDictionary(f => f.Path, f => f.Sha256);
        Assert.Equal(2, await BundleExtractor.ExtractAsync(set, "binaries/", Path.Combine(work, "x"), expected, default));
        Assert.Equal("cni plugins", await File.ReadAllTextAsync(Path.Combine(work, "x", "amd64", "cni-plugins.tgz")));
        Assert.Equal("kubeadm v1.20.15", await File.ReadAllTextAsync(Path.Combine(work, "x", "amd64", "kubeadm")));
    }

    [Fact]
    public async Task A_delta_read_without_its_base_or_with_another_is_refused_before_any_member_is_read()
    {
        var (old, delta, full) = await WriteAllAsync();

        var missing = await Assert.ThrowsAsync<AirgapException>(() => BundleExtractor.ReadMemberAsync(delta, "manifests/kube-flannel.yml", default));
        Assert.StartsWith($"{delta} is a delta of airgap-k8s-v1.20.2-linux-amd64 (Kubernetes v1.20.2, bundle.yaml sha256 ", missing.Message);
        Assert.EndsWith("give that bundle with --base (a delta carries only what its base lacks)", missing.Message);
        Assert.Equal(missing.Message, (await Assert.ThrowsAsync<AirgapException>(() => BundleReader.VerifyAsync(delta, NullProgress.Instance, BundleTrust.None, default))).Message);

        var wrong = new BundleSet(delta, full);
        Assert.Contains($"but --base {full} is airgap-k8s-v1.20.15-linux-amd64", (await Assert.ThrowsAsync<AirgapException>(() => wrong.LayoutAsync(default))).Message);
        Assert.Contains($"but --base {full} is", (await Assert.ThrowsAsync<AirgapException>(() => BundleReader.VerifyAsync(wrong, NullProgress.Instance, BundleTrust.None, default))).Message);
        Assert.Contains("leave --base out", (await Assert.ThrowsAsync<AirgapException>(() => new BundleSet(full, old).LayoutAsync(default))).Message);
    }

    [Fact]
    public async Task A_base_member_that_is_not_what_the_delta_lists_is_refused_naming_the_base()
    {
        var (old, delta, _) = await WriteAllAsync();
        // Rewrite the base with other bytes for the manifest but the same bundle.yaml: the check by digest of
        // bundle.yaml passes, the member check against the delta's list does not.
        var members = await TarAsync(old);
        var tampered = Path.Combine(work, "tampered.tar");
        await using (var file = File.Create(tampered))
        await using (var tar = new TarWriter(file, TarEntryFormat.Ustar))
            foreach (var (name, data) in members)
                await tar.WriteEntryAsync(new UstarTarEntry(TarEntryType.RegularFile, name)
                {
                    DataStream = new MemoryStream(name == "manifests/kube-flannel.yml" ? "kind: Evil\n\n\n\n\n\n"u8.ToArray() : data),
                });

        var e = await Assert.ThrowsAsync<AirgapException>(() => BundleReader.VerifyAsync(new BundleSet(delta, tampered), NullProgress.Instance, BundleTrust.None, default));
        Assert.Equal($"{tampered}: manifests/kube-flannel.yml (the delta's manifests/kube-flannel.yml) does not match the delta's bundle.yaml (sha256 or size); the base is corrupt, copy it again", e.Message);
        var read = await Assert.ThrowsAsync<AirgapException>(() => BundleExtractor.ReadMemberAsync(new BundleSet(delta, tampered), "manifests/kube-flannel.yml", default));
        Assert.Contains("does not match the delta's bundle.yaml; the base is corrupt", read.Message);
    }
}
