using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Airgap.Releases;

/// <summary>
/// Reads what airgap needs from a kube-flannel.yml (or any multi-document manifest): the images it
/// runs, so they go into the bundle, and the pod network, so kubeadm's --pod-network-cidr can be
/// made to agree with it ("pod cidr not assigned" is the symptom when they differ).
/// </summary>
public static class FlannelManifest
{
    /// <summary>
    /// Every distinct image of containers and initContainers, in document order. Pod templates are
    /// found at any depth, so DaemonSets, Deployments, CronJobs and Lists are all covered; older
    /// manifests have one DaemonSet per architecture, and each of their images is returned.
    /// </summary>
    public static IReadOnlyList<string> ReadImages(string yaml)
    {
        var images = new List<string>();
        foreach (var document in Load(yaml))
            Collect(document.RootNode, images);
        return images.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The "Network" of net-conf.json in the kube-flannel-cfg ConfigMap, or null when the manifest has none.</summary>
    public static string? ReadNetwork(string yaml)
    {
        foreach (var document in Load(yaml))
        {
            if (document.RootNode is not YamlMappingNode root || Scalar(root, "kind") != "ConfigMap") continue;
            if (Child(root, "metadata") is not YamlMappingNode metadata || Scalar(metadata, "name") != "kube-flannel-cfg") continue;
            if (Child(root, "data") is not YamlMappingNode dataMap) return null;
            var netConf = Scalar(dataMap, "net-conf.json");
            if (netConf is null) return null;
            try
            {
                using var json = JsonDocument.Parse(netConf);
                return json.RootElement.ValueKind == JsonValueKind.Object &&
                       json.RootElement.TryGetProperty("Network", out var network) &&
                       network.ValueKind == JsonValueKind.String
                    ? network.GetString()
                    : null;
            }
            catch (JsonException e)
            {
                throw new AirgapException($"net-conf.json in the kube-flannel-cfg ConfigMap is not valid JSON: {e.Message}", e);
            }
        }
        return null;
    }

    private static IEnumerable<YamlDocument> Load(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new AirgapException($"manifest is not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {e.Message}", e);
        }
        return stream.Documents;
    }

    private static void Collect(YamlNode node, List<string> images)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is YamlScalarNode { Value: "containers" or "initContainers" } && value is YamlSequenceNode containers)
                    {
                        foreach (var container in containers.OfType<YamlMappingNode>())
                            if (Scalar(container, "image") is { Length: > 0 } image) images.Add(image);
                    }
                    else
                    {
                        Collect(value, images);
                    }
                }
                break;
            case YamlSequenceNode sequence:
                foreach (var item in sequence) Collect(item, images);
                break;
        }
    }

    private static YamlNode? Child(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static string? Scalar(YamlMappingNode mapping, string key) => (Child(mapping, key) as YamlScalarNode)?.Value;
}
