using Airgap.TestKit;

namespace Airgap.IntegrationTests.Build;

/// <summary>
/// A registry filled with a v1.20.2-shaped set (aliyun-style google_containers/ plus coreos/flannel),
/// and one bundle built from it the way an operator would, shared by the read-only tests.
/// </summary>
public sealed class BuildFixture : IAsyncLifetime
{
    private RegistryServer? _registry;

    public RegistryServer Registry => _registry ?? throw new InvalidOperationException("not started");
    public KubernetesImageSet Set { get; private set; } = null!;
    public TempDir Dir { get; } = new();
    public string FlannelManifest { get; private set; } = "";
    public string BundlePath { get; private set; } = "";
    public AirgapCli Cli { get; private set; } = null!;

    public string[] BuildArgs(string output, params string[] extra) =>
    [
        "build", "--k8s", "v1.20.2",
        "--image-repository", $"{Registry.Host}/google_containers",
        "--flannel-manifest", FlannelManifest,
        "--mirror", $"quay.io={Registry.Host}",
        "--output", output,
        "--no-binaries",
        .. extra,
    ];

    public async Task InitializeAsync()
    {
        _registry = await RegistryServer.StartAsync();
        Set = await SampleImages.PushKubernetesSetAsync(_registry);
        FlannelManifest = Path.Combine(Dir.Path, "kube-flannel.yml");
        await File.WriteAllTextAsync(FlannelManifest, SampleImages.FlannelLikeManifest("quay.io/coreos/flannel:v0.13.0"));
        Cli = new AirgapCli { Cache = Dir.Sub("cache") };
        var result = await Cli.RunAsync(BuildArgs(Dir.Sub("out")));
        Assert.True(result.Succeeded, result.ToString());
        BundlePath = Path.Combine(Dir.Path, "out", "airgap-k8s-v1.20.2-linux-amd64.tar");
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null) await _registry.DisposeAsync();
        Dir.Dispose();
    }

    /// <summary>The name an image of the set has in the bundle: k8s.gcr.io/NAME:TAG, Flannel under quay.io.</summary>
    public static string CanonicalOf(PushedImage image) =>
        image.Repository.EndsWith("flannel", StringComparison.Ordinal) ? $"quay.io/coreos/flannel:{image.Tag}" : $"k8s.gcr.io/{image.Repository.Split('/')[^1]}:{image.Tag}";

    /// <summary>A copy of the bundle with one byte of its biggest layer flipped, in place; the layer's digest with it.</summary>
    public async Task<(string Path, string Layer)> TamperedCopyAsync(string directory)
    {
        var tampered = System.IO.Path.Combine(directory, "tampered.tar");
        File.Copy(BundlePath, tampered);
        var layer = Set.BlobsFor("amd64").MaxBy(b => b.Value).Key;
        using var index = await Airgap.Bundles.BundleIndex.OpenAsync(tampered, default);
        var member = index.Find("images/blobs/sha256/" + layer[7..])!;
        await using var file = new FileStream(tampered, FileMode.Open, FileAccess.ReadWrite);
        file.Position = member.Offset + member.Size / 2;
        var b = file.ReadByte();
        file.Position--;
        file.WriteByte((byte)(b ^ 0xFF));
        return (tampered, layer);
    }

    public static readonly string[] CanonicalNames =
    [
        "k8s.gcr.io/coredns:1.7.0",
        "k8s.gcr.io/etcd:3.4.13-0",
        "k8s.gcr.io/kube-apiserver:v1.20.2",
        "k8s.gcr.io/kube-controller-manager:v1.20.2",
        "k8s.gcr.io/kube-proxy:v1.20.2",
        "k8s.gcr.io/kube-scheduler:v1.20.2",
        "k8s.gcr.io/pause:3.2",
        "quay.io/coreos/flannel:v0.13.0",
    ];
}
