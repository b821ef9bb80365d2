using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using Airgap.Bundles;
using Airgap.Nodes;
using Airgap.Oci;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Build;

/// <summary>
/// Two real builds from the test registry and a binaries server that differ in one image and two
/// binaries (containerd and runc of newer releases): the old one, the new one in full, and the new one
/// as a delta of the old. Base + delta must read as the full new bundle everywhere.
/// </summary>
public sealed class DeltaFixture : IAsyncLifetime
{
    private RegistryServer? registry;
    private StaticHttpServer? binaries;

    public TempDir Dir { get; } = new();
    public AirgapCli Cli { get; private set; } = null!;
    public RegistryServer Registry => registry!;
    public string Old { get; private set; } = "";
    public string New { get; private set; } = "";
    public string Delta { get; private set; } = "";
    public string ExtraImage { get; private set; } = "";
    public ProcessResult DeltaBuild { get; private set; } = null!;

    public string[] Args(string output, bool newer, params string[] extra)
    {
        string[] changes = newer ? ["--image", ExtraImage, "--containerd-version", "1.4.4", "--runc-version", "v1.0.0-rc93"] : [];
        return
        [
            "build", "--k8s", "v1.20.2",
            "--image-repository", $"{Registry.Host}/google_containers",
            "--flannel-manifest", Path.Combine(Dir.Path, "kube-flannel.yml"),
            "--mirror", $"quay.io={Registry.Host}",
            "--binaries-url", binaries!.BaseUri.ToString(), "--github-mirror", $"{binaries.BaseUri}github",
            "--output", output, .. changes, .. extra,
        ];
    }

    public async Task InitializeAsync()
    {
        registry = await RegistryServer.StartAsync();
        await SampleImages.PushKubernetesSetAsync(registry, arches: ["amd64"]);
        using (var pusher = registry.CreatePusher())
            await pusher.PushIndexAsync("tools/extra", "1.0", SampleImages.BuildSample("extra", "1.0", ManifestFormat.Docker, ["amd64"], extraLayerBytes: 300_000));
        ExtraImage = $"{Registry.Host}/tools/extra:1.0";
        await File.WriteAllTextAsync(Path.Combine(Dir.Path, "kube-flannel.yml"), SampleImages.FlannelLikeManifest("quay.io/coreos/flannel:v0.13.0"));

        var www = Dir.Sub("www");
        foreach (var name in new[] { "kubeadm", "kubelet", "kubectl" }) Publish(www, $"release/v1.20.2/bin/linux/amd64/{name}", Random(200_000));
        Publish(www, "github/kubernetes-sigs/cri-tools/releases/download/v1.20.0/crictl-v1.20.0-linux-amd64.tar.gz", TarGz(("crictl", Random(50_000))));
        Publish(www, "github/containernetworking/plugins/releases/download/v0.8.7/cni-plugins-linux-amd64-v0.8.7.tgz", TarGz(("./bridge", Random(30_000)), ("./loopback", Random(20_000))));
        foreach (var version in new[] { "1.4.3", "1.4.4" })
            Publish(www, $"github/containerd/containerd/releases/download/v{version}/containerd-{version}-linux-amd64.tar.gz", TarGz(("bin/containerd", Random(80_000)), ("bin/ctr", Random(40_000))), ".sha256sum");
        foreach (var version in new[] { "v1.0.0-rc92", "v1.0.0-rc93" })
            Publish(www, $"github/opencontainers/runc/releases/download/{version}/runc.amd64", Random(60_000));
        binaries = StaticHttpServer.Start(www);

        Cli = new AirgapCli { Cache = Dir.Sub("cache") };
        var old = await Cli.RunAsync(Args(Dir.Sub("old"), newer: false));
        Assert.True(old.Succeeded, old.ToString());
        Old = Path.Combine(Dir.Path, "old", "airgap-k8s-v1.20.2-linux-amd64.tar");
        var full = await Cli.RunAsync(Args(Dir.Sub("new"), newer: true));
        Assert.True(full.Succeeded, full.ToString());
        New = Path.Combine(Dir.Path, "new", "airgap-k8s-v1.20.2-linux-amd64.tar");
        // A cache of its own: the delta build must not need what only the base holds.
        var deltaCli = new AirgapCli { Cache = Dir.Sub("delta-cache") };
        DeltaBuild = await deltaCli.RunAsync(Args(Dir.Sub("delta"), newer: true, "--since", Old));
        Assert.True(DeltaBuild.Succeeded, DeltaBuild.ToString());
        Delta = Path.Combine(Dir.Path, "delta", "airgap-k8s-v1.20.2-linux-amd64.tar");
    }

    public async Task DisposeAsync()
    {
        if (registry is not null) await registry.DisposeAsync();
        if (binaries is not null) await binaries.DisposeAsync();
        Dir.Dispose();
    }

    private static byte[] Random(int size) => RandomNumberGenerator.GetBytes(size);

    private static byte[] TarGz(params (string Name, byte[] Content)[] files)
    {
        using var memory = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(memory, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var (name, content) in files)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = (UnixFileMode)0x1ED });
        return memory.ToArray();
    }

    private static void Publish(string root, string relative, byte[] content, string suffix = ".sha256")
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        File.WriteAllText(path + suffix, $"{Convert.ToHexStringLower(SHA256.HashData(content))}  {Path.GetFileName(path)}\n");
    }
}

public sealed class DeltaTests(DeltaFixture fixture) : IClassFixture<DeltaFixture>, IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static async Task<Dictionary<string, string>> TarMembersAsync(string bundle)
    {
        var members = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var file = File.OpenRead(bundle);
        var reader = new TarReader(file);
        while (await reader.GetNextEntryAsync() is { } entry)
            members[entry.Name] = Convert.ToHexStringLower(await SHA256.HashDataAsync(entry.DataStream ?? Stream.Null));
        return members;
    }

    private static void RefusedInOneLine(ProcessResult result, params string[] contains)
    {
        Assert.Equal(1, result.ExitCode);
        var lines = result.Stderr.Trim().Split('\n');
        Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.StartsWith("error: ", lines[^1]);
        foreach (var c in contains) Assert.Contains(c, lines[^1]);
    }

    [Fact]
    public async Task The_delta_holds_only_the_new_image_and_binaries_and_lists_every_member_of_the_full_bundle()
    {
        var old = await TarMembersAsync(fixture.Old);
        var full = await TarMembersAsync(fixture.New);
        var delta = await TarMembersAsync(fixture.Delta);
        var oldContent = old.Values.ToHashSet();

        // Exactly what the old bundle lacks by content, apart from the delta's own bundle.yaml and SHA256SUMS.
        var expected = full.Where(m => m.Key is not (BundleDocument.FileName or BundleDocument.SumsFileName) && !oldContent.Contains(m.Value))
            .Select(m => m.Key).Order(StringComparer.Ordinal).ToList();
        var held = delta.Keys.Where(k => k is not (BundleDocument.FileName or BundleDocument.SumsFileName)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, held);
        Assert.Contains("binaries/amd64/containerd-1.4.4-linux-amd64.tar.gz", held);
        Assert.Contains("binaries/amd64/runc.amd64", held);
        Assert.DoesNotContain(held, m => m.Contains("kubeadm") || m.Contains("crictl") || m.Contains("cni-plugins"));
        // Of the images, only the new one's blobs (index, manifest, config and its two own layers; its base layer the others
        // share stays in the base), and the layout files that name it.
        var newBlobs = held.Where(m => m.StartsWith("images/blobs/", StringComparison.Ordinal)).ToList();
        Assert.Equal(5, newBlobs.Count);
        Assert.All(newBlobs, b => Assert.Equal(full[b], delta[b]));

        // The delta's bundle.yaml lists every member of the full bundle with the same sha256 and size.
        var fullDoc = await BundleReader.ReadDocumentAsync(fixture.New, default);
        var deltaDoc = await BundleReader.ReadDocumentAsync(fixture.Delta, default);
        Assert.Equal(fullDoc.Files.Select(f => (f.Path, f.Sha256, f.Size)), deltaDoc.Files.Select(f => (f.Path, f.Sha256, f.Size)));
        Assert.Equal(JsonSerializer.Serialize(fullDoc.Images), JsonSerializer.Serialize(deltaDoc.Images));
        Assert.Equal(JsonSerializer.Serialize(fullDoc.Binaries), JsonSerializer.Serialize(deltaDoc.Binaries));
        Assert.All(deltaDoc.Files, f => Assert.Equal(held.Contains(f.Path), f.Base is null));
        var oldYaml = (await BundleReader.ReadSignedDocumentAsync(fixture.Old, default)).Yaml;
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(oldYaml)), deltaDoc.Base!.BundleYamlSha256);
        Assert.Equal("airgap-k8s-v1.20.2-linux-amd64", deltaDoc.Base.Name);
        // Its size is what it holds (plus tar headers and its two documents), well under the full bundle's.
        var heldBytes = deltaDoc.Files.Where(f => f.Base is null).Sum(f => f.Size);
        Assert.InRange(new FileInfo(fixture.Delta).Length, heldBytes, heldBytes + 1536 * (held.Count + 2) + 128 * 1024);
        Assert.True(new FileInfo(fixture.Delta).Length * 3 < new FileInfo(fixture.New).Length,
            $"delta {new FileInfo(fixture.Delta).Length} bytes, full {new FileInfo(fixture.New).Length}");
        Assert.Contains("delta of airgap-k8s-v1.20.2-linux-amd64", fixture.DeltaBuild.Stdout);
        // The build downloaded none of the old images' layers or configs, nor the unchanged binaries: of what the base
        // holds, its cache of its own has only the manifests and indexes it resolved the images by.
        var pulled = Directory.GetFiles(Path.Combine(fixture.Dir.Path, "delta-cache"), "*", SearchOption.AllDirectories)
            .GroupBy(f => Path.GetFileName(f)!).ToDictionary(g => g.Key, g => g.First());
        Assert.Contains(full["binaries/amd64/runc.amd64"], pulled.Keys);
        foreach (var (member, sha) in full.Where(m => !held.Contains(m.Key) && m.Key is not (BundleDocument.FileName or BundleDocument.SumsFileName)))
        {
            if (!pulled.TryGetValue(sha, out var cached)) continue;
            var text = await File.ReadAllTextAsync(cached);
            Assert.True(text.Contains("\"layers\"", StringComparison.Ordinal) || text.Contains("\"manifests\"", StringComparison.Ordinal), $"{member} was downloaded");
        }

        // inspect says what it is and of which base.
        var inspect = await fixture.Cli.RunAsync("inspect", fixture.Delta);
        Assert.True(inspect.Succeeded, inspect.ToString());
        Assert.Contains($"delta:       of airgap-k8s-v1.20.2-linux-amd64 (Kubernetes v1.20.2, bundle.yaml sha256 {deltaDoc.Base.BundleYamlSha256})", inspect.Stdout);
    }

    [Fact]
    public async Task Verify_of_base_and_delta_checks_as_much_as_verify_of_the_full_bundle()
    {
        var full = await fixture.Cli.RunAsync("verify", fixture.New, "-o", "json");
        Assert.True(full.Succeeded, full.ToString());
        var delta = await fixture.Cli.RunAsync("verify", fixture.Delta, "--base", fixture.Old, "-o", "json");
        Assert.True(delta.Succeeded, delta.ToString());
        using var a = JsonDocument.Parse(full.Stdout);
        using var b = JsonDocument.Parse(delta.Stdout);
        foreach (var key in new[] { "members", "images", "blobs" })
            Assert.Equal(a.RootElement.GetProperty(key).GetInt32(), b.RootElement.GetProperty(key).GetInt32());
    }

    [Fact]
    public async Task A_missing_base_and_a_wrong_base_are_refused_in_one_line_by_every_command()
    {
        var oldSha = (await BundleReader.ReadDocumentAsync(fixture.Delta, default)).Base!.BundleYamlSha256;
        var newSha = Convert.ToHexStringLower(SHA256.HashData((await BundleReader.ReadSignedDocumentAsync(fixture.New, default)).Yaml));
        await using var site = await RegistryServer.StartAsync();
        string[][] commands =
        [
            ["verify", fixture.Delta],
            ["push", fixture.Delta, "--registry", $"{site.Host}/mirror"],
            ["install", "--bundle", fixture.Delta, "--dry-run"],
            ["join", "--bundle", fixture.Delta, "--endpoint", "10.0.0.1:6443", "--token", "abcdef.0123456789abcdef", "--ca-cert-hash", "sha256:" + new string('0', 64), "--dry-run"],
            ["upgrade", "apply", "--bundle", fixture.Delta, "--dry-run"],
        ];
        foreach (var command in commands)
        {
            RefusedInOneLine(await fixture.Cli.RunAsync(command), "is a delta of airgap-k8s-v1.20.2-linux-amd64", oldSha, "give that bundle with --base");
            RefusedInOneLine(await fixture.Cli.RunAsync([.. command, "--base", fixture.New]),
                $"is a delta of airgap-k8s-v1.20.2-linux-amd64 (Kubernetes v1.20.2, bundle.yaml sha256 {oldSha}), but --base {fixture.New} is airgap-k8s-v1.20.2-linux-amd64 (Kubernetes v1.20.2, bundle.yaml sha256 {newSha})");
        }
        // Nothing reached the registry.
        var catalog = await new HttpClient().GetStringAsync($"http://{site.Host}/v2/_catalog");
        Assert.DoesNotContain("mirror", catalog);
        // A base given to a full bundle is a mistake, said so.
        RefusedInOneLine(await fixture.Cli.RunAsync("verify", fixture.New, "--base", fixture.Old), "is a full bundle", "leave --base out");
    }

    [Fact]
    public async Task Install_dry_run_from_base_and_delta_plans_what_the_full_bundle_plans()
    {
        async Task<List<string>> PlanAsync(params string[] args)
        {
            var result = await fixture.Cli.RunAsync([.. args, "--dry-run", "-o", "json"]);
            Assert.True(result.Succeeded, result.ToString());
            using var doc = JsonDocument.Parse(result.Stdout);
            // The fingerprinted repository directory and the bundle's own path differ by design; the rest must not.
            return doc.RootElement.GetProperty("plan").EnumerateArray().Select(a => a.GetProperty("text").GetString()!)
                .Select(t => t.Replace(fixture.Delta, "BUNDLE", StringComparison.Ordinal).Replace(fixture.New, "BUNDLE", StringComparison.Ordinal)).ToList();
        }
        // packages: this host lacks conntrack, which the binary install path needs.
        string[] install = ["install", "--single-node", "--cni", "bridge", "--ignore-preflight-errors", "all", "--skip-phases", "packages"];
        var full = await PlanAsync([.. install, "--bundle", fixture.New]);
        var delta = await PlanAsync([.. install, "--bundle", fixture.Delta, "--base", fixture.Old]);
        Assert.Equal(full, delta);
        Assert.Contains("ctr -n k8s.io images import -", delta);
    }

    [Fact]
    public async Task A_signed_delta_s_signature_covers_base_and_delta_and_a_delta_is_refused_as_a_base()
    {
        var key = await fixture.Cli.RunAsync("key", "generate", "--out", Path.Combine(dir.Path, "site"));
        Assert.True(key.Succeeded, key.ToString());
        var build = await fixture.Cli.RunAsync(fixture.Args(dir.Sub("signed"), newer: true, "--since", fixture.Old, "--sign-key", Path.Combine(dir.Path, "site.pem")));
        Assert.True(build.Succeeded, build.ToString());
        var signed = Path.Combine(dir.Path, "signed", "airgap-k8s-v1.20.2-linux-amd64.tar");

        var verify = await fixture.Cli.RunAsync("verify", signed, "--base", fixture.Old, "--trust-key", Path.Combine(dir.Path, "site.pub.pem"));
        Assert.True(verify.Succeeded, verify.ToString());
        Assert.Contains(", signed by SHA256:", verify.Stdout);
        // The unsigned base needs no signature of its own: the signed bundle.yaml pins it and every member taken from it.
        RefusedInOneLine(await fixture.Cli.RunAsync("verify", fixture.Old, "--trust-key", Path.Combine(dir.Path, "site.pub.pem")), "is unsigned");

        RefusedInOneLine(await fixture.Cli.RunAsync(fixture.Args(dir.Sub("chain"), newer: true, "--since", fixture.Delta)),
            $"--since {fixture.Delta} is itself a delta (of airgap-k8s-v1.20.2-linux-amd64); give the full bundle it was built on, or a full build");
        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "chain")));
    }

    [Fact]
    public async Task A_damaged_member_of_the_base_is_named_by_verify()
    {
        var copy = Path.Combine(dir.Path, "old.tar");
        File.Copy(fixture.Old, copy);
        using (var index = await BundleIndex.OpenAsync(copy, default))
        {
            var kubeadm = index.Find("binaries/amd64/kubeadm")!;
            await using var file = new FileStream(copy, FileMode.Open, FileAccess.ReadWrite);
            file.Position = kubeadm.Offset + 10;
            var b = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(b ^ 0xFF));
        }
        RefusedInOneLine(await fixture.Cli.RunAsync("verify", fixture.Delta, "--base", copy),
            $"{copy}: binaries/amd64/kubeadm (the delta's binaries/amd64/kubeadm) does not match the delta's bundle.yaml");
    }

    [Fact]
    public async Task Push_from_base_and_delta_gives_the_registry_what_the_full_bundle_gives()
    {
        await using var fromFull = await RegistryServer.StartAsync();
        await using var fromDelta = await RegistryServer.StartAsync();
        var full = await fixture.Cli.RunAsync("push", fixture.New, "--registry", $"{fromFull.Host}/mirror", "-o", "json");
        Assert.True(full.Succeeded, full.ToString());
        var delta = await fixture.Cli.RunAsync("push", fixture.Delta, "--base", fixture.Old, "--registry", $"{fromDelta.Host}/mirror", "-o", "json");
        Assert.True(delta.Succeeded, delta.ToString());
        using var a = JsonDocument.Parse(full.Stdout);
        using var b = JsonDocument.Parse(delta.Stdout);
        static List<(string, string)> Pushed(JsonDocument d) => d.RootElement.GetProperty("images").EnumerateArray()
            .Select(i => (i.GetProperty("name").GetString()!, i.GetProperty("digest").GetString()!)).Order().ToList();
        Assert.Equal(Pushed(a), Pushed(b));
        Assert.Equal(9, Pushed(b).Count);
        // (blobsSent is no measure: whether a shared layer is mounted or sent depends on which repository gets it first.)
        // Every tag resolves to the same manifest in both registries, which hold the same repositories.
        using var http = new HttpClient();
        Assert.Equal(await http.GetStringAsync($"http://{fromFull.Host}/v2/_catalog"), await http.GetStringAsync($"http://{fromDelta.Host}/v2/_catalog"));
        foreach (var image in b.RootElement.GetProperty("images").EnumerateArray())
        {
            var target = image.GetProperty("target").GetString()!;
            var digest = image.GetProperty("digest").GetString()!;
            var path = target[(target.IndexOf('/') + 1)..];
            var repository = path[..path.LastIndexOf(':')];
            var tag = path[(path.LastIndexOf(':') + 1)..];
            foreach (var host in new[] { fromFull.Host, fromDelta.Host })
            {
                using var request = new HttpRequestMessage(HttpMethod.Head, $"http://{host}/v2/{repository}/manifests/{tag}");
                request.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.v2+json");
                request.Headers.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
                request.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.list.v2+json");
                request.Headers.Accept.ParseAdd("application/vnd.oci.image.index.v1+json");
                using var response = await http.SendAsync(request);
                Assert.True(response.IsSuccessStatusCode, $"{host}/{repository}:{tag} {response.StatusCode}");
                Assert.Equal(digest, response.Headers.GetValues("Docker-Content-Digest").Single());
            }
        }
    }

    [Fact]
    public async Task Serve_of_base_and_delta_answers_every_tag_with_its_digest_and_every_blob()
    {
        var port = Airgap.TestKit.Infrastructure.Net.FreeLoopbackPort();
        await using var process = Airgap.TestKit.Infrastructure.ServerProcess.Start(AirgapCli.Executable,
            ["serve", fixture.Delta, "--base", fixture.Old, "--address", $"127.0.0.1:{port}"], Path.Combine(dir.Path, "serve.log"));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        for (var i = 0; ; i++)
        {
            try
            {
                if ((await http.GetAsync("v2/")).IsSuccessStatusCode) break;
            }
            catch (HttpRequestException) when (i < 300 && !process.HasExited) { }
            await Task.Delay(100);
        }
        var doc = await BundleReader.ReadDocumentAsync(fixture.New, default);
        foreach (var image in doc.Images)
        {
            var colon = image.Name.LastIndexOf(':');
            using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{image.Name[..colon]}/manifests/{image.Name[(colon + 1)..]}");
            foreach (var type in new[] { "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json",
                         "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json" })
                request.Headers.Accept.ParseAdd(type);
            using var response = await http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"{image.Name}: {response.StatusCode}");
            Assert.Equal(image.TargetDigest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await response.Content.ReadAsByteArrayAsync())));
        }
        // Every blob, wherever it lies, served whole and matching its digest.
        foreach (var blob in doc.Files.Where(f => f.Path.StartsWith("images/blobs/sha256/", StringComparison.Ordinal)))
        {
            var bytes = await http.GetByteArrayAsync($"v2/{doc.Images[0].Name[..doc.Images[0].Name.LastIndexOf(':')]}/blobs/sha256:{blob.Sha256}");
            Assert.Equal(blob.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
    }

    [Fact]
    public async Task Images_and_binaries_extracted_from_base_and_delta_are_those_of_the_full_bundle()
    {
        var set = new BundleSet(fixture.Delta, fixture.Old);
        var doc = (await set.LayoutAsync(default)).Document;

        // The images as one OCI archive (what the runtime imports): byte-identical from either.
        async Task<byte[]> ArchiveAsync(BundleSet bundle)
        {
            using var source = await BundleImageSource.OpenAsync(bundle, default);
            using var memory = new MemoryStream();
            await OciArchive.WriteAsync(source, source.Images, Airgap.Oci.Platform.Linux("amd64"), memory, default);
            return memory.ToArray();
        }
        Assert.Equal(SHA256.HashData(await ArchiveAsync(fixture.New)), SHA256.HashData(await ArchiveAsync(set)));

        // Every member tree under a prefix, and each binary installed as the node installs it.
        var expected = doc.Files.ToDictionary(f => f.Path, f => f.Sha256, StringComparer.Ordinal);
        var fromFull = dir.Sub("full");
        var fromDelta = dir.Sub("delta");
        Assert.Equal(await BundleExtractor.ExtractAsync(fixture.New, "images/", fromFull, expected, default),
            await BundleExtractor.ExtractAsync(set, "images/", fromDelta, expected, default));
        foreach (var file in Directory.GetFiles(fromFull, "*", SearchOption.AllDirectories))
            Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(Path.Combine(fromDelta, Path.GetRelativePath(fromFull, file))));
        Assert.Equal(Directory.GetFiles(fromFull, "*", SearchOption.AllDirectories).Length, Directory.GetFiles(fromDelta, "*", SearchOption.AllDirectories).Length);

        foreach (var binary in doc.Binaries)
        {
            var a = Path.Combine(dir.Path, "bin-full", binary.Name);
            var b = Path.Combine(dir.Path, "bin-delta", binary.Name);
            await BundleExtractor.InstallMemberAsync(fixture.New, binary.Path, binary.Sha256, a, (UnixFileMode)0x1ED, default);
            await BundleExtractor.InstallMemberAsync(set, binary.Path, binary.Sha256, b, (UnixFileMode)0x1ED, default);
            Assert.Equal(await File.ReadAllBytesAsync(a), await File.ReadAllBytesAsync(b));
        }
        var containerd = doc.Binaries.Single(b => b.Name == "containerd");
        var unpacked = await BundleExtractor.InstallArchiveMemberAsync(set, containerd.Path, containerd.Sha256,
            name => name.StartsWith("bin/", StringComparison.Ordinal) ? Path.Combine(dir.Path, "unpacked", name[4..]) : null, (UnixFileMode)0x1ED, default);
        Assert.Equal(2, unpacked.Count);
        var manifest = await BundleExtractor.ReadMemberAsync(set, doc.Cni.Manifest!, default);
        Assert.Equal(await BundleExtractor.ReadMemberAsync(fixture.New, doc.Cni.Manifest!, default), manifest);
    }

    /// <summary>The README's check of a delta with nothing but awk and sha256sum (also run on a full bundle with binaries, where the plain files: list applies).</summary>
    private const string ReadmeCheck = """
        awk -v B=../base/ 'function out() { if (p) print s "  " (b ? B b : p); p = "" }
          /^files:/ { f = 1; next } /^[^ -]/ { if (f) out(); f = 0 }
          f && /^- path:/ { out(); p = $3; b = "" } f && /^  sha256:/ { s = $2 } f && /^  base:/ { b = $2 }
          END { out() }' bundle.yaml | sha256sum --strict -c
        """;

    [Fact]
    public async Task Base_and_delta_check_with_awk_and_sha256sum_as_the_readme_says()
    {
        foreach (var (bundle, into) in new[] { (fixture.Old, "base"), (fixture.Delta, "delta"), (fixture.New, "full") })
            await BuiltBundleTests.ExtractAsync(bundle, dir.Sub(into));
        var delta = await ProcessRunner.RunAsync("/bin/sh", ["-c", ReadmeCheck], workingDirectory: Path.Combine(dir.Path, "delta"));
        Assert.True(delta.Succeeded, delta.ToString());
        var doc = await BundleReader.ReadDocumentAsync(fixture.Delta, default);
        Assert.Equal(doc.Files.Count, delta.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.EndsWith(": OK", StringComparison.Ordinal)));
        Assert.Contains("../base/binaries/amd64/kubeadm: OK", delta.Stdout);
        Assert.Contains("binaries/amd64/runc.amd64: OK", delta.Stdout);
        var full = await ProcessRunner.RunAsync("/bin/sh", ["-c", ReadmeCheck], workingDirectory: Path.Combine(dir.Path, "full"));
        Assert.True(full.Succeeded, full.ToString());
        Assert.DoesNotContain("../base/", full.Stdout);

        // A base member changed after the fact is caught.
        var kubeadm = Path.Combine(dir.Path, "base", "binaries", "amd64", "kubeadm");
        var bytes = await File.ReadAllBytesAsync(kubeadm);
        bytes[7] ^= 1;
        await File.WriteAllBytesAsync(kubeadm, bytes);
        var bad = await ProcessRunner.RunAsync("/bin/sh", ["-c", ReadmeCheck], workingDirectory: Path.Combine(dir.Path, "delta"));
        Assert.False(bad.Succeeded);
        Assert.Contains("../base/binaries/amd64/kubeadm: FAILED", bad.Stdout);
    }

    [Fact]
    public async Task Containerd_imports_from_base_and_delta_the_images_the_full_bundle_has()
    {
        await using var containerd = await ContainerdServer.StartAsync();
        var host = new Nodes.RootedHost("/", spec => spec with { Env = new Dictionary<string, string>(spec.Env ?? new Dictionary<string, string>()) { ["CONTAINERD_ADDRESS"] = containerd.Address } });
        var store = new ContainerdImageStore(host);
        Assert.Equal(9, await store.ImportAsync(new BundleSet(fixture.Delta, fixture.Old), new HashSet<string>(), default));
        var names = await store.NamesAsync(default);
        Assert.Contains(names, n => n.EndsWith("tools/extra:1.0", StringComparison.Ordinal));
        // The new image runs: its layers came from the delta, the busybox base layer under them from the base.
        var run = await containerd.RunAsync(names.Single(n => n.EndsWith("tools/extra:1.0", StringComparison.Ordinal)), "airgap-it-" + Guid.NewGuid().ToString("N")[..8], ["/bin/busybox", "cat", "/etc/airgap-image"]);
        Assert.True(run.exit == 0, run.stderr + containerd.LogTail());
        Assert.Contains("extra:1.0", run.stdout);
        // Nothing the full bundle would import is missing: importing the full bundle now brings nothing new.
        Assert.Equal(0, await store.ImportAsync(fixture.New, names, default));
    }
}
