using System.Text;
using System.Text.RegularExpressions;
using Airgap.Releases;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Airgap.Nodes;

/// <summary>
/// Makes Flannel's pod network equal to kubeadm's podSubnet: when they differ, flanneld finds no
/// pod CIDR for its node ("pod cidr not assigned") and the network never comes up.
/// </summary>
public static partial class FlannelManifestRenderer
{
    /// <summary>
    /// The manifest with the "Network" in net-conf.json of the kube-flannel-cfg ConfigMap set to
    /// <paramref name="podCidr"/>. Only that value changes; every other byte (comments, order,
    /// images) stays as the bundle pinned it.
    /// </summary>
    public static string SetNetwork(string yaml, string podCidr)
    {
        var network = Cidr.Parse(podCidr, "--pod-network-cidr");
        if (Cidr.IsIPv6(network))
            throw new AirgapException($"--pod-network-cidr {podCidr} is IPv6; Flannel's Network is the IPv4 pod network (IPv6 goes in IPv6Network)");

        var replaced = 0;
        var documents = DocumentStart().Split(yaml);
        var separators = DocumentStart().Matches(yaml);
        var output = new StringBuilder();
        for (var i = 0; i < documents.Length; i++)
        {
            var document = documents[i];
            if (IsFlannelConfigMap(document))
            {
                var key = NetConfKey().Match(document);
                var start = key.Success ? key.Index + key.Length : document.Length;
                var value = NetworkValue().Match(document, start);
                if (value.Success)
                {
                    var group = value.Groups["value"];
                    document = document[..group.Index] + podCidr + document[(group.Index + group.Length)..];
                    replaced++;
                }
            }
            output.Append(document);
            if (i < separators.Count) output.Append(separators[i].Value);
        }

        if (replaced == 0)
            throw new AirgapException(
                "the Flannel manifest has no \"Network\" in net-conf.json of a kube-flannel-cfg ConfigMap, so it cannot be made to match --pod-network-cidr");
        var text = output.ToString();
        if (FlannelManifest.ReadNetwork(text) != podCidr)
            throw new AirgapException($"setting Flannel's Network to {podCidr} did not take; the manifest's net-conf.json has an unusual layout");
        return text;
    }

    private static bool IsFlannelConfigMap(string document)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(document));
        }
        catch (YamlException)
        {
            return false;
        }
        return stream.Documents.Any(d =>
            d.RootNode is YamlMappingNode root &&
            Scalar(root, "kind") == "ConfigMap" &&
            root.Children.TryGetValue(new YamlScalarNode("metadata"), out var metadata) &&
            metadata is YamlMappingNode meta && Scalar(meta, "name") == "kube-flannel-cfg");
    }

    private static string? Scalar(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? (value as YamlScalarNode)?.Value : null;

    // A "---" line starts a new document; the split keeps each document's text untouched.
    [GeneratedRegex(@"(?m)^---[^\n]*\n")]
    private static partial Regex DocumentStart();

    [GeneratedRegex(@"net-conf\.json[""']?\s*:")]
    private static partial Regex NetConfKey();

    // "Network": "10.244.0.0/16" in a block scalar, or \"Network\": \"...\" inside a quoted JSON string.
    [GeneratedRegex(@"\\?""Network\\?""\s*:\s*\\?""(?<value>[^""\\]*)\\?""")]
    private static partial Regex NetworkValue();
}
