using Airgap.Nodes;
using Airgap.Releases;
using Airgap.Upgrades;

namespace Airgap.Tests.Upgrades;

public sealed class KubeadmConfigApisTests
{
    private static KubernetesVersion V(string v) => KubernetesVersion.Parse(v);

    [Theory]
    [InlineData("v1.18.0", KubeadmApiVersion.V1Beta2, true)]
    [InlineData("v1.21.14", KubeadmApiVersion.V1Beta3, false)]
    [InlineData("v1.22.0", KubeadmApiVersion.V1Beta2, true)]
    [InlineData("v1.22.0", KubeadmApiVersion.V1Beta3, true)]
    [InlineData("v1.26.15", KubeadmApiVersion.V1Beta2, true)]
    [InlineData("v1.27.0", KubeadmApiVersion.V1Beta2, false)]
    [InlineData("v1.30.14", KubeadmApiVersion.V1Beta4, false)]
    [InlineData("v1.31.0", KubeadmApiVersion.V1Beta3, true)]
    [InlineData("v1.31.0", KubeadmApiVersion.V1Beta4, true)]
    [InlineData("v1.32.13", KubeadmApiVersion.V1Beta2, false)]
    public void Which_config_APIs_a_kubeadm_reads(string kubeadm, KubeadmApiVersion api, bool reads)
    {
        Assert.Equal(reads, KubeadmConfigApis.Reads(V(kubeadm), api));
    }

    [Fact]
    public void Every_release_1_18_to_1_32_reads_the_API_airgap_writes_for_it_and_for_the_minor_before()
    {
        for (var minor = 19; minor <= 32; minor++)
        {
            var release = KubernetesVersion.Create(1, minor, 0);
            Assert.True(KubeadmConfigApis.Reads(release, KubeadmConfigApis.Writes(release)), release.ToString());
            Assert.True(KubeadmConfigApis.Reads(release, KubeadmConfigApis.Writes(KubernetesVersion.Create(1, minor - 1, 0))), release.ToString());
        }
    }

    [Fact]
    public void Skew_allowances()
    {
        Assert.Equal(2, SkewPolicy.KubeletMaxMinorsBehind(V("v1.24.17")));
        Assert.Equal(3, SkewPolicy.KubeletMaxMinorsBehind(V("v1.25.0")));
        Assert.Equal(1, SkewPolicy.KubectlMaxMinorsApart);
    }
}
