using Airgap.Releases;

namespace Airgap.Tests.Releases;

public sealed class ReleaseFileTests
{
    private const string Row = "{first: v1.37.0, last: v1.37.2, registry: registry.k8s.io, pause: \"3.10.2\", etcd: 3.7.0-0, coredns: v1.14.6}";
    private const string Binaries = "{minor: \"1.37\", crictl: v1.37.0, cniPlugins: v1.9.1, containerd: 2.3.1, runc: v1.4.2}";

    [Fact]
    public void A_well_formed_file_reads_rows_and_binaries_with_their_lines()
    {
        var file = ReleaseFile.Parse($"images:\n  - {Row}\nbinaries:\n  - {Binaries}\n", "r.yaml");

        var row = Assert.Single(file.Images);
        Assert.Equal("v1.37.0–v1.37.2", row.Versions.ToString());
        Assert.Equal(("registry.k8s.io", "3.10.2", "3.7.0-0", "v1.14.6"), (row.Registry, row.Pause, row.Etcd, row.CoreDns));
        Assert.Equal("r.yaml:2", row.Origin.ToString());
        var binaries = Assert.Single(file.Binaries);
        Assert.Equal((37, "r.yaml:4"), (binaries.Minor, binaries.Origin.ToString()));
    }

    [Fact]
    public void Block_style_entries_and_unquoted_numbers_read_as_written()
    {
        var file = ReleaseFile.Parse("""
            images:
              - first: v1.37.0
                last: v1.37.0
                registry: registry.k8s.io
                pause: 3.10
                etcd: 3.7.0-0
                coredns: v1.14.6
            binaries:
              - minor: 1.37
                crictl: 1.37.0
                cniPlugins: v1.9.1
                containerd: v2.3.1
                runc: v1.4.2
            """, "r.yaml");

        Assert.Equal("3.10", file.Images[0].Pause);
        Assert.Equal((37, "v1.37.0", "2.3.1"), (file.Binaries[0].Minor, file.Binaries[0].Versions.CriTools, file.Binaries[0].Versions.Containerd));
    }

    [Theory]
    [InlineData("imges:\n  - " + Row, "r.yaml:1: unknown key \"imges\"; the keys are images and binaries")]
    [InlineData("images:\n  - {first: v1.37.0, last: v1.37.2, registry: registry.k8s.io, pause: \"3.10.2\", etcd: 3.7.0-0, core-dns: v1.14.6}",
        "r.yaml:2: images entry 1: unknown key \"core-dns\"; the keys are first, last, registry, pause, etcd, coredns")]
    [InlineData("images:\n  - {first: v1.37.0, last: v1.37.2, registry: registry.k8s.io, pause: \"3.10.2\", etcd: 3.7.0-0}",
        "r.yaml:2: images entry 1: coredns is missing")]
    [InlineData("images:\n  - {first: 1.37, last: v1.37.2, registry: registry.k8s.io, pause: \"3.10.2\", etcd: 3.7.0-0, coredns: v1.14.6}",
        "r.yaml:2: images entry 1: first \"1.37\" is not a Kubernetes release such as v1.33.0")]
    [InlineData("images:\n  - {first: v1.37.0-rc.0, last: v1.37.2, registry: registry.k8s.io, pause: \"3.10.2\", etcd: 3.7.0-0, coredns: v1.14.6}",
        "r.yaml:2: images entry 1: first \"v1.37.0-rc.0\" is not a Kubernetes release such as v1.33.0")]
    [InlineData("images:\n  - {first: v1.37.0, last: v1.38.2, registry: registry.k8s.io, pause: \"3.10.2\", etcd: 3.7.0-0, coredns: v1.14.6}",
        "r.yaml:2: images entry 1 (v1.37.0–v1.38.2): first and last are of different minors; a row covers patch releases of one minor")]
    [InlineData("images:\n  - {first: v1.37.3, last: v1.37.2, registry: registry.k8s.io, pause: \"3.10.2\", etcd: 3.7.0-0, coredns: v1.14.6}",
        "r.yaml:2: images entry 1 (v1.37.3–v1.37.2): first comes after last")]
    [InlineData("images:\n  - {first: v1.37.0, last: v1.37.2, registry: \"https://registry.k8s.io\", pause: \"3.10.2\", etcd: 3.7.0-0, coredns: v1.14.6}",
        "r.yaml:2: images entry 1 (v1.37.0–v1.37.2): registry \"https://registry.k8s.io\" is not a registry host and path such as registry.k8s.io (no scheme, lower case)")]
    [InlineData("images:\n  - {first: v1.37.0, last: v1.37.2, registry: registry.k8s.io, pause: \"3.10.2\", etcd: \"3.7.0 0\", coredns: v1.14.6}",
        "r.yaml:2: images entry 1 (v1.37.0–v1.37.2): etcd \"3.7.0 0\" is not an image tag")]
    [InlineData("images:\n  - " + Row + "\n  - {first: v1.37.2, last: v1.37.4, registry: registry.k8s.io, pause: \"3.10.2\", etcd: 3.7.1-0, coredns: v1.14.6}",
        "r.yaml:3: images v1.37.2–v1.37.4 overlap v1.37.0–v1.37.2 (line 2); each patch release belongs to one row")]
    [InlineData("images:\n  - {first: v1.37.2, last: v1.37.4, registry: registry.k8s.io, pause: \"3.10.2\", etcd: 3.7.1-0, coredns: v1.14.6}\n  - " + Row,
        "r.yaml:3: images v1.37.0–v1.37.2 overlap v1.37.2–v1.37.4 (line 2); each patch release belongs to one row")]
    [InlineData("binaries:\n  - " + Binaries + "\n  - " + Binaries,
        "r.yaml:3: binaries for minor 1.37 are given again (first at line 2)")]
    [InlineData("binaries:\n  - {minor: \"1.37.0\", crictl: v1.37.0, cniPlugins: v1.9.1, containerd: 2.3.1, runc: v1.4.2}",
        "r.yaml:2: binaries entry 1: minor \"1.37.0\" is not a Kubernetes minor such as \"1.33\"")]
    [InlineData("binaries:\n  - {minor: \"1.37\", crictl: latest, cniPlugins: v1.9.1, containerd: 2.3.1, runc: v1.4.2}",
        "r.yaml:2: binaries entry 1 (minor 1.37): crictl \"latest\" is not a release version such as v1.2.3")]
    [InlineData("binaries:\n  - {minor: \"1.37\", crictl: v1.37.0, cniPlugins: v1.9.1, containerd: 2.3.1}",
        "r.yaml:2: binaries entry 1: runc is missing")]
    [InlineData("images:\n  - [v1.37.0, v1.37.2]", "r.yaml:2: images entry 1 must be a mapping {first: …, last: …, registry: …, pause: …, etcd: …, coredns: …}")]
    [InlineData("images:\n  - {first: v1.37.0, last: v1.37.2, registry: [a, b], pause: \"3.10.2\", etcd: 3.7.0-0, coredns: v1.14.6}",
        "r.yaml:2: registry must be a plain value, not a list or mapping")]
    [InlineData("images: {first: v1.37.0}", "r.yaml:1: images must be a list of entries (- {…})")]
    [InlineData("- " + Row, "r.yaml:1: the file must be a mapping with images: and binaries:")]
    [InlineData("images:\n  - {first: v1.37.0, last: v1.37.2\n", "r.yaml:3: not valid YAML: ")]
    [InlineData("# nothing yet\n", "r.yaml: expected one YAML document with images: and binaries:, found 0")]
    [InlineData("images: []\nbinaries: []\n", "r.yaml: holds no images or binaries entries; see manifests/kubernetes/releases.yaml for their shape")]
    public void Mistakes_are_one_line_naming_file_line_and_fault(string yaml, string expected)
    {
        var e = Assert.Throws<AirgapException>(() => ReleaseFile.Parse(yaml, "r.yaml"));

        Assert.StartsWith(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
