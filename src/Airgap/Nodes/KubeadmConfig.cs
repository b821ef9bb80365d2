using System.Text.RegularExpressions;
using Airgap.Releases;

namespace Airgap.Nodes;

/// <summary>The kubeadm config API a Kubernetes release reads.</summary>
public enum KubeadmApiVersion { V1Beta2, V1Beta3, V1Beta4 }

public static class KubeadmApiVersionNames
{
    public static string ToApiVersion(this KubeadmApiVersion version) => "kubeadm.k8s.io/" + version.ToString().ToLowerInvariant();
}

/// <summary>A flag for a component, without its dashes: ("authorization-mode", "Node,RBAC").</summary>
public sealed record KubeadmArg(string Name, string Value);

/// <summary>How a joining node finds and trusts the cluster (kubeadm join's discovery.bootstrapToken).</summary>
public sealed record KubeadmJoinSettings
{
    /// <summary>HOST:PORT of the API server or the control-plane endpoint.</summary>
    public required string ApiServerEndpoint { get; init; }

    public required string Token { get; init; }

    /// <summary>"sha256:HEX" pins of the cluster CA's public key.</summary>
    public IReadOnlyList<string> CaCertHashes { get; init; } = [];

    public bool UnsafeSkipCaVerification { get; init; }

    /// <summary>Join as another control plane (controlPlane section); otherwise as a worker.</summary>
    public bool ControlPlane { get; init; }
}

public sealed record KubeadmSettings
{
    public required KubernetesVersion KubernetesVersion { get; init; }

    /// <summary>Must match containerd's SystemdCgroup.</summary>
    public CgroupDriver CgroupDriver { get; init; } = CgroupDriver.Systemd;

    public string CriSocket { get; init; } = KubeadmConfig.ContainerdSocket;

    /// <summary>Null lets kubeadm use the lowercased host name.</summary>
    public string? NodeName { get; init; }

    public IReadOnlyList<KubeadmArg> KubeletExtraArgs { get; init; } = [];

    /// <summary>This node's API server address (localAPIEndpoint); null lets kubeadm pick the default route's address.</summary>
    public string? AdvertiseAddress { get; init; }

    public int? BindPort { get; init; }

    /// <summary>init: the key kubeadm encrypts uploaded certificates with; control-plane join: the key to decrypt them.</summary>
    public string? CertificateKey { get; init; }

    public string? PodSubnet { get; init; }
    public string? ServiceSubnet { get; init; }
    public string? ControlPlaneEndpoint { get; init; }
    public IReadOnlyList<string> CertSans { get; init; } = [];

    /// <summary>Only when the bundle's images are not under kubeadm's default registry (see <see cref="ClusterImages.ImageRepository"/>).</summary>
    public string? ImageRepository { get; init; }

    public ProxyMode ProxyMode { get; init; } = ProxyMode.Iptables;

    /// <summary>A token chosen by airgap, so it is known (and redactable) before kubeadm prints it.</summary>
    public string? BootstrapToken { get; init; }

    /// <summary>Register the first control plane without the control-plane taint (single-node clusters).</summary>
    public bool UntaintControlPlane { get; init; }

    public IReadOnlyList<KubeadmArg> ApiServerExtraArgs { get; init; } = [];
    public IReadOnlyList<KubeadmArg> ControllerManagerExtraArgs { get; init; } = [];
    public IReadOnlyList<KubeadmArg> SchedulerExtraArgs { get; init; } = [];

    /// <summary>When set, a JoinConfiguration is written instead of the init documents.</summary>
    public KubeadmJoinSettings? Join { get; init; }
}

/// <summary>
/// Writes the file given to <c>kubeadm init|join --config</c>, in the config API the release reads.
/// </summary>
/// <remarks>
/// Shapes checked against kubeadm's Go types (cmd/kubeadm/app/apis/kubeadm/v1beta2 and v1beta4
/// types.go) and the v1beta4 reference (kubernetes/website kubeadm-config.v1beta4.md):
/// v1beta2 and v1beta3 take extraArgs and kubeletExtraArgs as string maps; v1beta4 takes lists of
/// {name, value} (duplicates allowed). nodeRegistration.taints is not omitempty: absent means the
/// default control-plane taint, <c>taints: []</c> means none. criSocket is written as a unix:// URL:
/// kubeadm up to 1.23 also accepts a bare path (its ValidateSocketPath takes either), 1.24+ require
/// the URL, and the kubelet warns about bare paths. KubeletConfiguration (kubelet.config.k8s.io/v1beta1)
/// and KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) are the same for every release here.
/// </remarks>
public static partial class KubeadmConfig
{
    public const string ContainerdSocket = "unix:///run/containerd/containerd.sock";
    public const string DefaultPath = "/etc/kubernetes/airgap/kubeadm.yaml";

    /// <summary>v1beta2 for 1.15–1.21, v1beta3 for 1.22–1.30, v1beta4 from 1.31 (each the newest the release reads).</summary>
    public static KubeadmApiVersion ApiVersionFor(KubernetesVersion version)
    {
        if (version.Major != 1 || version.Minor < 15)
            throw new AirgapException($"Kubernetes {version} is not supported: airgap writes kubeadm configs for v1.15 and later");
        return version.Minor switch
        {
            <= 21 => KubeadmApiVersion.V1Beta2,
            <= 30 => KubeadmApiVersion.V1Beta3,
            _ => KubeadmApiVersion.V1Beta4,
        };
    }

    public static string Render(KubeadmSettings settings)
    {
        var api = ApiVersionFor(settings.KubernetesVersion);
        Validate(settings);
        var yaml = new YamlWriter();
        yaml.Comment($"Written by airgap for Kubernetes {settings.KubernetesVersion} ({api.ToApiVersion()}).");
        if (settings.Join is { } join)
        {
            WriteJoin(yaml, api, settings, join);
        }
        else
        {
            WriteInit(yaml, api, settings);
            yaml.DocumentSeparator();
            WriteCluster(yaml, api, settings);
            yaml.DocumentSeparator();
            WriteKubelet(yaml, settings);
            yaml.DocumentSeparator();
            WriteKubeProxy(yaml, settings);
        }
        return yaml.ToString();
    }

    private static void WriteInit(YamlWriter yaml, KubeadmApiVersion api, KubeadmSettings s)
    {
        yaml.Scalar("apiVersion", api.ToApiVersion());
        yaml.Scalar("kind", "InitConfiguration");
        if (s.BootstrapToken is { } token)
            yaml.MapItems("bootstrapTokens", [[("token", token), ("description", "created by airgap install")]]);
        WriteNodeRegistration(yaml, api, s, untaint: s.UntaintControlPlane);
        if (s.AdvertiseAddress is not null || s.BindPort is not null)
            yaml.Map("localAPIEndpoint", () => WriteEndpoint(yaml, s));
        if (s.CertificateKey is { } key) yaml.Scalar("certificateKey", key);
    }

    private static void WriteCluster(YamlWriter yaml, KubeadmApiVersion api, KubeadmSettings s)
    {
        yaml.Scalar("apiVersion", api.ToApiVersion());
        yaml.Scalar("kind", "ClusterConfiguration");
        yaml.Scalar("kubernetesVersion", s.KubernetesVersion.ToString());
        if (s.ControlPlaneEndpoint is { } endpoint) yaml.Scalar("controlPlaneEndpoint", endpoint);
        if (s.ImageRepository is { } repository) yaml.Scalar("imageRepository", repository);
        if (s.PodSubnet is not null || s.ServiceSubnet is not null)
            yaml.Map("networking", () =>
            {
                if (s.PodSubnet is { } pods) yaml.Scalar("podSubnet", pods);
                if (s.ServiceSubnet is { } services) yaml.Scalar("serviceSubnet", services);
            });
        if (s.CertSans.Count > 0 || s.ApiServerExtraArgs.Count > 0)
            yaml.Map("apiServer", () =>
            {
                if (s.CertSans.Count > 0) yaml.Strings("certSANs", s.CertSans);
                WriteArgs(yaml, api, "extraArgs", s.ApiServerExtraArgs);
            });
        if (s.ControllerManagerExtraArgs.Count > 0)
            yaml.Map("controllerManager", () => WriteArgs(yaml, api, "extraArgs", s.ControllerManagerExtraArgs));
        if (s.SchedulerExtraArgs.Count > 0)
            yaml.Map("scheduler", () => WriteArgs(yaml, api, "extraArgs", s.SchedulerExtraArgs));
    }

    private static void WriteKubelet(YamlWriter yaml, KubeadmSettings s)
    {
        yaml.Scalar("apiVersion", "kubelet.config.k8s.io/v1beta1");
        yaml.Scalar("kind", "KubeletConfiguration");
        yaml.Scalar("cgroupDriver", s.CgroupDriver.ToConfigValue());
    }

    private static void WriteKubeProxy(YamlWriter yaml, KubeadmSettings s)
    {
        yaml.Scalar("apiVersion", "kubeproxy.config.k8s.io/v1alpha1");
        yaml.Scalar("kind", "KubeProxyConfiguration");
        yaml.Scalar("mode", s.ProxyMode == ProxyMode.Ipvs ? "ipvs" : "iptables");
    }

    private static void WriteJoin(YamlWriter yaml, KubeadmApiVersion api, KubeadmSettings s, KubeadmJoinSettings join)
    {
        yaml.Scalar("apiVersion", api.ToApiVersion());
        yaml.Scalar("kind", "JoinConfiguration");
        WriteNodeRegistration(yaml, api, s, untaint: false);
        yaml.Map("discovery", () => yaml.Map("bootstrapToken", () =>
        {
            yaml.Scalar("apiServerEndpoint", join.ApiServerEndpoint);
            yaml.Scalar("token", join.Token);
            if (join.CaCertHashes.Count > 0) yaml.Strings("caCertHashes", join.CaCertHashes);
            if (join.UnsafeSkipCaVerification) yaml.Boolean("unsafeSkipCAVerification", true);
        }));
        if (join.ControlPlane)
            yaml.Map("controlPlane", () =>
            {
                if (s.AdvertiseAddress is not null || s.BindPort is not null)
                    yaml.Map("localAPIEndpoint", () => WriteEndpoint(yaml, s));
                if (s.CertificateKey is { } key) yaml.Scalar("certificateKey", key);
            });
    }

    private static void WriteNodeRegistration(YamlWriter yaml, KubeadmApiVersion api, KubeadmSettings s, bool untaint) =>
        yaml.Map("nodeRegistration", () =>
        {
            if (s.NodeName is { } name) yaml.Scalar("name", name);
            yaml.Scalar("criSocket", s.CriSocket);
            if (untaint) yaml.EmptyList("taints");
            WriteArgs(yaml, api, "kubeletExtraArgs", s.KubeletExtraArgs);
        });

    private static void WriteEndpoint(YamlWriter yaml, KubeadmSettings s)
    {
        if (s.AdvertiseAddress is { } address) yaml.Scalar("advertiseAddress", address);
        if (s.BindPort is { } port) yaml.Number("bindPort", port);
    }

    private static void WriteArgs(YamlWriter yaml, KubeadmApiVersion api, string key, IReadOnlyList<KubeadmArg> args)
    {
        if (args.Count == 0) return;
        if (api == KubeadmApiVersion.V1Beta4)
        {
            yaml.MapItems(key, args.Select(a => (IReadOnlyList<(string, string)>)[("name", a.Name), ("value", a.Value)]));
            return;
        }
        var duplicate = args.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new AirgapException($"{key}: --{duplicate.Key} is given twice; before kubeadm.k8s.io/v1beta4 each flag can appear once");
        yaml.Map(key, () =>
        {
            foreach (var arg in args) yaml.Scalar(arg.Name, arg.Value);
        });
    }

    private static void Validate(KubeadmSettings s)
    {
        if (s.PodSubnet is { } pods) Cidr.Parse(pods, "--pod-network-cidr");
        if (s.ServiceSubnet is { } services) Cidr.Parse(services, "--service-cidr");
        if (s.BootstrapToken is { } token && !TokenFormat().IsMatch(token))
            throw new AirgapException("bootstrap token must look like abcdef.0123456789abcdef ([a-z0-9]{6}.[a-z0-9]{16})");
        if (s.CertificateKey is { } key && !CertificateKeyFormat().IsMatch(key))
            throw new AirgapException("--certificate-key must be 64 hex characters (a 32-byte AES key, as kubeadm certs certificate-key prints)");
        foreach (var arg in s.KubeletExtraArgs.Concat(s.ApiServerExtraArgs).Concat(s.ControllerManagerExtraArgs).Concat(s.SchedulerExtraArgs))
            if (arg.Name.Length == 0 || arg.Name.StartsWith('-'))
                throw new AirgapException($"extra argument \"{arg.Name}\" must be a flag name without leading dashes");
        if (s.Join is not { } join) return;
        if (!TokenFormat().IsMatch(join.Token))
            throw new AirgapException("--token must look like abcdef.0123456789abcdef ([a-z0-9]{6}.[a-z0-9]{16})");
        if (join.CaCertHashes.Count == 0 && !join.UnsafeSkipCaVerification)
            throw new AirgapException("joining needs --discovery-token-ca-cert-hash sha256:HEX (printed by kubeadm init) so the node can trust the cluster");
        foreach (var hash in join.CaCertHashes)
            if (!CaCertHashFormat().IsMatch(hash))
                throw new AirgapException($"--discovery-token-ca-cert-hash \"{hash}\" must be sha256: followed by 64 hex characters");
    }

    [GeneratedRegex("^[a-z0-9]{6}\\.[a-z0-9]{16}$")]
    private static partial Regex TokenFormat();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex CertificateKeyFormat();

    [GeneratedRegex("^sha256:[0-9a-fA-F]{64}$")]
    private static partial Regex CaCertHashFormat();
}
