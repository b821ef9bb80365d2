using Airgap.Releases;

namespace Airgap.Tests.Releases;

// Executing a script that this process has just written can fail with "Text file busy" when another
// test forks a child at the same moment, so these tests do not run beside other collections.
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FakeKubeadmCollection
{
    public const string Name = "fake kubeadm";
}

/// <summary>A shell script that answers like kubeadm v1.21.2 would, with a marker in the pause tag.</summary>
public sealed class FakeKubeadm : IDisposable
{
    // Mirrors kubeadm's rules: the default registry nests CoreDNS, a custom one gets a flat name.
    private const string Script = """
        #!/bin/sh
        if [ "$1" = version ]; then
          echo "I0101 00:00:00 some klog noise" >&2
          echo "v1.21.2"
          exit 0
        fi
        if [ "$1 $2 $3" = "config images list" ]; then
          shift 3
          ver=""; repo="k8s.gcr.io"; dns="k8s.gcr.io/coredns/coredns"
          while [ $# -gt 0 ]; do
            case "$1" in
              --kubernetes-version) ver="$2"; shift 2 ;;
              --image-repository) repo="$2"; dns="$2/coredns"; shift 2 ;;
              *) echo "unknown flag: $1" >&2; exit 1 ;;
            esac
          done
          [ -n "$ver" ] || { echo "no --kubernetes-version" >&2; exit 1; }
          echo "W0101 could not fetch a Kubernetes version from the internet" >&2
          for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do echo "$repo/$c:$ver"; done
          echo "$repo/pause:3.4.1-fake"
          echo "$repo/etcd:3.4.13-0"
          echo "$dns:v1.8.0"
          exit 0
        fi
        echo "unknown command \"$1\" for \"kubeadm\"" >&2
        exit 1
        """;

    public string Dir { get; } = Directory.CreateTempSubdirectory("airgap-fake-kubeadm-").FullName;
    public string Path { get; }

    public FakeKubeadm()
    {
        Path = System.IO.Path.Combine(Dir, "kubeadm");
        File.WriteAllText(Path, Script.Replace("\r\n", "\n") + "\n");
        MakeExecutable(Path);
    }

    public static void MakeExecutable(string path)
    {
        // The scripts are POSIX shell; these tests only mean anything where /bin/sh exists.
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

[Collection(FakeKubeadmCollection.Name)]
public sealed class KubeadmBinaryTests : IClassFixture<FakeKubeadm>
{
    private static readonly KubernetesVersion V1_21_2 = KubernetesVersion.Parse("v1.21.2");
    private readonly FakeKubeadm fake;

    public KubeadmBinaryTests(FakeKubeadm fake) => this.fake = fake;

    [Fact]
    public async Task Reads_the_version_from_stdout_only()
    {
        var version = await new KubeadmBinary(fake.Path).GetVersionAsync();

        Assert.Equal(V1_21_2, version);
    }

    [Fact]
    public async Task Lists_images_line_by_line_ignoring_stderr()
    {
        var images = await new KubeadmBinary(fake.Path).ListImagesAsync(V1_21_2, null);

        Assert.Equal(
            [
                "k8s.gcr.io/kube-apiserver:v1.21.2",
                "k8s.gcr.io/kube-controller-manager:v1.21.2",
                "k8s.gcr.io/kube-scheduler:v1.21.2",
                "k8s.gcr.io/kube-proxy:v1.21.2",
                "k8s.gcr.io/pause:3.4.1-fake",
                "k8s.gcr.io/etcd:3.4.13-0",
                "k8s.gcr.io/coredns/coredns:v1.8.0",
            ],
            images);
    }

    [Fact]
    public async Task Passes_the_image_repository()
    {
        var images = await new KubeadmBinary(fake.Path).ListImagesAsync(V1_21_2, "mirror.example/google_containers");

        Assert.Equal("mirror.example/google_containers/kube-apiserver:v1.21.2", images[0]);
        Assert.Equal("mirror.example/google_containers/coredns:v1.8.0", images[^1]);
    }

    [Fact]
    public async Task A_failure_names_the_command_exit_code_and_last_stderr_line()
    {
        var script = System.IO.Path.Combine(fake.Dir, "failing-kubeadm");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho 'first complaint' >&2\necho 'error execution phase: it broke' >&2\nexit 3\n");
        FakeKubeadm.MakeExecutable(script);

        var e = await Assert.ThrowsAsync<KubeadmException>(() => new KubeadmBinary(script).ListImagesAsync(V1_21_2, "R"));

        Assert.Equal(
            $"\"{script} config images list --kubernetes-version v1.21.2 --image-repository R\" exited with code 3: error execution phase: it broke",
            e.Message);
    }

    [Fact]
    public async Task A_missing_binary_is_a_one_line_error()
    {
        var missing = System.IO.Path.Combine(fake.Dir, "no-such-kubeadm");

        var e = await Assert.ThrowsAsync<KubeadmException>(() => new KubeadmBinary(missing).GetVersionAsync());

        Assert.StartsWith($"could not run \"{missing} version -o short\": ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Finds_kubeadm_on_a_search_path()
    {
        var empty = Directory.CreateTempSubdirectory("airgap-empty-").FullName;
        try
        {
            var found = KubeadmBinary.FindOnPath(string.Join(System.IO.Path.PathSeparator, empty, fake.Dir));
            Assert.Equal(fake.Path, found?.ExecutablePath);
            Assert.Null(KubeadmBinary.FindOnPath(empty));
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Fact]
    public async Task Resolver_zips_canonical_names_with_the_image_repository_names()
    {
        var images = await KubeadmImageResolver.ResolveAsync(V1_21_2, "mirror.example/gc", fake.Path, CancellationToken.None);

        Assert.Equal(7, images.Count);
        Assert.Equal(new ResolvedImage("k8s.gcr.io/kube-apiserver:v1.21.2", "mirror.example/gc/kube-apiserver:v1.21.2"), images[0]);
        Assert.Equal(new ResolvedImage("k8s.gcr.io/pause:3.4.1-fake", "mirror.example/gc/pause:3.4.1-fake"), images[4]);
        Assert.Equal(new ResolvedImage("k8s.gcr.io/coredns/coredns:v1.8.0", "mirror.example/gc/coredns:v1.8.0"), images[6]);
    }

    [Fact]
    public async Task Resolver_without_an_image_repository_pulls_canonical_names()
    {
        var images = await KubeadmImageResolver.ResolveAsync(V1_21_2, null, fake.Path, CancellationToken.None);

        Assert.All(images, i => Assert.Equal(i.Canonical, i.Source));
        Assert.Equal("k8s.gcr.io/pause:3.4.1-fake", images[4].Canonical);
    }

    [Fact]
    public async Task Resolver_refuses_a_given_kubeadm_of_another_version()
    {
        var e = await Assert.ThrowsAsync<KubeadmException>(() =>
            KubeadmImageResolver.ResolveAsync(KubernetesVersion.Parse("v1.20.2"), null, fake.Path, CancellationToken.None));

        Assert.Contains("v1.21.2", e.Message);
        Assert.Contains("v1.20.2", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Resolver_uses_a_kubeadm_on_the_path_only_when_it_is_the_asked_version()
    {
        var same = await KubeadmImageResolver.ResolveAsync(V1_21_2, "R", null, fake.Dir, CancellationToken.None);
        Assert.Equal("k8s.gcr.io/pause:3.4.1-fake", same[4].Canonical);

        var other = await KubeadmImageResolver.ResolveAsync(KubernetesVersion.Parse("v1.20.2"), "R", null, fake.Dir, CancellationToken.None);
        Assert.Equal(new ResolvedImage("k8s.gcr.io/pause:3.2", "R/pause:3.2"), other[4]);
        Assert.Equal(new ResolvedImage("k8s.gcr.io/coredns:1.7.0", "R/coredns:1.7.0"), other[6]);
    }

    [Fact]
    public async Task Resolver_agrees_with_the_table_apart_from_the_fake_marker()
    {
        var fromKubeadm = await KubeadmImageResolver.ResolveAsync(V1_21_2, "R", fake.Path, CancellationToken.None);
        var empty = Directory.CreateTempSubdirectory("airgap-empty-").FullName;
        try
        {
            var fromTable = await KubeadmImageResolver.ResolveAsync(V1_21_2, "R", null, empty, CancellationToken.None);
            Assert.Equal(fromTable.Select(i => i.Canonical), fromKubeadm.Select(i => i.Canonical.Replace("-fake", "")));
            Assert.Equal(fromTable.Select(i => i.Source), fromKubeadm.Select(i => i.Source.Replace("-fake", "")));
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Fact]
    public async Task Resolver_without_kubeadm_reports_an_unknown_version()
    {
        var empty = Directory.CreateTempSubdirectory("airgap-empty-").FullName;
        try
        {
            await Assert.ThrowsAsync<UnknownKubernetesVersionException>(() =>
                KubeadmImageResolver.ResolveAsync(KubernetesVersion.Parse("v1.40.0"), null, null, empty, CancellationToken.None));
        }
        finally
        {
            Directory.Delete(empty);
        }
    }
}
