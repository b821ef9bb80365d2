namespace Airgap.TestKit;

/// <summary>One platform image inside a pushed list.</summary>
public sealed record PushedPlatformImage(Platform Platform, string Digest, IReadOnlyDictionary<string, long> Blobs);

/// <summary>A tag in the registry that points at a manifest list / index.</summary>
public sealed record PushedImage(
    string Repository, string Tag, string Digest, string MediaType, IReadOnlyList<PushedPlatformImage> Platforms)
{
    /// <summary>"google_containers/kube-apiserver:v1.20.2" (without the registry host).</summary>
    public string Reference => $"{Repository}:{Tag}";

    /// <summary>Digest of the per-arch manifest, e.g. for "amd64".</summary>
    public string PlatformDigest(string architecture)
        => Platforms.First(p => p.Platform.Architecture == architecture).Digest;
}

/// <summary>What <see cref="SampleImages.PushKubernetesSetAsync(RegistryPusher,string,IReadOnlyList{string}?,long,string,CancellationToken)"/> put into the registry.</summary>
public sealed record KubernetesImageSet(IReadOnlyList<PushedImage> Kubernetes, PushedImage Flannel)
{
    public IEnumerable<PushedImage> All => Kubernetes.Append(Flannel);

    /// <summary>Every distinct blob (configs and layers) with its size.</summary>
    public IReadOnlyDictionary<string, long> UniqueBlobs => BlobsWhere(_ => true);

    public long UniqueBlobBytes => UniqueBlobs.Values.Sum();

    /// <summary>Distinct blobs needed for one architecture, i.e. what a single-arch bundle must carry.</summary>
    public IReadOnlyDictionary<string, long> BlobsFor(string architecture) => BlobsWhere(p => p.Platform.Architecture == architecture);

    public PushedImage Find(string name) => All.First(i => i.Repository.EndsWith("/" + name, StringComparison.Ordinal) || i.Repository == name);

    private Dictionary<string, long> BlobsWhere(Func<PushedPlatformImage, bool> filter)
    {
        var blobs = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var p in All.SelectMany(i => i.Platforms).Where(filter))
        {
            foreach (var (digest, size) in p.Blobs)
            {
                blobs[digest] = size;
            }
        }
        return blobs;
    }
}

/// <summary>Test images shaped like what kubeadm v1.20.2 pulls, plus a Flannel-like add-on.</summary>
public static class SampleImages
{
    public const string KubernetesVersion = "v1.20.2";
    public const string FlannelTag = "v0.13.0";

    /// <summary>The images kubeadm v1.20.2 lists for `kubeadm config images list`, by name and tag.</summary>
    public static readonly IReadOnlyList<(string Name, string Tag)> KubernetesImages =
    [
        ("kube-apiserver", KubernetesVersion),
        ("kube-controller-manager", KubernetesVersion),
        ("kube-scheduler", KubernetesVersion),
        ("kube-proxy", KubernetesVersion),
        ("pause", "3.2"),
        ("etcd", "3.4.13-0"),
        ("coredns", "1.7.0"),
    ];

    private static readonly string[] DefaultArches = ["amd64", "arm64"];

    public static Task<KubernetesImageSet> PushKubernetesSetAsync(RegistryServer registry, string repositoryPrefix = "google_containers",
        IReadOnlyList<string>? arches = null, long extraLayerBytes = 0, string flannelRepository = "coreos/flannel",
        CancellationToken cancellationToken = default)
    {
        var pusher = registry.CreatePusher();
        return PushAndDispose();

        async Task<KubernetesImageSet> PushAndDispose()
        {
            using (pusher)
            {
                return await PushKubernetesSetAsync(pusher, repositoryPrefix, arches, extraLayerBytes, flannelRepository, cancellationToken)
                    .ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Pushes kube-apiserver … coredns under the flat aliyun-style <paramref name="repositoryPrefix"/> (e.g.
    /// google_containers/kube-apiserver:v1.20.2) and flannel as <paramref name="flannelRepository"/>:v0.13.0.
    /// Every tag is a multi-arch list; etcd is an OCI index with OCI manifests, the rest use Docker media types.
    /// All share one base layer per arch; each has its own layer naming it; with
    /// <paramref name="extraLayerBytes"/> &gt; 0 each image and arch also gets that many incompressible bytes.
    /// </summary>
    public static async Task<KubernetesImageSet> PushKubernetesSetAsync(RegistryPusher pusher, string repositoryPrefix = "google_containers",
        IReadOnlyList<string>? arches = null, long extraLayerBytes = 0, string flannelRepository = "coreos/flannel",
        CancellationToken cancellationToken = default)
    {
        arches ??= DefaultArches;
        // Built once, pushed into every repository: the registry then stores a single copy per arch.
        var baseLayers = arches.ToDictionary(a => a, ImageFactory.BaseLayer, StringComparer.Ordinal);
        var prefix = repositoryPrefix.Trim('/');

        var pushed = new List<PushedImage>();
        foreach (var (name, tag) in KubernetesImages)
        {
            var format = name == "etcd" ? ManifestFormat.Oci : ManifestFormat.Docker;
            var repository = prefix.Length == 0 ? name : $"{prefix}/{name}";
            pushed.Add(await PushSampleAsync(pusher, repository, tag, name, format, arches, baseLayers, extraLayerBytes, cancellationToken)
                .ConfigureAwait(false));
        }
        var flannelName = flannelRepository[(flannelRepository.LastIndexOf('/') + 1)..];
        var flannel = await PushSampleAsync(pusher, flannelRepository.Trim('/'), FlannelTag, flannelName, ManifestFormat.Docker, arches,
            baseLayers, extraLayerBytes, cancellationToken).ConfigureAwait(false);
        return new KubernetesImageSet(pushed, flannel);
    }

    /// <summary>Builds (without pushing) one sample multi-arch image; the same arguments give the same digests.</summary>
    public static ImageIndex BuildSample(string name, string tag, ManifestFormat format, IReadOnlyList<string> arches, long extraLayerBytes = 0,
        IReadOnlyDictionary<string, Layer>? baseLayers = null)
    {
        var images = new List<Image>();
        foreach (var arch in arches)
        {
            var platform = Platform.Linux(arch);
            var layers = new List<Layer>
            {
                baseLayers?.GetValueOrDefault(arch) ?? ImageFactory.BaseLayer(arch),
                ImageFactory.BuildLayer(
                [
                    LayerEntry.Directory("etc"),
                    LayerEntry.File("etc/airgap-image", $"{name}:{tag} {platform}\n"),
                ]),
            };
            if (extraLayerBytes > 0)
            {
                layers.Add(ImageFactory.RandomLayer($"{name}:{tag}/{arch}", extraLayerBytes));
            }
            var run = new ImageRunConfig
            {
                // Running the image without arguments says which image it is; pause just waits like the real one.
                Cmd = name == "pause"
                    ? ["/bin/busybox", "sleep", "2147483647"]
                    : ["/bin/busybox", "cat", "/etc/airgap-image"],
                Labels = new Dictionary<string, string> { ["io.airgap.testkit.image"] = $"{name}:{tag}" },
            };
            images.Add(ImageFactory.BuildImage(platform, layers, format, run));
        }
        return ImageFactory.BuildIndex(images, format);
    }

    /// <summary>
    /// A small kube-flannel.yml-shaped manifest (ConfigMap kube-flannel-cfg with net-conf.json, DaemonSet
    /// kube-flannel-ds with an initContainer and a container), written for these tests.
    /// </summary>
    public static string FlannelLikeManifest(string image)
    {
        // $$ so the JSON braces inside stay literal and only {{image}} is substituted.
        return $$"""
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: flannel
              namespace: kube-system
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: kube-flannel-cfg
              namespace: kube-system
              labels:
                tier: node
                app: flannel
            data:
              cni-conf.json: |
                {
                  "name": "cbr0",
                  "cniVersion": "0.3.1",
                  "plugins": [
                    { "type": "flannel", "delegate": { "hairpinMode": true, "isDefaultGateway": true } },
                    { "type": "portmap", "capabilities": { "portMappings": true } }
                  ]
                }
              net-conf.json: |
                {
                  "Network": "10.244.0.0/16",
                  "Backend": { "Type": "vxlan" }
                }
            ---
            apiVersion: apps/v1
            kind: DaemonSet
            metadata:
              name: kube-flannel-ds
              namespace: kube-system
              labels:
                tier: node
                app: flannel
            spec:
              selector:
                matchLabels:
                  app: flannel
              template:
                metadata:
                  labels:
                    tier: node
                    app: flannel
                spec:
                  hostNetwork: true
                  serviceAccountName: flannel
                  tolerations:
                  - operator: Exists
                    effect: NoSchedule
                  initContainers:
                  - name: install-cni
                    image: {{image}}
                    command: ["cp"]
                    args: ["-f", "/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist"]
                    volumeMounts:
                    - name: cni
                      mountPath: /etc/cni/net.d
                    - name: flannel-cfg
                      mountPath: /etc/kube-flannel/
                  containers:
                  - name: kube-flannel
                    image: {{image}}
                    command: ["/opt/bin/flanneld"]
                    args: ["--ip-masq", "--kube-subnet-mgr"]
                    securityContext:
                      privileged: false
                      capabilities:
                        add: ["NET_ADMIN", "NET_RAW"]
                    volumeMounts:
                    - name: run
                      mountPath: /run/flannel
                    - name: flannel-cfg
                      mountPath: /etc/kube-flannel/
                  volumes:
                  - name: run
                    hostPath:
                      path: /run/flannel
                  - name: cni
                    hostPath:
                      path: /etc/cni/net.d
                  - name: flannel-cfg
                    configMap:
                      name: kube-flannel-cfg

            """;
    }

    private static async Task<PushedImage> PushSampleAsync(RegistryPusher pusher, string repository, string tag, string name, ManifestFormat format,
        IReadOnlyList<string> arches, IReadOnlyDictionary<string, Layer> baseLayers, long extraLayerBytes, CancellationToken cancellationToken)
    {
        var index = BuildSample(name, tag, format, arches, extraLayerBytes, baseLayers);
        var digest = await pusher.PushIndexAsync(repository, tag, index, cancellationToken).ConfigureAwait(false);
        if (digest != index.Digest)
        {
            throw new InvalidOperationException($"Registry computed {digest} for {repository}:{tag}, expected {index.Digest}");
        }
        var platforms = index.Images
            .Select(i => new PushedPlatformImage(i.Platform, i.Digest, i.Blobs.ToDictionary(b => b.Digest, b => b.Size, StringComparer.Ordinal)))
            .ToList();
        return new PushedImage(repository, tag, digest, index.MediaType, platforms);
    }
}
