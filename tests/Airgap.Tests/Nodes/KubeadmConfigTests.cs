using Airgap.Nodes;
using Airgap.Releases;
using YamlDotNet.RepresentationModel;

namespace Airgap.Tests.Nodes;

public sealed class KubeadmConfigTests
{
    private const string Token = "abcdef.0123456789abcdef";
    private const string CertificateKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string CaHash = "sha256:7d3d4b2ab5cc0d1a4c6e8f3b1e0d2c4a6b8e0f1a3c5d7e9f1b3d5f7a9c1e3b5d";

    private static KubernetesVersion V(string version) => KubernetesVersion.Parse(version);

    [Theory]
    [InlineData("v1.15.0", KubeadmApiVersion.V1Beta2)]
    [InlineData("v1.20.2", KubeadmApiVersion.V1Beta2)]
    [InlineData("v1.21.14", KubeadmApiVersion.V1Beta2)]
    [InlineData("v1.22.0", KubeadmApiVersion.V1Beta3)]
    [InlineData("v1.30.9", KubeadmApiVersion.V1Beta3)]
    [InlineData("v1.31.0", KubeadmApiVersion.V1Beta4)]
    [InlineData("v1.32.1", KubeadmApiVersion.V1Beta4)]
    public void Api_version_per_release(string version, KubeadmApiVersion expected) =>
        Assert.Equal(expected, KubeadmConfig.ApiVersionFor(V(version)));

    [Fact]
    public void Releases_before_1_15_are_refused() =>
        Assert.Contains("v1.15 and later", Assert.Throws<AirgapException>(() => KubeadmConfig.ApiVersionFor(V("v1.14.10"))).Message);

    [Fact]
    public void V1beta2_single_node_init_as_the_lab_needs_it()
    {
        var yaml = KubeadmConfig.Render(new KubeadmSettings
        {
            KubernetesVersion = V("v1.20.2"),
            CgroupDriver = CgroupDriver.Cgroupfs,
            AdvertiseAddress = "10.0.2.15",
            BindPort = 6443,
            PodSubnet = "10.244.0.0/16",
            ServiceSubnet = "10.96.0.0/12",
            BootstrapToken = Token,
            UntaintControlPlane = true,
        });

        Assert.Equal("""
            # Written by airgap for Kubernetes v1.20.2 (kubeadm.k8s.io/v1beta2).
            apiVersion: kubeadm.k8s.io/v1beta2
            kind: InitConfiguration
            bootstrapTokens:
            - token: abcdef.0123456789abcdef
              description: "created by airgap install"
            nodeRegistration:
              criSocket: "unix:///run/containerd/containerd.sock"
              taints: []
            localAPIEndpoint:
              advertiseAddress: 10.0.2.15
              bindPort: 6443
            ---
            apiVersion: kubeadm.k8s.io/v1beta2
            kind: ClusterConfiguration
            kubernetesVersion: v1.20.2
            networking:
              podSubnet: 10.244.0.0/16
              serviceSubnet: 10.96.0.0/12
            ---
            apiVersion: kubelet.config.k8s.io/v1beta1
            kind: KubeletConfiguration
            cgroupDriver: cgroupfs
            ---
            apiVersion: kubeproxy.config.k8s.io/v1alpha1
            kind: KubeProxyConfiguration
            mode: iptables

            """, yaml);

        var documents = Load(yaml);
        Assert.Equal(4, documents.Count);
        var taints = (YamlSequenceNode)Map(documents[0], "nodeRegistration").Children[new YamlScalarNode("taints")];
        Assert.Empty(taints.Children);
    }

    [Fact]
    public void V1beta4_init_writes_extra_args_as_name_value_lists()
    {
        var yaml = KubeadmConfig.Render(HaInit(V("v1.31.0")));

        Assert.Equal("""
            # Written by airgap for Kubernetes v1.31.0 (kubeadm.k8s.io/v1beta4).
            apiVersion: kubeadm.k8s.io/v1beta4
            kind: InitConfiguration
            nodeRegistration:
              name: cp1
              criSocket: "unix:///run/containerd/containerd.sock"
              kubeletExtraArgs:
              - name: node-ip
                value: 10.0.0.11
            localAPIEndpoint:
              advertiseAddress: 10.0.0.11
            certificateKey: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            ---
            apiVersion: kubeadm.k8s.io/v1beta4
            kind: ClusterConfiguration
            kubernetesVersion: v1.31.0
            controlPlaneEndpoint: "lb.example.com:6443"
            imageRepository: registry.aliyuncs.com/google_containers
            networking:
              podSubnet: 10.244.0.0/16
              serviceSubnet: 10.96.0.0/12
            apiServer:
              certSANs:
              - lb.example.com
              - 10.0.0.10
              extraArgs:
              - name: audit-log-maxage
                value: "30"
              - name: audit-log-maxage
                value: "31"
            controllerManager:
              extraArgs:
              - name: node-cidr-mask-size
                value: "24"
            scheduler:
              extraArgs:
              - name: profiling
                value: "false"
            ---
            apiVersion: kubelet.config.k8s.io/v1beta1
            kind: KubeletConfiguration
            cgroupDriver: systemd
            ---
            apiVersion: kubeproxy.config.k8s.io/v1alpha1
            kind: KubeProxyConfiguration
            mode: ipvs

            """, yaml);

        var documents = Load(yaml);
        var args = (YamlSequenceNode)Map(documents[1], "apiServer").Children[new YamlScalarNode("extraArgs")];
        Assert.Equal("30", ((YamlScalarNode)((YamlMappingNode)args[0]).Children[new YamlScalarNode("value")]).Value);
    }

    [Fact]
    public void V1beta3_writes_extra_args_as_maps_and_refuses_duplicates()
    {
        var settings = HaInit(V("v1.28.4")) with { ApiServerExtraArgs = [new KubeadmArg("audit-log-maxage", "30")] };
        var yaml = KubeadmConfig.Render(settings);

        Assert.Contains("""
            nodeRegistration:
              name: cp1
              criSocket: "unix:///run/containerd/containerd.sock"
              kubeletExtraArgs:
                node-ip: 10.0.0.11
            """, yaml);
        Assert.Contains("""
            apiServer:
              certSANs:
              - lb.example.com
              - 10.0.0.10
              extraArgs:
                audit-log-maxage: "30"
            controllerManager:
              extraArgs:
                node-cidr-mask-size: "24"
            """, yaml);
        Assert.Equal(4, Load(yaml).Count);

        var error = Assert.Throws<AirgapException>(() => KubeadmConfig.Render(HaInit(V("v1.28.4"))));
        Assert.Contains("--audit-log-maxage is given twice", error.Message);
    }

    [Fact]
    public void Worker_join_v1beta3()
    {
        var yaml = KubeadmConfig.Render(new KubeadmSettings
        {
            KubernetesVersion = V("v1.28.4"),
            Join = new KubeadmJoinSettings { ApiServerEndpoint = "10.0.0.10:6443", Token = Token, CaCertHashes = [CaHash] },
        });

        Assert.Equal($"""
            # Written by airgap for Kubernetes v1.28.4 (kubeadm.k8s.io/v1beta3).
            apiVersion: kubeadm.k8s.io/v1beta3
            kind: JoinConfiguration
            nodeRegistration:
              criSocket: "unix:///run/containerd/containerd.sock"
            discovery:
              bootstrapToken:
                apiServerEndpoint: "10.0.0.10:6443"
                token: abcdef.0123456789abcdef
                caCertHashes:
                - "{CaHash}"

            """, yaml);
        Assert.Single(Load(yaml));
    }

    [Fact]
    public void Control_plane_join_v1beta4_carries_its_endpoint_and_certificate_key()
    {
        var yaml = KubeadmConfig.Render(new KubeadmSettings
        {
            KubernetesVersion = V("v1.32.1"),
            NodeName = "cp2",
            AdvertiseAddress = "10.0.0.12",
            BindPort = 6443,
            CertificateKey = CertificateKey,
            Join = new KubeadmJoinSettings { ApiServerEndpoint = "lb.example.com:6443", Token = Token, CaCertHashes = [CaHash], ControlPlane = true },
        });

        Assert.EndsWith($"""
            discovery:
              bootstrapToken:
                apiServerEndpoint: "lb.example.com:6443"
                token: abcdef.0123456789abcdef
                caCertHashes:
                - "{CaHash}"
            controlPlane:
              localAPIEndpoint:
                advertiseAddress: 10.0.0.12
                bindPort: 6443
              certificateKey: {CertificateKey}

            """, yaml);
        Assert.StartsWith("# Written by airgap for Kubernetes v1.32.1 (kubeadm.k8s.io/v1beta4).\napiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n", yaml);
        Load(yaml);
    }

    [Fact]
    public void Join_without_a_ca_pin_is_refused_unless_explicitly_unsafe()
    {
        var join = new KubeadmJoinSettings { ApiServerEndpoint = "10.0.0.10:6443", Token = Token };
        var error = Assert.Throws<AirgapException>(() => KubeadmConfig.Render(new KubeadmSettings { KubernetesVersion = V("v1.20.2"), Join = join }));
        Assert.Contains("--discovery-token-ca-cert-hash", error.Message);

        var yaml = KubeadmConfig.Render(new KubeadmSettings { KubernetesVersion = V("v1.20.2"), Join = join with { UnsafeSkipCaVerification = true } });
        Assert.Contains("    unsafeSkipCAVerification: true\n", yaml);
    }

    [Theory]
    [InlineData("10.244.1.0/16", "has host bits set; did you mean 10.244.0.0/16?")]
    [InlineData("10.244.0.0", "is not a CIDR")]
    [InlineData("banana", "is not a CIDR")]
    [InlineData("10.244/16", "is not a CIDR")]
    [InlineData("10.244.0.0/+16", "is not a CIDR")]
    [InlineData("fd00::1/64", "did you mean fd00::/64?")]
    public void Bad_pod_cidrs_are_refused(string cidr, string message)
    {
        var error = Assert.Throws<AirgapException>(() => KubeadmConfig.Render(new KubeadmSettings { KubernetesVersion = V("v1.20.2"), PodSubnet = cidr }));
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("ABCDEF.0123456789abcdef")]
    [InlineData("abcdef0123456789abcdef")]
    public void Bad_tokens_are_refused(string token) =>
        Assert.Throws<AirgapException>(() => KubeadmConfig.Render(new KubeadmSettings { KubernetesVersion = V("v1.20.2"), BootstrapToken = token }));

    [Theory]
    [InlineData("10.0.0.1", "10.0.0.1")]
    [InlineData("yes", "\"yes\"")]
    [InlineData("On", "\"On\"")]
    [InlineData("6443", "\"6443\"")]
    [InlineData("1.20", "\"1.20\"")]
    [InlineData("0x1F", "\"0x1F\"")]
    [InlineData("1e3", "\"1e3\"")]
    [InlineData("a b", "\"a b\"")]
    [InlineData("", "\"\"")]
    [InlineData("-v", "\"-v\"")]
    [InlineData("#c", "\"#c\"")]
    [InlineData("say \"hi\"", "\"say \\\"hi\\\"\"")]
    [InlineData("Node,RBAC", "Node,RBAC")]
    public void Scalars_are_quoted_when_yaml_would_read_them_as_something_else(string value, string written) =>
        Assert.Equal(written, YamlWriter.Format(value));

    [Fact]
    public void Image_repository_is_left_out_for_canonical_bundles_and_named_for_mirror_named_ones()
    {
        var set = KubeadmImageTable.Get(V("v1.20.2"));
        var canonical = set.CanonicalNames();
        Assert.Null(ClusterImages.ImageRepository(set, canonical));
        Assert.Equal("k8s.gcr.io/pause:3.2", ClusterImages.PauseImage(set, canonical));

        const string aliyun = "registry.aliyuncs.com/google_containers";
        var mirrored = set.Images.Select(i => set.From(aliyun, i)).Append("quay.io/coreos/flannel:v0.13.0").ToList();
        Assert.Equal(aliyun, ClusterImages.ImageRepository(set, mirrored));
        Assert.Equal($"{aliyun}/pause:3.2", ClusterImages.PauseImage(set, mirrored));

        var incomplete = canonical.Where(n => !n.Contains("etcd", StringComparison.Ordinal)).ToList();
        Assert.Contains("lacks k8s.gcr.io/etcd:3.4.13-0", Assert.Throws<AirgapException>(() => ClusterImages.ImageRepository(set, incomplete)).Message);
        Assert.Throws<AirgapException>(() => ClusterImages.ImageRepository(set, ["docker.io/library/busybox:1"]));
    }

    private static KubeadmSettings HaInit(KubernetesVersion version) => new()
    {
        KubernetesVersion = version,
        NodeName = "cp1",
        KubeletExtraArgs = [new KubeadmArg("node-ip", "10.0.0.11")],
        AdvertiseAddress = "10.0.0.11",
        CertificateKey = CertificateKey,
        PodSubnet = "10.244.0.0/16",
        ServiceSubnet = "10.96.0.0/12",
        ControlPlaneEndpoint = "lb.example.com:6443",
        CertSans = ["lb.example.com", "10.0.0.10"],
        ImageRepository = "registry.aliyuncs.com/google_containers",
        ProxyMode = ProxyMode.Ipvs,
        ApiServerExtraArgs = [new KubeadmArg("audit-log-maxage", "30"), new KubeadmArg("audit-log-maxage", "31")],
        ControllerManagerExtraArgs = [new KubeadmArg("node-cidr-mask-size", "24")],
        SchedulerExtraArgs = [new KubeadmArg("profiling", "false")],
    };

    private static List<YamlDocument> Load(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.ToList();
    }

    private static YamlMappingNode Map(YamlDocument document, string key) =>
        (YamlMappingNode)((YamlMappingNode)document.RootNode).Children[new YamlScalarNode(key)];
}
