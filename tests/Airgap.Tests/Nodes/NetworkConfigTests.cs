using System.Text.Json;
using Airgap.Nodes;
using Airgap.Releases;

namespace Airgap.Tests.Nodes;

public sealed class NetworkConfigTests
{
    // Shaped like kube-flannel.yml: a comment, other documents before and after, cni-conf.json
    // before net-conf.json, and an IPv6Network key that must not be mistaken for Network.
    private const string Manifest = """
        ---
        kind: Namespace
        apiVersion: v1
        metadata:
          name: kube-flannel
        ---
        kind: ConfigMap
        apiVersion: v1
        metadata:
          name: kube-flannel-cfg
          namespace: kube-flannel
        data:
          cni-conf.json: |
            {
              "name": "cbr0",
              "plugins": [ { "type": "flannel", "delegate": { "hairpinMode": true } } ]
            }
          net-conf.json: |
            {
              "IPv6Network": "fd00::/56",
              "Network": "10.244.0.0/16",
              "Backend": {
                "Type": "vxlan"
              }
            }
        ---
        # the daemon set
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: kube-flannel-ds
        spec:
          template:
            spec:
              containers:
              - name: kube-flannel
                image: docker.io/flannel/flannel:v0.22.0
                args: ["--ip-masq", "--kube-subnet-mgr"]
        """;

    [Fact]
    public void Sets_flannel_network_changing_nothing_else()
    {
        var result = FlannelManifestRenderer.SetNetwork(Manifest, "192.168.0.0/16");

        Assert.Equal(Manifest.Replace("\"Network\": \"10.244.0.0/16\"", "\"Network\": \"192.168.0.0/16\"", StringComparison.Ordinal), result);
        Assert.Equal("192.168.0.0/16", FlannelManifest.ReadNetwork(result));
        Assert.Contains("\"IPv6Network\": \"fd00::/56\"", result);
    }

    [Fact]
    public void Sets_network_in_a_quoted_json_string_too()
    {
        const string manifest = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: kube-flannel-cfg}
            data:
              net-conf.json: "{\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"vxlan\"}}"
            """;

        var result = FlannelManifestRenderer.SetNetwork(manifest, "10.100.0.0/16");

        Assert.Equal(manifest.Replace("10.244.0.0/16", "10.100.0.0/16", StringComparison.Ordinal), result);
        Assert.Equal("10.100.0.0/16", FlannelManifest.ReadNetwork(result));
    }

    [Fact]
    public void A_manifest_without_flannels_config_map_is_an_error()
    {
        // A "Network" elsewhere must not be touched.
        const string manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  net-conf.json: '{\"Network\": \"10.0.0.0/8\"}'\n";
        var error = Assert.Throws<AirgapException>(() => FlannelManifestRenderer.SetNetwork(manifest, "10.244.0.0/16"));
        Assert.Contains("kube-flannel-cfg", error.Message);
    }

    [Theory]
    [InlineData("10.244.0.0/33")]
    [InlineData("10.244.1.0/16")]
    [InlineData("fd00::/64")]
    public void Bad_or_ipv6_pod_cidrs_are_refused_for_flannel(string cidr) =>
        Assert.Throws<AirgapException>(() => FlannelManifestRenderer.SetNetwork(Manifest, cidr));

    [Fact]
    public void Bridge_conflist_for_a_single_node()
    {
        var json = BridgeCniConfig.Render("10.244.0.0/16");

        Assert.Equal("""
            {
              "cniVersion": "0.3.1",
              "name": "airgap-bridge",
              "plugins": [
                {
                  "type": "bridge",
                  "bridge": "cni0",
                  "isGateway": true,
                  "ipMasq": true,
                  "hairpinMode": true,
                  "ipam": {
                    "type": "host-local",
                    "ranges": [
                      [
                        {
                          "subnet": "10.244.0.0/16"
                        }
                      ]
                    ],
                    "routes": [
                      {
                        "dst": "0.0.0.0/0"
                      }
                    ]
                  }
                },
                {
                  "type": "portmap",
                  "capabilities": {
                    "portMappings": true
                  }
                }
              ]
            }

            """, json);
        using var parsed = JsonDocument.Parse(json);
        Assert.Equal("10.244.0.0/16", parsed.RootElement.GetProperty("plugins")[0].GetProperty("ipam").GetProperty("ranges")[0][0].GetProperty("subnet").GetString());
    }

    [Fact]
    public void Bridge_conflist_routes_ipv6_pods_by_the_ipv6_default()
    {
        using var parsed = JsonDocument.Parse(BridgeCniConfig.Render("FD00:10:244::/64"));
        Assert.Equal("::/0", parsed.RootElement.GetProperty("plugins")[0].GetProperty("ipam").GetProperty("routes")[0].GetProperty("dst").GetString());
    }

    [Fact]
    public void Bridge_conflist_refuses_host_bits() =>
        Assert.Contains("did you mean 10.244.0.0/16", Assert.Throws<AirgapException>(() => BridgeCniConfig.Render("10.244.3.0/16")).Message);
}
