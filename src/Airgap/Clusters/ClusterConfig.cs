using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Net;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Airgap.Clusters;

/// <summary>
/// cluster.yaml: a whole cluster in one file, for `airgap cluster deploy|status|reset`. Field names
/// follow KubeKey's config (hosts, roleGroups, controlPlaneEndpoint, network) and kubeadm's flags;
/// these types and their attributes are the reference (<see cref="ClusterSchema"/>: the JSON schema,
/// docs/cluster-yaml.md, allowed values), and unknown fields are errors.
/// </summary>
public sealed class ClusterConfig
{
    [Description("Names the admin kubeconfig written beside cluster.yaml: NAME-admin.conf.")]
    public string Name { get; set; } = "cluster";

    [Required, Description("The bundle built by airgap build, on this host: relative to cluster.yaml or absolute; its .tar, or a split bundle's .parts index. Every node gets a copy (of a split bundle: its parts and index, never joined).")]
    public string Bundle { get; set; } = "";

    [Description("When bundle: is a delta (airgap build --since): the bundle it was built on, on this host. Every node gets a copy of both.")]
    public string? Base { get; set; }

    [Required, Description("Every node. This host (the jump host) must reach each one over SSH.")]
    public List<ClusterHost> Hosts { get; set; } = [];

    [Required, Description("Which hosts are control planes and which are workers.")]
    public RoleGroups RoleGroups { get; set; } = new();

    [Description("The stable address of the API servers, in every certificate and kubeconfig.")]
    public ControlPlaneEndpointConfig ControlPlaneEndpoint { get; set; } = new();

    [Description("Pod and Service networks, kube-proxy's mode and the CNI.")]
    public ClusterNetwork Network { get; set; } = new();

    [Description("The options airgap install takes, for every node.")]
    public NodeOptions Install { get; set; } = new();

    [Description("Defaults for reaching the nodes over SSH.")]
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

    public string? BasePath => Base is null ? null : Path.GetFullPath(Resolve(Base));

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
        // Allowed values and ranges are declared once, on the properties (ClusterSchema).
        foreach (var violation in ClusterSchema.Violations(this)) Fail(violation);
        if (Install.RegistryMirror is { } mirror)
        {
            if (Install.Runtime == "docker") Fail("install.registryMirror configures containerd; Docker's mirrors cover docker.io only: drop it, or use runtime containerd");
            try
            {
                Airgap.Nodes.RegistryMirror.Parse(mirror, Install.RegistryCa is null ? null : Resolve(Install.RegistryCa));
            }
            catch (AirgapException e)
            {
                Fail($"install.registryMirror: {e.Message.Replace("--registry-mirror ", "", StringComparison.Ordinal).Replace("--registry-ca", "registryCa", StringComparison.Ordinal)}");
            }
        }
        else if (Install.RegistryCa is not null)
        {
            Fail("install.registryCa goes with install.registryMirror");
        }
        foreach (var h in Hosts)
        {
            if (string.IsNullOrWhiteSpace(h.Name)) Fail("a host has no name");
            if (string.IsNullOrWhiteSpace(h.Address)) Fail($"host {h.Name} has no address");
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
        }
    }

    /// <summary>The example `airgap cluster init-config` prints: every field, commented.</summary>
    public const string Example = """
        # cluster.yaml for airgap cluster deploy: a kubeadm cluster from one bundle, over SSH, with no network.
        name: prod                       # names the admin kubeconfig written here: prod-admin.conf
        bundle: ./airgap-k8s-v1.20.2-linux-amd64.tar   # relative to this file; every node gets a copy
        # base: ./airgap-k8s-v1.20.1-linux-amd64.tar   # only when bundle: is a delta (build --since): the bundle it was built on

        hosts:                           # every node; this host (the jump host) must reach each over SSH
          - name: node1                  # the node's name in the cluster (its host name should match)
            address: 10.0.0.11           # where SSH reaches it
            internalAddress: 10.0.0.11   # optional: the address the cluster uses (default: address)
            port: 22                     # optional, default 22
            user: root                   # optional, default root; another user works through passwordless sudo
            sudo: false                  # optional, default: true when user is not root ("sudo -n", no password prompt)
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
          # registryMirror: https://harbor.site/k8s   # pull through the site's registry (airgap push/serve) instead of importing
          # registryCa: ./harbor-ca.crt              # its CA, on this host; copied to every node
          # trustKeys: [./site.pub.pem]              # bundles must be signed with one of these; copied to every node's /etc/airgap/trusted/

        ssh:
          privateKeyPath: ~/.ssh/id_ed25519   # default key for hosts without one
          knownHosts: ~/.ssh/known_hosts      # host keys must be in it (new ones only with --accept-new-host-keys, printed)
          maxParallel: 4                 # nodes handled at once (uploads, workers)
        """;
}

public sealed class ClusterHost
{
    [Required, Description("The node's name in the cluster; its host name should match.")]
    public string Name { get; set; } = "";

    [Required, Description("Where SSH reaches the node: an address or a name.")]
    public string Address { get; set; } = "";

    [Description("The address the cluster's own traffic uses (API server advertise address, /etc/hosts); default: address.")]
    public string? InternalAddress { get; set; }

    [Range(1, 65535), Description("The node's SSH port.")]
    public int Port { get; set; } = 22;

    [Description("The SSH login user; a user other than root works through passwordless sudo.")]
    public string User { get; set; } = "root";

    [Description("The private key for this host; default: ssh.privateKeyPath, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa.")]
    public string? PrivateKeyPath { get; set; }

    [Description("A password instead of (or after) the key; never logged or printed.")]
    public string? Password { get; set; }

    [Description("Run as root through `sudo -n` (passwordless sudo); default: true when user is not root.")]
    public bool? Sudo { get; set; }

    /// <summary>The address the cluster's own traffic uses: API server advertise address, /etc/hosts entries.</summary>
    [YamlIgnore]
    public string ClusterAddress => InternalAddress ?? Address;

    public override string ToString() => Name;
}

public sealed class RoleGroups
{
    [Required, Description("Host names of the control planes: kubeadm init on the first, the others join one at a time. Use an odd number (etcd needs a majority).")]
    public List<string> ControlPlane { get; set; } = [];

    [Description("Host names of the workers, joined in parallel. Add one and deploy again: only it joins.")]
    public List<string> Worker { get; set; } = [];
}

public sealed class ControlPlaneEndpointConfig
{
    [AllowedValues("builtin", "external"), Description("builtin: a name in each node's /etc/hosts and a local TCP proxy on every worker, nothing else needed. external: your own load balancer at address:port.")]
    public string LoadBalancer { get; set; } = "builtin";

    [Description("builtin only: the endpoint's name, in every certificate and kubeconfig.")]
    public string Domain { get; set; } = "apiserver.cluster.local";

    [Description("external only: the load balancer's address.")]
    public string? Address { get; set; }

    [Range(1, 65535), Description("The endpoint's port; builtin uses the API servers' own, 6443.")]
    public int Port { get; set; } = 6443;

    [YamlIgnore]
    public bool BuiltIn => LoadBalancer == "builtin";

    /// <summary>kubeadm's controlPlaneEndpoint: the name (built in) or the external load balancer's address.</summary>
    [YamlIgnore]
    public string Endpoint => $"{(BuiltIn ? Domain : Address)}:{Port}";
}

public sealed class ClusterNetwork
{
    [Description("As kubeadm's --pod-network-cidr; Flannel's Network is set to it.")]
    public string PodNetworkCidr { get; set; } = "10.244.0.0/16";

    [Description("As kubeadm's --service-cidr.")]
    public string ServiceCidr { get; set; } = "10.96.0.0/12";

    [AllowedValues("iptables", "ipvs"), Description("kube-proxy's mode.")]
    public string ProxyMode { get; set; } = "iptables";

    [AllowedValues("flannel", "none"), Description("flannel (from the bundle) or none (bring your own).")]
    public string Cni { get; set; } = "flannel";
}

public sealed class NodeOptions
{
    [AllowedValues("containerd", "docker"), Description("The container runtime: containerd, or the node's own Docker engine (Kubernetes < 1.24).")]
    public string Runtime { get; set; } = "containerd";

    [Description("As kubeadm's --ignore-preflight-errors.")]
    public List<string> IgnorePreflightErrors { get; set; } = [];

    [Description("Let preflight repair what it safely can (turn swap off, load br_netfilter, set ip_forward).")]
    public bool Fix { get; set; }

    [Description("The site's registry (filled by airgap push, or airgap serve) as https://HOST[:PORT][/PREFIX]: every node's containerd pulls through it instead of importing.")]
    public string? RegistryMirror { get; set; }

    [Description("PEM file on this host of the CA that signed registryMirror's certificate; every node gets a copy.")]
    public string? RegistryCa { get; set; }

    [Description("PEM public keys on this host (airgap key generate's KEYBASE.pub.pem) the bundle must be signed with, as --trust-key: checked here before distributing, and copied to every node's /etc/airgap/trusted/ so each node refuses unsigned or foreign bundles too (later upgrades included).")]
    public List<string> TrustKeys { get; set; } = [];
}

public sealed class SshOptions
{
    [Description("The private key for hosts without their own; default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa.")]
    public string? PrivateKeyPath { get; set; }

    [Description("known_hosts that must vouch for every node's host key (new ones only with --accept-new-host-keys, printed); default: ~/.ssh/known_hosts.")]
    public string? KnownHosts { get; set; }

    [Range(1, 64), Description("Nodes worked on at once: connections, uploads, worker joins.")]
    public int MaxParallel { get; set; } = 4;
}
