using Airgap.Artifacts;
using Airgap.Releases;

namespace Airgap.Tests.Releases;

public sealed class ReleaseTableTests
{
    private static KubernetesVersion V(string v) => KubernetesVersion.Parse(v);

    private static ReleaseFile BuiltInFile() =>
        ReleaseFile.Parse(File.ReadAllText(Path.Combine(RepoRoot(), "manifests", "kubernetes", "releases.yaml")), "releases.yaml");

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Airgap.sln"))) return dir.FullName;
        throw new InvalidOperationException("Airgap.sln not found above the test binaries");
    }

    private static string Tag(KubeadmImageSet set, string flatName) => set.Images.Single(i => i.FlatName == flatName).Tag;

    [Theory]
    [InlineData("v1.32.13", "3.10", "3.5.24-0", "v1.11.3")]
    [InlineData("v1.33.0", "3.10", "3.5.21-0", "v1.12.0")]
    [InlineData("v1.33.5", "3.10", "3.5.21-0", "v1.12.0")]
    [InlineData("v1.33.6", "3.10", "3.5.24-0", "v1.12.0")]
    [InlineData("v1.33.13", "3.10", "3.5.24-0", "v1.12.0")]
    [InlineData("v1.34.0", "3.10.1", "3.6.4-0", "v1.12.1")]
    [InlineData("v1.34.1", "3.10.1", "3.6.4-0", "v1.12.1")]
    [InlineData("v1.34.2", "3.10.1", "3.6.5-0", "v1.12.1")]
    [InlineData("v1.34.10", "3.10.1", "3.6.5-0", "v1.12.1")]
    [InlineData("v1.35.0", "3.10.1", "3.6.6-0", "v1.13.1")]
    [InlineData("v1.35.7", "3.10.1", "3.6.6-0", "v1.13.1")]
    [InlineData("v1.36.0", "3.10.2", "3.6.8-0", "v1.14.2")]
    [InlineData("v1.36.3", "3.10.2", "3.6.8-0", "v1.14.2")]
    public void Releases_after_1_32_at_their_row_boundaries(string version, string pause, string etcd, string coreDns)
    {
        var set = ReleaseTable.BuiltIn.Get(V(version));

        Assert.Equal("registry.k8s.io", set.DefaultRegistry);
        Assert.Equal((pause, etcd, coreDns), (Tag(set, "pause"), Tag(set, "etcd"), Tag(set, "coredns")));
    }

    [Fact]
    public void V1_33_0_is_what_its_kubeadm_prints()
    {
        Assert.Equal(
            [
                "registry.k8s.io/kube-apiserver:v1.33.0",
                "registry.k8s.io/kube-controller-manager:v1.33.0",
                "registry.k8s.io/kube-scheduler:v1.33.0",
                "registry.k8s.io/kube-proxy:v1.33.0",
                "registry.k8s.io/coredns/coredns:v1.12.0",
                "registry.k8s.io/pause:3.10",
                "registry.k8s.io/etcd:3.5.21-0",
            ],
            ReleaseTable.BuiltIn.Get(V("v1.33.0")).CanonicalNames());
    }

    [Theory]
    [InlineData("v1.33.14")]
    [InlineData("v1.34.11")]
    [InlineData("v1.35.8")]
    [InlineData("v1.36.4")]
    [InlineData("v1.37.0")]
    [InlineData("v1.37.0-rc.0")]
    public void Releases_no_source_recorded_are_not_in_the_table(string version)
    {
        Assert.False(ReleaseTable.BuiltIn.TryGet(V(version), out _));
    }

    [Theory]
    [InlineData("v1.20.2", "v1.20.0", "v0.8.7", "1.4.3", "v1.0.0-rc92")]
    [InlineData("v1.32.5", "v1.32.0", "v1.6.1", "1.7.24", "v1.2.3")]
    [InlineData("v1.33.0", "v1.33.0", "v1.7.1", "2.1.0", "v1.3.0")]
    [InlineData("v1.34.3", "v1.34.0", "v1.7.1", "2.1.4", "v1.3.0")]
    [InlineData("v1.35.7", "v1.35.0", "v1.8.0", "2.2.0", "v1.2.9")]
    [InlineData("v1.36.1", "v1.36.0", "v1.9.1", "2.3.1", "v1.4.2")]
    public void Binary_defaults_per_minor(string kubernetes, string crictl, string cni, string containerd, string runc)
    {
        Assert.Equal(new BinaryVersions(crictl, cni, containerd, runc), ReleaseTable.BuiltIn.BinariesFor(V(kubernetes)));
    }

    [Fact]
    public void Every_minor_1_18_to_1_36_has_binaries_and_nothing_else_does()
    {
        Assert.Equal(Enumerable.Range(18, 19), ReleaseTable.BuiltIn.Binaries.Select(b => b.Minor));
        var e = Assert.Throws<AirgapException>(() => ReleaseTable.BuiltIn.BinariesFor(V("v1.37.0")));
        Assert.StartsWith("airgap has no default crictl/CNI/containerd/runc versions for Kubernetes v1.37.0 (it knows 1.18–1.36); add a binaries entry for 1.37 to /etc/airgap/releases.yaml", e.Message);
    }

    [Fact]
    public void The_embedded_table_is_the_file_in_manifests()
    {
        var fromFile = ReleaseTable.Compose(BuiltInFile(), null);

        Assert.Equal(fromFile.Known, ReleaseTable.BuiltIn.Known);
        Assert.Equal(fromFile.Rows.Select(r => r with { Origin = null! }), ReleaseTable.BuiltIn.Rows.Select(r => r with { Origin = null! }));
        Assert.Equal(fromFile.Binaries.Select(b => b.Versions), ReleaseTable.BuiltIn.Binaries.Select(b => b.Versions));
    }

    private const string NextRelease = """
        images:
          - {first: v1.36.4, last: v1.36.4, registry: registry.k8s.io, pause: "3.10.2", etcd: 3.6.9-0, coredns: v1.14.2}
          - {first: v1.37.0, last: v1.37.1, registry: registry.k8s.io, pause: "3.10.2", etcd: 3.7.0-0, coredns: v1.14.6}
        binaries:
          - {minor: "1.37", crictl: v1.37.0, cniPlugins: 1.9.1, containerd: v2.3.1, runc: 1.4.2}
        """;

    [Fact]
    public void A_site_file_extends_the_table_with_newer_releases()
    {
        var table = ReleaseTable.Compose(BuiltInFile(), ReleaseFile.Parse(NextRelease, "/etc/airgap/releases.yaml"));

        Assert.Equal("registry.k8s.io/etcd:3.7.0-0", table.Get(V("v1.37.1")).CanonicalNames()[^1]);
        Assert.Equal("3.6.9-0", Tag(table.Get(V("v1.36.4")), "etcd"));
        Assert.Equal("3.6.8-0", Tag(table.Get(V("v1.36.3")), "etcd"));
        Assert.Equal("v1.36.0–v1.36.4", table.Known.Single(r => r.First.Minor == 36).ToString());
        Assert.Equal("v1.37.0–v1.37.1", table.Known[^1].ToString());
        // Written either way in the file, normalised as the download URLs need.
        Assert.Equal(new BinaryVersions("v1.37.0", "v1.9.1", "2.3.1", "v1.4.2"), table.BinariesFor(V("v1.37.0")));
        Assert.Equal("/etc/airgap/releases.yaml", table.SiteSource);
    }

    [Fact]
    public void Site_rows_win_over_built_in_ones_for_the_patches_they_cover()
    {
        var site = ReleaseFile.Parse("""
            images:
              - {first: v1.20.2, last: v1.20.2, registry: k8s.gcr.io, pause: "3.2", etcd: 3.4.13-9, coredns: 1.7.0}
            binaries:
              - {minor: "1.20", crictl: v1.20.1, cniPlugins: v0.8.7, containerd: 1.4.4, runc: v1.0.0-rc93}
            """, "site.yaml");
        var table = ReleaseTable.Compose(BuiltInFile(), site);

        Assert.Equal("3.4.13-9", Tag(table.Get(V("v1.20.2")), "etcd"));
        Assert.Equal("3.4.13-0", Tag(table.Get(V("v1.20.3")), "etcd"));
        Assert.Equal("v1.20.0–v1.20.15", table.Known.Single(r => r.First.Minor == 20).ToString());
        Assert.Equal("1.4.4", table.BinariesFor(V("v1.20.2")).Containerd);
    }

    [Fact]
    public void Unknown_version_error_names_the_site_file_in_use()
    {
        var table = ReleaseTable.Compose(BuiltInFile(), ReleaseFile.Parse(NextRelease, "/srv/site/releases.yaml"));

        var e = Assert.Throws<UnknownKubernetesVersionException>(() => table.Get(V("v1.38.0")));

        Assert.Contains("v1.37.0–v1.37.1); add a row for it to /srv/site/releases.yaml (see README", e.Message);
        Assert.EndsWith("or pass --kubeadm PATH to a kubeadm binary of that version to ask it instead", e.Message);
    }

    [Fact]
    public void Images_of_a_minor_without_binaries_are_refused_at_their_line()
    {
        var site = ReleaseFile.Parse("""
            # a newer release than this airgap knows
            images:
              - {first: v1.37.0, last: v1.37.0, registry: registry.k8s.io, pause: "3.10.2", etcd: 3.7.0-0, coredns: v1.14.6}
            """, "/etc/airgap/releases.yaml");

        var e = Assert.Throws<AirgapException>(() => ReleaseTable.Compose(BuiltInFile(), site));

        Assert.Equal(
            "/etc/airgap/releases.yaml:3: images v1.37.0 are of minor 1.37, which has no binaries entry; " +
            "add - {minor: \"1.37\", crictl: …, cniPlugins: …, containerd: …, runc: …} under binaries:",
            e.Message);
    }

    [Fact]
    public void Binaries_of_a_minor_without_images_are_refused_at_their_line()
    {
        var site = ReleaseFile.Parse("""
            binaries:
              - {minor: "1.36", crictl: v1.36.0, cniPlugins: v1.9.1, containerd: 2.3.1, runc: v1.4.2}
              - {minor: "1.73", crictl: v1.37.0, cniPlugins: v1.9.1, containerd: 2.3.1, runc: v1.4.2}
            """, "site.yaml");

        var e = Assert.Throws<AirgapException>(() => ReleaseTable.Compose(BuiltInFile(), site));

        Assert.Equal("site.yaml:3: binaries for minor 1.73, which has no images rows; add its releases under images: or remove the entry", e.Message);
    }

    [Fact]
    public void The_site_file_is_the_default_path_when_it_exists_and_AIRGAP_RELEASES_when_set()
    {
        var dir = Directory.CreateTempSubdirectory("airgap-releases-");
        try
        {
            var absent = Path.Combine(dir.FullName, "none.yaml");
            var present = Path.Combine(dir.FullName, "releases.yaml");
            File.WriteAllText(present, NextRelease);

            Assert.Null(ReleaseTable.Load(null, absent, BuiltInFile()).SiteSource);
            Assert.False(ReleaseTable.Load("", absent, BuiltInFile()).TryGet(V("v1.37.0"), out _));
            Assert.True(ReleaseTable.Load(null, present, BuiltInFile()).TryGet(V("v1.37.0"), out _));
            Assert.Equal(present, ReleaseTable.Load(present, absent, BuiltInFile()).SiteSource);

            var e = Assert.Throws<AirgapException>(() => ReleaseTable.Load(absent, present, BuiltInFile()));
            Assert.Equal($"$AIRGAP_RELEASES names {absent}, which does not exist; point it at a releases file or unset it", e.Message);

            File.WriteAllText(present, "images:\n  - {first: v1.37.0}\n");
            var bad = Assert.Throws<AirgapException>(() => ReleaseTable.Load(null, present, BuiltInFile()));
            Assert.StartsWith($"{present}:2: images entry 1: last, registry, pause, etcd, coredns are missing", bad.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
