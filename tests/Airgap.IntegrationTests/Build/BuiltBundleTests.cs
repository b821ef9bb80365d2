using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Airgap.Nodes.Phases;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Build;

/// <summary>What a bundle built from a real registry holds, checked with our reader and with independent tools.</summary>
public sealed class BuiltBundleTests(BuildFixture fixture) : IClassFixture<BuildFixture>
{
    [Fact]
    public async Task Bundle_passes_verify()
    {
        var result = await fixture.Cli.RunAsync("verify", fixture.BundlePath, "-o", "json");
        Assert.True(result.Succeeded, result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        Assert.True(doc.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(8, doc.RootElement.GetProperty("images").GetInt32());
    }

    [Fact]
    public async Task Inspect_names_every_image_canonically_with_its_mirror_source()
    {
        var result = await fixture.Cli.RunAsync("inspect", fixture.BundlePath, "-o", "json");
        Assert.True(result.Succeeded, result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        var images = doc.RootElement.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(BuildFixture.CanonicalNames, images.Select(i => i.GetProperty("name").GetString()).ToArray());
        var apiserver = images.Single(i => i.GetProperty("name").GetString() == "k8s.gcr.io/kube-apiserver:v1.20.2");
        Assert.Equal($"{fixture.Registry.Host}/google_containers/kube-apiserver:v1.20.2", apiserver.GetProperty("source").GetString());
        // Byte-exact: the registry's own manifest and index digests, and media types, Docker's or OCI's.
        var source = fixture.Set.Find("kube-apiserver");
        Assert.Equal(source.PlatformDigest("amd64"), apiserver.GetProperty("digest").GetString());
        Assert.Equal(source.Digest, apiserver.GetProperty("indexDigest").GetString());
        Assert.Equal("application/vnd.docker.distribution.manifest.v2+json", apiserver.GetProperty("mediaType").GetString());
        Assert.Equal("application/vnd.docker.distribution.manifest.list.v2+json", apiserver.GetProperty("indexMediaType").GetString());
        var etcd = images.Single(i => i.GetProperty("name").GetString() == "k8s.gcr.io/etcd:3.4.13-0");
        Assert.Equal(fixture.Set.Find("etcd").PlatformDigest("amd64"), etcd.GetProperty("digest").GetString());
        Assert.Equal(fixture.Set.Find("etcd").Digest, etcd.GetProperty("indexDigest").GetString());
        Assert.Equal("application/vnd.oci.image.manifest.v1+json", etcd.GetProperty("mediaType").GetString());
        Assert.False(etcd.TryGetProperty("sourceDigest", out var legacy) && legacy.ValueKind != JsonValueKind.Null);
        Assert.Equal("v1.20.2", doc.RootElement.GetProperty("kubernetes").GetString());
        Assert.Equal("amd64", doc.RootElement.GetProperty("arch").GetString());
    }

    [Fact]
    public async Task Bundle_holds_each_blob_of_its_platform_once_and_nothing_of_others()
    {
        var members = await ReadMembersAsync(fixture.BundlePath);
        var blobs = members.Keys.Where(k => k.StartsWith("images/blobs/sha256/", StringComparison.Ordinal))
            .Select(k => "sha256:" + k[^64..]).ToHashSet();
        // Configs and layers of amd64, its platform manifests and the multi-arch indexes, exactly as the registry has them.
        var expected = fixture.Set.BlobsFor("amd64").Keys.ToHashSet();
        foreach (var image in fixture.Set.All)
        {
            expected.Add(image.Digest);
            expected.Add(image.PlatformDigest("amd64"));
        }
        Assert.Equal(expected.OrderBy(x => x), blobs.OrderBy(x => x));
        Assert.Equal("bundle.yaml", members.Keys.First());
        Assert.Equal("SHA256SUMS", members.Keys.Skip(1).First());
        Assert.Contains("manifests/kube-flannel.yml", members.Keys);
        Assert.Contains("images/manifest.json", members.Keys);
    }

    [Fact]
    public async Task Sha256sum_accepts_the_extracted_bundle()
    {
        using var dir = new TempDir();
        await ExtractAsync(fixture.BundlePath, dir.Path);
        var check = await ProcessRunner.RunAsync("sha256sum", ["--strict", "-c", "SHA256SUMS"], workingDirectory: dir.Path);
        Assert.True(check.Succeeded, check.ToString());
    }

    [Fact]
    public async Task Skopeo_reads_the_oci_layout_by_canonical_name_and_digest()
    {
        using var dir = new TempDir();
        await ExtractAsync(fixture.BundlePath, dir.Path);
        // Debian 12's skopeo (1.9) skips Docker-typed entries of an OCI index: the OCI-typed etcd is what it reads.
        var result = await ProcessRunner.RunAsync("skopeo",
            ["inspect", "--raw", $"oci:{Path.Combine(dir.Path, "images")}:k8s.gcr.io/etcd:3.4.13-0"]);
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(fixture.Set.Find("etcd").Digest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(result.Stdout))));
        var inspect = await ProcessRunner.RunAsync("skopeo", ["inspect", $"oci:{Path.Combine(dir.Path, "images")}:k8s.gcr.io/etcd:3.4.13-0"]);
        Assert.True(inspect.Succeeded, inspect.ToString());
        using var etcd = JsonDocument.Parse(inspect.Stdout);
        Assert.Equal("amd64", etcd.RootElement.GetProperty("Architecture").GetString());
    }

    [Fact]
    public async Task Containerd_imports_the_layout_with_exactly_the_canonical_names_and_runs_one()
    {
        using var dir = new TempDir();
        await ExtractAsync(fixture.BundlePath, dir.Sub("x"));
        var archive = Path.Combine(dir.Path, "images.tar");
        var tar = await ProcessRunner.RunAsync("tar", ["-C", Path.Combine(dir.Path, "x", "images"), "-cf", archive, "."]);
        Assert.True(tar.Succeeded, tar.ToString());

        await using var containerd = await ContainerdServer.StartAsync();
        var import = await containerd.ImportAsync(archive);
        Assert.True(import.exit == 0, import.stderr);
        var list = await containerd.CtrAsync("-n", "k8s.io", "images", "ls", "-q");
        var names = list.stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(BuildFixture.CanonicalNames, names.Where(n => !n.Contains('@')).Order(StringComparer.Ordinal).ToArray());
        // Beside each tag, name@digest for the index and the platform manifest: what the CRI resolves pinned references by.
        foreach (var image in fixture.Set.All)
        {
            var repository = BuildFixture.CanonicalOf(image).Split(':')[0];
            Assert.Contains($"{repository}@{image.Digest}", names);
            Assert.Contains($"{repository}@{image.PlatformDigest("amd64")}", names);
        }
        Assert.Equal(BuildFixture.CanonicalNames.Length * 3, names.Length);

        // Each name points at what it points at upstream (the multi-arch index): the CRI plugin resolves
        // a reference pinned by that digest to it, and the platform manifest below it is there to run.
        var table = await containerd.CtrAsync("-n", "k8s.io", "images", "ls");
        foreach (var image in fixture.Set.All)
        {
            var name = BuildFixture.CanonicalOf(image);
            Assert.Contains(table.stdout.Split('\n'), l => l.StartsWith(name + " ", StringComparison.Ordinal) && l.Contains(image.Digest, StringComparison.Ordinal));
        }

        var run = await containerd.RunAsync($"k8s.gcr.io/pause@{fixture.Set.Find("pause").PlatformDigest("amd64")}", "airgap-it-" + Guid.NewGuid().ToString("N")[..8], ["/bin/busybox", "echo", "hello from the bundle"]);
        Assert.True(run.exit == 0, run.stderr + containerd.LogTail());
        Assert.Contains("hello from the bundle", run.stdout);
    }

    [Fact]
    public async Task Install_dry_run_plans_every_command_and_config_from_the_bundle_and_changes_nothing()
    {
        // The fixture bundle holds images only (no packages, no binaries): runtime and packages are skipped.
        string[] common = ["install", "--bundle", fixture.BundlePath, "--single-node", "--cni", "bridge", "--dry-run", "--ignore-preflight-errors", "all", "--skip-phases", "runtime,packages"];
        var result = await fixture.Cli.RunAsync([.. common, "-o", "json"]);
        Assert.True(result.Succeeded, result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        Assert.Equal("kubeadm.k8s.io/v1beta2", doc.RootElement.GetProperty("kubeadmApi").GetString());
        var phases = doc.RootElement.GetProperty("phases").EnumerateArray().Select(p => (p.GetProperty("name").GetString()!, p.GetProperty("outcome").GetString())).ToArray();
        Assert.Equal(["verify", "preflight", "runtime", "packages", "images", "kubeadm", "kubeconfig", "cni", "finalize"], phases.Select(p => p.Item1));
        Assert.Equal(["planned", "planned", "skipped", "skipped", "planned", "planned", "planned", "planned", "planned"], phases.Select(p => p.Item2));
        var plan = doc.RootElement.GetProperty("plan").EnumerateArray().Select(a => a.GetProperty("text").GetString()!).ToList();
        Assert.Contains("ctr -n k8s.io images import -", plan);
        Assert.Contains("kubeadm init --config /etc/kubernetes/airgap/kubeadm.yaml --ignore-preflight-errors=all", plan);
        Assert.Contains(plan, a => a.StartsWith("write /etc/cni/net.d/", StringComparison.Ordinal));
        // The journal is the run's own bookkeeping, not a change the operator asked for.
        Assert.DoesNotContain(plan, a => a.Contains("journal.json", StringComparison.Ordinal));
        Assert.False(File.Exists("/var/lib/airgap/journal.json"));

        // As text, configs are printed whole; extra SANs are comma-separated as kubeadm's flag.
        var text = await fixture.Cli.RunAsync([.. common, "--apiserver-cert-extra-sans", "lb.example,10.0.0.5", "--apiserver-cert-extra-sans", "10.0.0.6"]);
        Assert.Matches(@"certSANs:\s*\n\s*\|\s+- ""?lb.example""?\s*\n\s*\|\s+- ""?10.0.0.5""?\s*\n\s*\|\s+- ""?10.0.0.6", text.Stdout);
        Assert.True(text.Succeeded, text.ToString());
        Assert.Contains("  plan: write /etc/kubernetes/airgap/kubeadm.yaml", text.Stdout);
        Assert.Contains("  |   kubernetesVersion: v1.20.2", text.Stdout);
        Assert.False(File.Exists("/etc/kubernetes/airgap/kubeadm.yaml"));

        var bad = await fixture.Cli.RunAsync("install", "--bundle", fixture.BundlePath, "--cni", "bridge", "--dry-run");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("--single-node", bad.Stderr);

        var docker = await fixture.Cli.RunAsync([.. common, "--runtime", "docker"]);
        Assert.True(docker.Succeeded, docker.ToString());
        Assert.Matches(@"would import the bundle's \d+ images into Docker, those it lacks", docker.Stdout);
        Assert.Contains("criSocket: \"unix:///var/run/dockershim.sock\"", docker.Stdout);
        var podman = await fixture.Cli.RunAsync("install", "--bundle", fixture.BundlePath, "--runtime", "podman", "--dry-run");
        Assert.NotEqual(0, podman.ExitCode);
        Assert.Equal("error: --runtime \"podman\" is not known; use containerd, or docker (Kubernetes before 1.24)", podman.Stderr.Trim());
    }

    [Fact]
    public async Task Install_dry_run_with_a_registry_mirror_points_containerd_at_it_and_pulls_instead_of_importing()
    {
        using var dir = new TempDir();
        var ca = Path.Combine(dir.Path, "ca.crt");
        await File.WriteAllTextAsync(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        var result = await fixture.Cli.RunAsync("install", "--bundle", fixture.BundlePath, "--single-node", "--cni", "bridge", "--dry-run",
            "--ignore-preflight-errors", "all", "--skip-phases", "runtime,packages", "--registry-mirror", "https://10.0.0.5:5000/site", "--registry-ca", ca, "-o", "json");
        Assert.True(result.Succeeded, result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        var plan = doc.RootElement.GetProperty("plan").EnumerateArray().Select(a => a.GetProperty("text").GetString()!).ToList();
        // The runtime phase's hosts.toml files are unit-tested (this bundle has no containerd to install).
        Assert.Contains("crictl --runtime-endpoint unix:///run/containerd/containerd.sock pull k8s.gcr.io/kube-apiserver:v1.20.2", plan);
        Assert.DoesNotContain("ctr -n k8s.io images import -", plan);

        var docker = await fixture.Cli.RunAsync("install", "--bundle", fixture.BundlePath, "--single-node", "--dry-run", "--runtime", "docker", "--registry-mirror", "https://10.0.0.5:5000");
        Assert.Equal(1, docker.ExitCode);
        Assert.StartsWith("error: --registry-mirror configures containerd;", docker.Stderr.Trim());
    }

    [Fact]
    public async Task Help_lists_every_phase_from_the_phase_objects_and_one_phase_runs_alone()
    {
        foreach (var (verb, workflow) in new[] { ("install", NodeWorkflows.Install), ("join", NodeWorkflows.Join) })
        {
            var help = await fixture.Cli.RunAsync(verb, "--help");
            var phaseHelp = await fixture.Cli.RunAsync(verb, "phase", "--help");
            Assert.True(help.Succeeded && phaseHelp.Succeeded, help + "\n" + phaseHelp);
            foreach (var phase in workflow.Phases)
            {
                var line = new Regex($@"^\s+{phase.Name}\s+{Regex.Escape(phase.Description)}$", RegexOptions.Multiline);
                Assert.Matches(line, help.Stdout);
                Assert.Matches(line, phaseHelp.Stdout);
            }
            Assert.Equal(workflow.Phases.Count, phaseHelp.Stdout.Split('\n').SkipWhile(l => l != "Commands:").Count(l => l.StartsWith("  ", StringComparison.Ordinal)));
        }
        var cni = await fixture.Cli.RunAsync("join", "phase", "cni", "--bundle", fixture.BundlePath);
        Assert.Equal(2, cni.ExitCode);
        Assert.StartsWith("error: Unrecognized command or argument 'cni'", cni.Stderr);

        var images = await fixture.Cli.RunAsync("install", "phase", "images", "--bundle", fixture.BundlePath, "--single-node", "--cni", "bridge", "--dry-run", "-o", "json");
        Assert.True(images.Succeeded, images.ToString());
        using var doc = JsonDocument.Parse(images.Stdout);
        var phases = doc.RootElement.GetProperty("phases").EnumerateArray().Select(p => (p.GetProperty("name").GetString(), p.GetProperty("outcome").GetString())).ToArray();
        Assert.Equal([("images", "planned")], phases);
        Assert.Equal(["ctr -n k8s.io images import -"], doc.RootElement.GetProperty("plan").EnumerateArray().Select(a => a.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Join_dry_run_plans_kubeadm_join_without_ever_printing_the_token()
    {
        const string token = "abcdef.0123456789abcdef";
        var result = await fixture.Cli.RunAsync("join", "--bundle", fixture.BundlePath, "--endpoint", "10.0.0.1:6443", "--token", token,
            "--ca-cert-hash", "sha256:" + new string('a', 64), "--dry-run", "--skip-phases", "runtime,packages", "--ignore-preflight-errors", "all");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("dry run of airgap join", result.Stdout);
        Assert.Contains("  plan: kubeadm join --config /etc/kubernetes/airgap/kubeadm.yaml", result.Stdout);
        Assert.Contains("  |   kind: JoinConfiguration", result.Stdout);
        Assert.Contains("<redacted>", result.Stdout);
        Assert.DoesNotContain(token, result.Stdout + result.Stderr);
        Assert.Contains("[kubeconfig] skipped: workers get no admin kubeconfig", result.Stdout);
    }

    [Fact]
    public async Task Install_reads_its_flags_from_node_yaml_and_refuses_unknown_fields()
    {
        using var dir = new TempDir();
        var node = Path.Combine(dir.Path, "node.yaml");
        await File.WriteAllTextAsync(node, "singleNode: true\ncni: bridge\npodNetworkCidr: 10.32.0.0/16\nskipPhases: [runtime, packages, finalize]\nignorePreflightErrors: [all]\n");
        var result = await fixture.Cli.RunAsync("install", "--bundle", fixture.BundlePath, "--config", node, "--dry-run", "-o", "json");
        Assert.True(result.Succeeded, result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        var finalize = doc.RootElement.GetProperty("phases").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "finalize");
        Assert.Equal("--skip-phases", finalize.GetProperty("skipReason").GetString());
        Assert.Contains(doc.RootElement.GetProperty("plan").EnumerateArray(), a => a.GetProperty("text").GetString()!.StartsWith("write /etc/cni/net.d/", StringComparison.Ordinal));

        await File.WriteAllTextAsync(node, "singleNode: true\npodCidr: 10.32.0.0/16\n");
        var bad = await fixture.Cli.RunAsync("install", "--bundle", fixture.BundlePath, "--config", node, "--dry-run");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("podCidr", bad.Stderr);
    }

    [Fact]
    public async Task Same_inputs_give_a_byte_identical_bundle_even_from_a_cold_cache()
    {
        using var dir = new TempDir();
        var cli = new AirgapCli { Cache = dir.Sub("cache") };
        var result = await cli.RunAsync(fixture.BuildArgs(dir.Sub("out")));
        Assert.True(result.Succeeded, result.ToString());
        var again = Path.Combine(dir.Path, "out", "airgap-k8s-v1.20.2-linux-amd64.tar");
        Assert.Equal(Sha256(fixture.BundlePath), Sha256(again));
    }

    [Fact]
    public async Task Two_architectures_give_two_bundles_with_their_own_platform_images()
    {
        using var dir = new TempDir();
        var cli = new AirgapCli { Cache = dir.Sub("cache") };
        var result = await cli.RunAsync(fixture.BuildArgs(dir.Sub("out"), "--arch", "amd64,arm64", "-o", "json"));
        Assert.True(result.Succeeded, result.ToString());
        var arm = Path.Combine(dir.Path, "out", "airgap-k8s-v1.20.2-linux-arm64.tar");
        Assert.True(File.Exists(Path.Combine(dir.Path, "out", "airgap-k8s-v1.20.2-linux-amd64.tar")));
        var inspect = await cli.RunAsync("inspect", arm, "-o", "json");
        using var doc = JsonDocument.Parse(inspect.Stdout);
        var etcd = doc.RootElement.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "k8s.gcr.io/etcd:3.4.13-0");
        Assert.Equal(fixture.Set.Find("etcd").PlatformDigest("arm64"), etcd.GetProperty("digest").GetString());
        Assert.Equal("linux/arm64", etcd.GetProperty("platform").GetString());
        Assert.True((await cli.RunAsync("verify", arm)).Succeeded);

        // On this amd64 machine the arm64 bundle is refused before anything else, dry run or not.
        var install = await cli.RunAsync("install", "--bundle", arm, "--single-node", "--dry-run");
        Assert.Equal(1, install.ExitCode);
        Assert.Equal($"error: phase verify failed: {arm} is for linux/arm64 but this node is linux/amd64; use the amd64 bundle", install.Stderr.Trim().Split('\n')[^1]);
    }

    [Fact]
    public async Task A_cut_blob_transfer_is_resumed_not_an_error()
    {
        await using var proxy = CuttingProxy.Start(fixture.Registry.Host, path => path.Contains("/blobs/"), cutCount: 3, bytesBeforeCut: 64 * 1024);
        using var dir = new TempDir();
        var cli = new AirgapCli { Cache = dir.Sub("cache") };
        var args = new[]
        {
            "build", "--k8s", "v1.20.2", "--image-repository", $"{proxy.Host}/google_containers", "--cni", "none", "--no-binaries", "--output", dir.Sub("out"),
        };
        var result = await cli.RunAsync(args);
        Assert.True(result.Succeeded, result.ToString());
        Assert.True(proxy.CutsDone >= 1, "the proxy cut no transfer; the test proves nothing");
        Assert.True((await cli.RunAsync("verify", Path.Combine(dir.Path, "out", "airgap-k8s-v1.20.2-linux-amd64.tar"))).Succeeded);
    }

    [Fact]
    public async Task A_second_build_takes_every_blob_from_the_cache()
    {
        await using var proxy = CuttingProxy.Start(fixture.Registry.Host, _ => false, cutCount: 0);
        using var dir = new TempDir();
        var cli = new AirgapCli { Cache = dir.Sub("cache") };
        string[] args = ["build", "--k8s", "v1.20.2", "--image-repository", $"{proxy.Host}/google_containers", "--cni", "none", "--no-binaries", "--output", dir.Sub("out")];
        Assert.True((await cli.RunAsync(args)).Succeeded);
        var blobGets = proxy.RequestLog.Count(r => r.Contains("/blobs/"));
        Assert.True(blobGets >= 8);
        Assert.True((await cli.RunAsync(args)).Succeeded);
        Assert.Equal(blobGets, proxy.RequestLog.Count(r => r.Contains("/blobs/")));
    }

    internal static async Task<Dictionary<string, long>> ReadMembersAsync(string bundle)
    {
        var members = new Dictionary<string, long>();
        await using var file = File.OpenRead(bundle);
        var reader = new TarReader(file);
        while (await reader.GetNextEntryAsync() is { } entry) members.Add(entry.Name, entry.Length);
        return members;
    }

    internal static async Task ExtractAsync(string bundle, string directory)
    {
        var result = await ProcessRunner.RunAsync("tar", ["-xf", bundle, "-C", directory]);
        Assert.True(result.Succeeded, result.ToString());
    }

    private static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }
}
