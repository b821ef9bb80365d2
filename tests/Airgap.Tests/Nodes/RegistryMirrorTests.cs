using Airgap.Nodes;

namespace Airgap.Tests.Nodes;

public sealed class RegistryMirrorTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("airgap-mirror-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    [Fact]
    public void Hosts_toml_keeps_the_upstream_path_below_the_mirror_and_names_its_ca()
    {
        var mirror = RegistryMirror.Parse("https://harbor.site:8443/library/", null);

        Assert.Equal("""
            # Written by airgap: pull k8s.gcr.io images from the site's registry https://harbor.site:8443/library.
            server = "https://k8s.gcr.io"

            [host."https://harbor.site:8443/v2/library/k8s.gcr.io"]
              capabilities = ["pull", "resolve"]
              override_path = true
              ca = "/etc/containerd/certs.d/airgap-mirror-ca.crt"

            """, mirror.HostsToml("k8s.gcr.io", withCa: true));
        Assert.Contains("server = \"https://registry-1.docker.io\"", mirror.HostsToml("docker.io", withCa: false));
        Assert.Contains("[host.\"http://10.0.0.5:5000/v2/quay.io\"]", RegistryMirror.Parse("http://10.0.0.5:5000", null).HostsToml("quay.io", false));
        // A registry with a port, spelled as push spells it in a repository path.
        var ported = RegistryMirror.Parse("https://10.0.0.5:5000", null).HostsToml("10.0.0.9:5001", false);
        Assert.Contains("server = \"https://10.0.0.9:5001\"", ported);
        Assert.Contains("[host.\"https://10.0.0.5:5000/v2/10.0.0.9-5001\"]", ported);
    }

    [Fact]
    public void Every_well_known_registry_and_those_of_the_bundle_are_mirrored()
    {
        Assert.Equal(["docker.io", "ghcr.io", "k8s.gcr.io", "quay.io", "registry.k8s.io"],
            RegistryMirror.Registries(["k8s.gcr.io/pause:3.2", "ghcr.io/flannel-io/flannel:v0.25.1", "nginx:1.25"]));
    }

    [Theory]
    [InlineData("harbor.site", "give https://HOST[:PORT][/PREFIX]")]
    [InlineData("ftp://harbor.site", "give https://HOST[:PORT][/PREFIX]")]
    [InlineData("https://harbor.site/x?y=1", "give https://HOST[:PORT][/PREFIX]")]
    public void A_bad_mirror_is_one_line(string url, string message) =>
        Assert.Contains(message, Assert.Throws<AirgapException>(() => RegistryMirror.Parse(url, null)).Message);

    [Fact]
    public void The_ca_must_be_a_pem_certificate_for_an_https_mirror()
    {
        var ca = Path.Combine(work, "ca.crt");
        File.WriteAllText(ca, "not a certificate");
        Assert.Contains("holds no PEM certificate", Assert.Throws<AirgapException>(() => RegistryMirror.Parse("https://h", ca)).Message);
        Assert.Contains("is plain HTTP", Assert.Throws<AirgapException>(() => RegistryMirror.Parse("http://h", ca)).Message);
        Assert.Contains("does not exist", Assert.Throws<AirgapException>(() => RegistryMirror.Parse("https://h", ca + ".missing")).Message);
    }

    [Fact]
    public void Containerd_reads_the_hosts_directory_from_1_5_and_inline_mirrors_before()
    {
        var mirror = RegistryMirror.Parse("https://10.0.0.5:5000", null) with { CaFile = "/tmp/ca.crt" };
        var settings = new ContainerdSettings { SandboxImage = "k8s.gcr.io/pause:3.2", Mirror = mirror, MirroredRegistries = ["k8s.gcr.io", "quay.io"] };

        Assert.Contains("""
                [plugins."io.containerd.grpc.v1.cri".registry]
                  config_path = "/etc/containerd/certs.d"
            """, ContainerdConfig.Render(settings));
        Assert.Contains("""
                [plugins."io.containerd.cri.v1.images".registry]
                  config_path = "/etc/containerd/certs.d"
            """, ContainerdConfig.Render(settings with { ConfigVersion = 3 }));
        Assert.Contains("""
                [plugins."io.containerd.grpc.v1.cri".registry]
                  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."k8s.gcr.io"]
                    endpoint = ["https://10.0.0.5:5000"]
                  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."quay.io"]
                    endpoint = ["https://10.0.0.5:5000"]
                  [plugins."io.containerd.grpc.v1.cri".registry.configs."10.0.0.5:5000".tls]
                    ca_file = "/etc/containerd/certs.d/airgap-mirror-ca.crt"
            """, ContainerdConfig.Render(settings with { HostsDirectory = false }));
        Assert.DoesNotContain("registry", ContainerdConfig.Render(settings with { Mirror = null }));
    }

    [Theory]
    [InlineData("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1", "1.6.20~ds1", true)]
    [InlineData("containerd containerd.io 1.4.3 269548fa27e0089a8b8278fc4fc781d7f65a939b", "1.4.3", false)]
    [InlineData("containerd github.com/containerd/containerd/v2 v2.0.2 c507a0257ea6462fbd6f5ba4f5c74facb04021f4", "v2.0.2", true)]
    public void The_containerd_version_decides_the_config(string output, string version, bool hostsDirectory)
    {
        Assert.Equal(version, ContainerdConfig.VersionFrom(output));
        Assert.Equal(hostsDirectory, ContainerdConfig.HasHostsDirectory(version));
    }
}
