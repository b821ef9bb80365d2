using Airgap.Clusters;

namespace Airgap.Tests.Clusters;

public sealed class ClusterConfigTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("airgap-cluster-config-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Write(string yaml)
    {
        var path = Path.Combine(dir, "cluster.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private const string Hosts = """
        bundle: ./b.tar
        hosts:
          - {name: node1, address: 10.0.0.11}
          - {name: node2, address: 10.0.0.12, internalAddress: 192.168.0.12}
          - {name: node3, address: 10.0.0.13}
          - {name: node4, address: 10.0.0.14, port: 2222, user: admin}

        """;

    [Fact]
    public void The_example_from_init_config_loads_with_kubeadm_s_and_kubekey_s_defaults()
    {
        var config = ClusterConfig.Load(Write(ClusterConfig.Example));

        Assert.Equal("prod", config.Name);
        Assert.Equal(Path.Combine(dir, "airgap-k8s-v1.20.2-linux-amd64.tar"), config.BundlePath);
        Assert.Equal(["node1", "node2", "node3"], config.ControlPlanes.Select(h => h.Name));
        Assert.Equal(["node4"], config.Workers.Select(h => h.Name));
        Assert.Equal("apiserver.cluster.local:6443", config.ControlPlaneEndpoint.Endpoint);
        Assert.True(config.ControlPlaneEndpoint.BuiltIn);
        Assert.Equal("10.244.0.0/16", config.Network.PodNetworkCidr);
        Assert.Empty(config.Warnings());
    }

    [Fact]
    public void Hosts_default_to_root_on_port_22_and_the_cluster_address_is_the_internal_one_when_given()
    {
        var config = ClusterConfig.Load(Write(Hosts + "roleGroups: {controlPlane: [node1], worker: [node2, node4]}\n"));

        Assert.Equal(("root", 22, "10.0.0.11"), (config.Host("node1").User, config.Host("node1").Port, config.Host("node1").ClusterAddress));
        Assert.Equal("192.168.0.12", config.Host("node2").ClusterAddress);
        Assert.Equal(("admin", 2222), (config.Host("node4").User, config.Host("node4").Port));
        Assert.Equal(["node1", "node2", "node4"], config.Nodes.Select(h => h.Name));
    }

    public static TheoryData<string, string> Refused => new()
    {
        { Hosts.Replace("node3, address: 10.0.0.13", "node1, address: 10.0.0.13") + "roleGroups: {controlPlane: [node1]}\n", "host name node1 is given 2 times" },
        { Hosts.Replace("10.0.0.13", "10.0.0.12") + "roleGroups: {controlPlane: [node1]}\n", "address 10.0.0.12:22 is given for node2 and node3; each node needs its own" },
        { Hosts + "roleGroups: {controlPlane: [node1, node9]}\n", "roleGroups names node9, which is not in hosts" },
        { Hosts + "roleGroups: {controlPlane: [node1], worker: [node1]}\n", "node1 is in both roleGroups.controlPlane and roleGroups.worker" },
        { Hosts + "roleGroups: {worker: [node1]}\n", "roleGroups.controlPlane is empty" },
        { Hosts + "roleGroups: {controlPlane: [node1]}\ncontrolPlaneEndpoint: {loadBalancer: external}\n", "loadBalancer: external needs your load balancer's address" },
        { Hosts + "roleGroups: {controlPlane: [node1]}\ncontrolPlaneEndpoint: {port: 8443}\n", "the built-in load balancer uses the API servers' port, 6443" },
        { Hosts + "roleGroups: {controlPlane: [node1]}\ncontrolPlaneEndpoint: {loadBalancer: haproxy}\n", "loadBalancer \"haproxy\" is not known" },
        { Hosts + "roleGroups: {controlPlane: [node1]}\nnetwork: {cni: bridge}\n", "network.cni \"bridge\" is not known; use flannel or none" },
        { Hosts.Replace("port: 2222", "port: 70000") + "roleGroups: {controlPlane: [node1]}\n", "hosts[3].port 70000 is not in 1..65535" },
        { Hosts + "roleGroups: {controlPlane: [node1]}\nssh: {maxParallel: 0}\n", "ssh.maxParallel 0 is not in 1..64" },
        { Hosts + "roleGroups: {controlPlane: [node1]}\ninstall: {registryMirror: harbor.site}\n", "install.registryMirror: harbor.site: give https://HOST[:PORT][/PREFIX]" },
        { Hosts + "roleGroups: {controlPlane: [node1]}\ninstall: {registryMirror: https://harbor.site, registryCa: ./missing.crt}\n", "install.registryMirror: registryCa" },
        { Hosts + "roleGroups: {controlPlane: [node1]}\ninstall: {registryMirror: https://harbor.site, runtime: docker}\n", "install.registryMirror configures containerd" },
        { Hosts + "roleGroups: {controlPlane: [node1]}\ninstall: {registryCa: ./ca.crt}\n", "install.registryCa goes with install.registryMirror" },
        { Hosts + "roleGroups: {controlPlane: [node1]}\nnetwork: {podCidr: 10.0.0.0/8}\n", "(line 8)" },
        { "hosts: []\nbundle: b.tar\n", "hosts: is empty" },
        { Hosts.Replace("10.0.0.14, port: 2222", "10.0.0.14, internalAddress: nope") + "roleGroups: {controlPlane: [node1]}\n", "internalAddress nope is not an IP address" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_bad_cluster_yaml_is_refused_with_one_line_naming_the_field(string yaml, string message)
    {
        var path = Write(yaml);

        var e = Assert.Throws<AirgapException>(() => ClusterConfig.Load(path));

        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void An_even_number_of_control_planes_is_a_warning_not_an_error()
    {
        var config = ClusterConfig.Load(Write(Hosts + "roleGroups: {controlPlane: [node1, node2], worker: [node3]}\n"));

        Assert.Contains("2 control planes: etcd needs a majority", Assert.Single(config.Warnings()));
    }

    [Fact]
    public void A_registry_mirror_reaches_every_node_s_install_and_join_with_the_ca_copied_there()
    {
        File.WriteAllText(Path.Combine(dir, "ca.crt"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        var config = ClusterConfig.Load(Write(Hosts + "roleGroups: {controlPlane: [node1], worker: [node2]}\ninstall: {registryMirror: 'https://harbor.site/k8s', registryCa: ./ca.crt}\n"));
        using var context = new ClusterContext(config, new Airgap.Bundles.BundleDocument { Kubernetes = "v1.20.2", Arch = "amd64" }, Airgap.NullProgress.Instance);

        string[] expected = ["--registry-mirror", "https://harbor.site/k8s", "--registry-ca", ClusterContext.RemoteRegistryCa];
        Assert.Equal(expected, NodeArguments.Install(context, config.Host("node1")).TakeLast(4));
        Assert.Equal(expected, NodeArguments.Join(context, config.Host("node2"), "/tmp/join").TakeLast(4));
        var plain = ClusterConfig.Load(Write(Hosts + "roleGroups: {controlPlane: [node1]}\n"));
        using var plainContext = new ClusterContext(plain, context.Document, Airgap.NullProgress.Instance);
        Assert.DoesNotContain("--registry-mirror", NodeArguments.Install(plainContext, plain.Host("node1")));
    }

    [Fact]
    public void Trust_keys_are_read_from_install_relative_to_cluster_yaml()
    {
        var config = ClusterConfig.Load(Write(Hosts + "roleGroups: {controlPlane: [node1]}\ninstall: {trustKeys: [./site.pub.pem, /etc/keys/b.pem]}\n"));
        Assert.Equal([Path.Combine(dir, "site.pub.pem"), "/etc/keys/b.pem"], config.Install.TrustKeys.Select(p => Path.GetFullPath(config.Resolve(p))));
        Assert.Empty(ClusterConfig.Load(Write(Hosts + "roleGroups: {controlPlane: [node1]}\n")).Install.TrustKeys);
    }

    [Fact]
    public async Task A_delta_bundle_with_its_base_reaches_every_node_s_install_join_and_upgrade_and_a_wrong_or_missing_base_is_refused_first()
    {
        // A real base and delta, written as the build writes them.
        var baseDocument = new Airgap.Bundles.BundleDocument { Name = "airgap-k8s-v1.20.2-linux-amd64", Kubernetes = "v1.20.2", Arch = "amd64" };
        var kubeadm = Airgap.Bundles.BundleMember.FromBytes("binaries/amd64/kubeadm", "kubeadm"u8.ToArray());
        await Airgap.Bundles.BundleWriter.WriteAsync(Path.Combine(dir, "old.tar"), baseDocument, [kubeadm], Airgap.NullProgress.Instance, default);
        var (baseYaml, _) = await Airgap.Bundles.BundleReader.ReadSignedDocumentAsync(Path.Combine(dir, "old.tar"), default);
        var delta = new Airgap.Bundles.BundleDocument { Name = "airgap-k8s-v1.20.15-linux-amd64", Kubernetes = "v1.20.15", Arch = "amd64", Base = Airgap.Bundles.BundleDelta.Reference(baseDocument, baseYaml) };
        await Airgap.Bundles.BundleWriter.WriteAsync(Path.Combine(dir, "b.tar"), delta, Airgap.Bundles.BundleDelta.Mark([kubeadm], baseDocument, "old.tar"), Airgap.NullProgress.Instance, default);

        var config = ClusterConfig.Load(Write(Hosts + "base: ./old.tar\nroleGroups: {controlPlane: [node1], worker: [node2]}\n"));
        Assert.Equal(Path.Combine(dir, "old.tar"), config.BasePath);
        using var context = await ClusterWorkflows.OpenAsync(config, Airgap.NullProgress.Instance, new ClusterRunOptions(), default);
        Assert.Equal("v1.20.15", context.Document.Kubernetes);
        string[] bundle = ["--bundle", $"{ClusterContext.DistDirectory}/b.tar", "--base", $"{ClusterContext.DistDirectory}/old.tar"];
        Assert.Equal(["install", .. bundle], NodeArguments.Install(context, config.Host("node1")).Take(5));
        Assert.Equal(["join", .. bundle], NodeArguments.Join(context, config.Host("node2"), "/tmp/join").Take(5));
        Assert.Equal(["upgrade", "apply", .. bundle], Airgap.Upgrades.Phases.ClusterUpgradeImagesPhase.NodeArgs(context).Take(6));

        var missing = ClusterConfig.Load(Write(Hosts + "roleGroups: {controlPlane: [node1]}\n"));
        var e = await Assert.ThrowsAsync<AirgapException>(() => ClusterWorkflows.OpenAsync(missing, Airgap.NullProgress.Instance, new ClusterRunOptions(), default));
        Assert.Contains("is a delta of airgap-k8s-v1.20.2-linux-amd64", e.Message);
        File.Copy(Path.Combine(dir, "b.tar"), Path.Combine(dir, "other.tar"));
        var wrong = ClusterConfig.Load(Write(Hosts + "base: ./other.tar\nroleGroups: {controlPlane: [node1]}\n"));
        e = await Assert.ThrowsAsync<AirgapException>(() => ClusterWorkflows.OpenAsync(wrong, Airgap.NullProgress.Instance, new ClusterRunOptions(), default));
        Assert.Contains($"but --base {Path.Combine(dir, "other.tar")} is airgap-k8s-v1.20.15-linux-amd64", e.Message);
    }

    [Fact]
    public void An_external_load_balancer_is_the_endpoint()
    {
        var config = ClusterConfig.Load(Write(Hosts + "roleGroups: {controlPlane: [node1]}\ncontrolPlaneEndpoint: {loadBalancer: external, address: 10.0.0.60, port: 8443}\n"));

        Assert.Equal("10.0.0.60:8443", config.ControlPlaneEndpoint.Endpoint);
        Assert.False(config.ControlPlaneEndpoint.BuiltIn);
    }

    [Fact]
    public void The_reference_page_in_docs_is_the_one_the_types_generate()
    {
        var page = Path.Combine(RepoRoot(), "docs", "cluster-yaml.md");

        Assert.True(File.Exists(page) && File.ReadAllText(page) == ClusterSchema.Markdown(),
            $"{page} differs from the types in ClusterConfig.cs: run make docs and commit it");
    }

    [Fact]
    public void The_example_shows_every_field_of_the_reference()
    {
        foreach (var field in ClusterSchema.All())
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(ClusterConfig.Example, $@"(^|[\s{{,#]){field.Name}:"), $"init-config's example does not show {field.Path}");
    }

    [Fact]
    public void The_json_schema_describes_every_field_with_types_defaults_and_choices()
    {
        using var schema = System.Text.Json.JsonDocument.Parse(ClusterSchema.JsonSchema());
        var root = schema.RootElement;
        Assert.False(root.GetProperty("additionalProperties").GetBoolean());
        Assert.Equal(["bundle", "hosts", "roleGroups"], root.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        var host = root.GetProperty("properties").GetProperty("hosts").GetProperty("items");
        Assert.Equal(["name", "address"], host.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(22, host.GetProperty("properties").GetProperty("port").GetProperty("default").GetInt32());
        Assert.Equal(65535, host.GetProperty("properties").GetProperty("port").GetProperty("maximum").GetInt32());
        Assert.Equal(["boolean", "null"], host.GetProperty("properties").GetProperty("sudo").GetProperty("type").EnumerateArray().Select(e => e.GetString()));
        var lb = root.GetProperty("properties").GetProperty("controlPlaneEndpoint").GetProperty("properties").GetProperty("loadBalancer");
        Assert.Equal(["builtin", "external"], lb.GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("builtin", lb.GetProperty("default").GetString());
        Assert.Equal(ClusterSchema.All().Count(), CountProperties(root));
    }

    private static int CountProperties(System.Text.Json.JsonElement node)
    {
        var count = 0;
        if (node.TryGetProperty("properties", out var properties))
            foreach (var p in properties.EnumerateObject()) count += 1 + CountProperties(p.Value);
        if (node.TryGetProperty("items", out var items)) count += CountProperties(items);
        return count;
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Airgap.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Airgap.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Passwords_never_appear_in_the_ssh_settings_text()
    {
        var settings = new Airgap.Nodes.SshSettings { Password = "s3cret-pass" };

        Assert.DoesNotContain("s3cret-pass", settings.ToString());
        Assert.Contains("<redacted>", settings.ToString());
    }
}
