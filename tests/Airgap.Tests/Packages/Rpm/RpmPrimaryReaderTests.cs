using System.Text;
using Airgap.Packages.Rpm;

namespace Airgap.Tests.Packages.Rpm;

public sealed class RpmPrimaryReaderTests
{
    // Shaped like the legacy kubernetes-el7-x86_64 yum repository's primary.xml (createrepo_c output).
    private const string Primary = """
        <?xml version="1.0" encoding="UTF-8"?>
        <metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
        <package type="rpm">
          <name>kubelet</name>
          <arch>x86_64</arch>
          <version epoch="0" ver="1.20.2" rel="0"/>
          <checksum type="sha256" pkgid="YES">8A4E54C3D7F1C1A8C3C8A0C53A3E8B5E0C6F3A2A9A3D8A1A0D2C3B4A5F6E7D8C</checksum>
          <summary>Container cluster management</summary>
          <description>The node agent of Kubernetes, the container cluster manager.</description>
          <packager></packager>
          <url>https://kubernetes.io</url>
          <time file="1610590000" build="1610580000"/>
          <size package="20943190" installed="113746680" archive="113747200"/>
          <location xml:base="https://mirror.example/kubernetes/" href="../../pool/kubelet-1.20.2-0.x86_64.rpm"/>
          <format>
            <rpm:license>ASL 2.0</rpm:license>
            <rpm:vendor></rpm:vendor>
            <rpm:group>Unspecified</rpm:group>
            <rpm:buildhost>buildkitsandbox</rpm:buildhost>
            <rpm:sourcerpm>kubelet-1.20.2-0.src.rpm</rpm:sourcerpm>
            <rpm:header-range start="280" end="5893"/>
            <rpm:provides>
              <rpm:entry name="kubelet" flags="EQ" epoch="0" ver="1.20.2" rel="0"/>
              <rpm:entry name="kubelet(x86-64)" flags="EQ" epoch="0" ver="1.20.2" rel="0"/>
            </rpm:provides>
            <rpm:requires>
              <rpm:entry name="/bin/sh" pre="1"/>
              <rpm:entry name="conntrack"/>
              <rpm:entry name="ebtables"/>
              <rpm:entry name="iptables" flags="GE" epoch="0" ver="1.4.21"/>
              <rpm:entry name="kubernetes-cni" flags="GE" epoch="0" ver="0.8.6"/>
              <rpm:entry name="rpmlib(CompressedFileNames)" flags="LE" epoch="0" ver="3.0.4" rel="1"/>
            </rpm:requires>
            <rpm:conflicts>
              <rpm:entry name="kubernetes-node" flags="LT" epoch="1" ver="1.0"/>
            </rpm:conflicts>
            <rpm:obsoletes>
              <rpm:entry name="kubernetes-kubelet"/>
            </rpm:obsoletes>
            <file>/etc/kubernetes/manifests</file>
            <file type="dir">/etc/sysconfig</file>
            <file>/usr/bin/kubelet</file>
          </format>
        </package>
        <package type="rpm">
          <name>kubernetes-cni</name>
          <arch>x86_64</arch>
          <version epoch="0" ver="0.8.7" rel="0"/>
          <checksum type="sha" pkgid="YES">0123456789abcdef0123456789abcdef01234567</checksum>
          <summary>Binaries required to provision kubernetes container networking</summary>
          <description/>
          <size package="19487362" installed="61232323" archive="61233480"/>
          <location href="Packages/kubernetes-cni-0.8.7-0.x86_64.rpm"/>
          <format/>
        </package>
        </metadata>
        """;

    [Fact]
    public void Reads_what_a_resolver_needs_from_each_package()
    {
        var packages = Read(Primary);
        Assert.Equal(2, packages.Count);
        var kubelet = packages[0];
        Assert.Equal("kubelet-1.20.2-0.x86_64", kubelet.Nevra);
        Assert.Equal("sha256", kubelet.ChecksumType);
        Assert.Equal("8a4e54c3d7f1c1a8c3c8a0c53a3e8b5e0c6f3a2a9a3d8a1a0d2c3b4a5f6e7d8c", kubelet.Checksum);
        Assert.Equal(20943190, kubelet.Size);
        Assert.Equal("../../pool/kubelet-1.20.2-0.x86_64.rpm", kubelet.LocationHref);
        Assert.Equal("https://mirror.example/kubernetes/", kubelet.LocationBase);
        Assert.Equal(["kubelet = 1.20.2-0", "kubelet(x86-64) = 1.20.2-0"], kubelet.Provides.Select(p => p.ToString()));
        Assert.Equal(["/bin/sh", "conntrack", "ebtables", "iptables >= 1.4.21", "kubernetes-cni >= 0.8.6", "rpmlib(CompressedFileNames) <= 3.0.4-1"],
            kubelet.Requires.Select(p => p.ToString()));
        Assert.True(kubelet.Requires[0].Pre);
        Assert.False(kubelet.Requires[1].Pre);
        Assert.True(kubelet.Requires[5].IsRpmLib);
        Assert.Equal(new RpmDependency("kubernetes-node", RpmComparison.Less, new RpmVersion(1, "1.0", null)), kubelet.Conflicts.Single());
        Assert.Equal("kubernetes-kubelet", kubelet.Obsoletes.Single().Name);
        Assert.Equal(["/etc/kubernetes/manifests", "/etc/sysconfig", "/usr/bin/kubelet"], kubelet.Files);

        var cni = packages[1];
        Assert.Equal("sha", cni.ChecksumType);
        Assert.Empty(cni.Requires);
        Assert.Null(cni.LocationBase);
    }

    [Fact]
    public void Keeps_each_entry_as_a_self_contained_element()
    {
        var kubelet = Read(Primary)[0];
        // Re-parsing the kept XML alone gives the same package: a writer can reproduce it.
        var again = RpmPrimaryReader.Parse(System.Xml.Linq.XElement.Parse(kubelet.Xml), "again");
        Assert.Equal(kubelet.Nevra, again.Nevra);
        Assert.Equal(kubelet.Requires, again.Requires);
        Assert.Contains("<rpm:header-range start=\"280\" end=\"5893\" />", kubelet.Xml.Replace("\"/>", "\" />", StringComparison.Ordinal));
        Assert.Contains("xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\"", kubelet.Xml);
    }

    [Theory]
    [InlineData("<metadata xmlns=\"http://linux.duke.edu/metadata/common\"><package type=\"rpm\"><name>x</name>", "not valid XML")]
    [InlineData("<repomd xmlns=\"http://linux.duke.edu/metadata/repo\"/>", "not rpm primary metadata")]
    [InlineData("<metadata xmlns=\"http://linux.duke.edu/metadata/common\"><package type=\"rpm\"><name>x</name><arch>noarch</arch></package></metadata>", "package x in primary.xml has no version")]
    [InlineData("<!DOCTYPE metadata [<!ENTITY a \"aaaa\">]><metadata/>", "not valid XML")]
    public void Refuses_broken_metadata_with_one_line(string xml, string expected)
    {
        var e = Assert.Throws<AirgapException>(() => Read(xml));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static List<RpmPackage> Read(string xml)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(xml));
        return RpmPrimaryReader.Read(stream, "test repo").ToList();
    }
}
