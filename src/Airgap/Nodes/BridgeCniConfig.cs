using System.Text;
using System.Text.Json;

namespace Airgap.Nodes;

/// <summary>
/// The CNI network for single-node clusters (--cni bridge): the CNI plugins' bridge with host-local
/// addresses from the pod CIDR, plus portmap for hostPort. No daemon and no image, which is why it
/// suits an isolated single node; it does not route between nodes.
/// </summary>
public static class BridgeCniConfig
{
    public const string FileName = "10-airgap-bridge.conflist";
    public const string NetworkName = "airgap-bridge";
    public const string BridgeName = "cni0";

    /// <summary>0.3.1 is read by every CNI plugins release airgap bundles (v0.8.x and later) and by containerd 1.4+.</summary>
    public const string CniVersion = "0.3.1";

    public static string Render(string podCidr)
    {
        var network = Cidr.Parse(podCidr, "--pod-network-cidr");
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            json.WriteStartObject();
            json.WriteString("cniVersion", CniVersion);
            json.WriteString("name", NetworkName);
            json.WriteStartArray("plugins");

            json.WriteStartObject();
            json.WriteString("type", "bridge");
            json.WriteString("bridge", BridgeName);
            json.WriteBoolean("isGateway", true);
            json.WriteBoolean("ipMasq", true);
            // Lets a pod reach itself through a Service that picks it.
            json.WriteBoolean("hairpinMode", true);
            json.WriteStartObject("ipam");
            json.WriteString("type", "host-local");
            json.WriteStartArray("ranges");
            json.WriteStartArray();
            json.WriteStartObject();
            json.WriteString("subnet", podCidr);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndArray();
            // A default route through the bridge, so pods reach Service IPs (kube-proxy's rules are on the host).
            json.WriteStartArray("routes");
            json.WriteStartObject();
            json.WriteString("dst", Cidr.IsIPv6(network) ? "::/0" : "0.0.0.0/0");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();

            json.WriteStartObject();
            json.WriteString("type", "portmap");
            json.WriteStartObject("capabilities");
            json.WriteBoolean("portMappings", true);
            json.WriteEndObject();
            json.WriteEndObject();

            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
