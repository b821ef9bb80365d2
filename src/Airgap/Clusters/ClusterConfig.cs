using System.Net;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Airgap.Clusters;

/// <summary>
/// cluster.yaml: a whole cluster in one file, for `airgap cluster deploy|status|reset`. Field names
/// follow KubeKey's config (hosts, roleGroups, controlPlaneEndpoint, network) and kubeadm's flags;
/// this type is the reference (README, `airgap cluster init-config`), and unknown fields are errors.
/// </summary>
public sealed class ClusterConfig
{
    /// <summary>Names the admin kubeconfig written on the jump host (NAME-admin.conf).</summary>
    public string Name { get; set; } = "cluster";

    /// <summary>The bundle on this host, relative to cluster.yaml or absolute.</summary>
    public string Bundle { get; set; } = "";

    public List<ClusterHost> Hosts { get; set; } = [];
    public RoleGroups RoleGroups { get; set; } = new();
    public ControlPlaneEndpointConfig ControlPlaneEndpoint { get; set; } = new();
    public ClusterNetwork Network { get; set; } = new();
    public NodeOptions Install { get; set; } = new();
    public SshOptions Ssh { get; set; } = new();

    /// <summary>The directory cluster.yaml was read from; relative paths in it are relative to this.</summary>
    [YamlIgnore]
    public string BaseDirectory { get; set; } = ".";

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build();

    public static ClusterConfig Load(string path)
    {
        if (!File.Exists(path)) throw new AirgapException($"{path} does not exist; write one with airgap cluster init-config > {path}");
        ClusterConfig config;
        try
        {
            config = Deserializer.Deserialize<ClusterConfig?>(File.ReadAllText(path)) ?? new ClusterConfig();
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            // Unknown fields land here too: a typo must not be silently ignored.
            var inner = e.InnerException?.Message ?? e.Message;
            throw new AirgapException($"{path}: {inner.Split('\n')[0]} (line {e.Start.Line}); see airgap cluster init-config for every field");
        }
        config.BaseDirectory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        config.Validate(path);
        return config;
    }

    public string BundlePath => Path.GetFullPath(Resolve(Bundle));

    public string Resolve(string path) =>
        path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[2..])
        : Path.IsPathRooted(path) ? path : Path.Combine(BaseDirectory, path);

    public IReadOnlyList<ClusterHost> ControlPlanes => RoleGroups.ControlPlane.Select(Host).ToList();
    public IReadOnlyList<ClusterHost> Workers => RoleGroups.Worker.Select(Host).ToList();

    /// <summary>Every host with a role, control planes first (the first one is where kubeadm init runs).</summary>
    public IReadOnlyList<ClusterHost> Nodes => [.. ControlPlanes, .. Workers];

    public ClusterHost Host(string name) => Hosts.First(h => h.Name == name);

    /// <summary>Warnings about a config that works but is not what an operator usually wants.</summary>
    public IReadOnlyList<string> Warnings()
    {
        var warnings = new List<string>();
        var count = RoleGroups.ControlPlane.Count;
        if (count > 1 && count % 2 == 0)
            warnings.Add($"{count} control planes: etcd needs a majority, so {count} tolerate no more failures than {count - 1}; use an odd number");
        return warnings;
    }

    private void Validate(string path)
    {
        void Fail(string what) => throw new AirgapException($"{path}: {what}");
        if (string.IsNullOrWhiteSpace(Bundle)) Fail("bundle: is empty; give the bundle .tar built by airgap build");
        if (Hosts.Count == 0) Fail("hosts: is empty; list every node with name and address");
        foreach (var h in Hosts)
        {
            if (string.IsNullOrWhiteSpace(h.Name)) Fail("a host has no name");
            if (string.IsNullOrWhiteSpace(h.Address)) Fail($"host {h.Name} has no address");
            if (h.Port is < 1 or > 65535) Fail($"host {h.Name}: port {h.Port} is not a TCP port");
            if (h.InternalAddress is { } internalAddress && !IPAddress.TryParse(internalAddress, out _))
                Fail($"host {h.Name}: internalAddress {internalAddress} is not an IP address");
        }
        foreach (var dup in Hosts.GroupBy(h => h.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            Fail($"host name {dup.Key} is given {dup.Count()} times; node names must be unique");
        foreach (var dup in Hosts.GroupBy(h => $"{h.Address}:{h.Port}", StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            Fail($"address {dup.Key} is given for {string.Join(" and ", dup.Select(h => h.Name))}; each node needs its own");
        foreach (var dup in Hosts.Where(h => h.InternalAddress is not null).GroupBy(h => h.InternalAddress).Where(g => g.Count() > 1))
            Fail($"internalAddress {dup.Key} is given for {string.Join(" and ", dup.Select(h => h.Name))}; each node needs its own");
        if (RoleGroups.ControlPlane.Count == 0) Fail("roleGroups.controlPlane is empty; name at least one host");
        foreach (var name in RoleGroups.ControlPlane.Concat(RoleGroups.Worker))
            if (Hosts.All(h => h.Name != name)) Fail($"roleGroups names {name}, which is not in hosts");
        foreach (var both in RoleGroups.ControlPlane.Intersect(RoleGroups.Worker))
            Fail($"{both} is in both roleGroups.controlPlane and roleGroups.worker; control planes run workloads only in a single-node cluster");
        foreach (var dup in RoleGroups.ControlPlane.Concat(RoleGroups.Worker).GroupBy(n => n).Where(g => g.Count() > 1))
            Fail($"{dup.Key} is named {dup.Count()} times in roleGroups");
        var endpoint = ControlPlaneEndpoint;
        if (endpoint.Port is < 1 or > 65535) Fail($"controlPlaneEndpoint.port {endpoint.Port} is not a TCP port");
        switch (endpoint.LoadBalancer)
        {
            case "builtin":
                if (string.IsNullOrWhiteSpace(endpoint.Domain)) Fail("controlPlaneEndpoint.domain is empty; the built-in load balancer needs a name (default apiserver.cluster.local)");
                if (!string.IsNullOrEmpty(endpoint.Address)) Fail("controlPlaneEndpoint.address is for loadBalancer: external; the built-in one needs none");
                // Control planes reach the endpoint name at their own API server, which listens on 6443.
                if (endpoint.Port != 6443) Fail($"controlPlaneEndpoint.port {endpoint.Port}: the built-in load balancer uses the API servers' port, 6443");
                break;
            case "external":
                if (string.IsNullOrWhiteSpace(endpoint.Address)) Fail("controlPlaneEndpoint.address is empty; loadBalancer: external needs your load balancer's address");
                break;
            default:
                Fail($"controlPlaneEndpoint.loadBalancer \"{endpoint.LoadBalancer}\" is not known; use builtin or external");
                break;
        }
        if (Network.Cni is not ("flannel" or "none")) Fail($"network.cni \"{Network.Cni}\" is not known for a cluster; use flannel or none");
        if (Network.ProxyMode is not ("iptables" or "ipvs")) Fail($"network.proxyMode \"{Network.ProxyMode}\" is not known; use iptables or ipvs");
        if (Install.Runtime is not ("containerd" or "docker")) Fail($"install.runtime \"{Install.Runtime}\" is not known; use containerd or docker");
        if (Ssh.MaxParallel < 1) Fail("ssh.maxParallel must be at least 1");
    }

    /// <summary>The example `airgap cluster init-config` prints: every field, commented.</summary>
    public const string Example = """
        # cluster.yaml for airgap cluster deploy: a kubeadm cluster from one bundle, over SSH, with no network.
        name: prod                       # names the admin kubeconfig written here: prod-admin.conf
        bundle: ./airgap-k8s-v1.20.2-linux-amd64.tar   # relative to this file; every node gets a copy

        hosts:                           # every node; this host (the jump host) must reach each over SSH
          - name: node1                  # the node's name in the cluster (its host name should match)
            address: 10.0.0.11           # where SSH reaches it
            internalAddress: 10.0.0.11   # optional: the address the cluster uses (default: address)
            port: 22                     # optional, default 22
            user: root                   # optional, default root (airgap installs as root)
            privateKeyPath: ~/.ssh/id_ed25519   # optional: default ssh.privateKeyPath, then ~/.ssh/id_*
            # password: …                # optional instead of a key; never logged or printed
          - {name: node2, address: 10.0.0.12}
          - {name: node3, address: 10.0.0.13}
          - {name: node4, address: 10.0.0.14}

        roleGroups:
          controlPlane: [node1, node2, node3]   # kubeadm init on the first, the others join one at a time; use an odd number
          worker: [node4]                       # joined in parallel; add one here and deploy again to join it

        controlPlaneEndpoint:
          loadBalancer: builtin          # builtin: a local TCP proxy on every worker, nothing else needed;
                                         # external: your own load balancer at address:port
          domain: apiserver.cluster.local   # the name in every certificate and kubeconfig
          address: ""                    # external only: the load balancer's address
          port: 6443

        network:
          podNetworkCidr: 10.244.0.0/16  # as kubeadm's --pod-network-cidr; Flannel's Network is set to it
          serviceCidr: 10.96.0.0/12
          proxyMode: iptables            # or ipvs
          cni: flannel                   # flannel (from the bundle) or none

        install:                         # the options airgap install takes, for every node
          runtime: containerd            # or docker (the node's own Docker engine, Kubernetes < 1.24)
          ignorePreflightErrors: []      # as kubeadm's flag
          fix: false                     # let preflight turn swap off

        ssh:
          privateKeyPath: ~/.ssh/id_ed25519   # default key for hosts without one
          knownHosts: ~/.ssh/known_hosts      # host keys must be in it (airgap never trusts a new key silently)
          maxParallel: 4                 # nodes handled at once (uploads, workers)
        """;
}

public sealed class ClusterHost
{
    public string Name { get; set; } = "";
    public string Address { get; set; } = "";
    public string? InternalAddress { get; set; }
    public int Port { get; set; } = 22;
    public string User { get; set; } = "root";
    public string? PrivateKeyPath { get; set; }
    public string? Password { get; set; }

    /// <summary>The address the cluster's own traffic uses: API server advertise address, /etc/hosts entries.</summary>
    [YamlIgnore]
    public string ClusterAddress => InternalAddress ?? Address;

    public override string ToString() => Name;
}

public sealed class RoleGroups
{
    public List<string> ControlPlane { get; set; } = [];
    public List<string> Worker { get; set; } = [];
}

public sealed class ControlPlaneEndpointConfig
{
    public string LoadBalancer { get; set; } = "builtin";
    public string Domain { get; set; } = "apiserver.cluster.local";
    public string? Address { get; set; }
    public int Port { get; set; } = 6443;

    [YamlIgnore]
    public bool BuiltIn => LoadBalancer == "builtin";

    /// <summary>kubeadm's controlPlaneEndpoint: the name (built in) or the external load balancer's address.</summary>
    [YamlIgnore]
    public string Endpoint => $"{(BuiltIn ? Domain : Address)}:{Port}";
}

public sealed class ClusterNetwork
{
    public string PodNetworkCidr { get; set; } = "10.244.0.0/16";
    public string ServiceCidr { get; set; } = "10.96.0.0/12";
    public string ProxyMode { get; set; } = "iptables";
    public string Cni { get; set; } = "flannel";
}

public sealed class NodeOptions
{
    public string Runtime { get; set; } = "containerd";
    public List<string> IgnorePreflightErrors { get; set; } = [];
    public bool Fix { get; set; }
}

public sealed class SshOptions
{
    public string? PrivateKeyPath { get; set; }
    public string? KnownHosts { get; set; }
    public int MaxParallel { get; set; } = 4;
}
