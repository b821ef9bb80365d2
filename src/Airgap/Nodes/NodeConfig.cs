using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Airgap.Nodes;

/// <summary>
/// node.yaml for `airgap install --config`: the install flags written down, so a node's setup can be
/// kept in version control. Field names are the flags' in camelCase; a flag given on the command
/// line wins over the file.
/// </summary>
public sealed class NodeConfig
{
    public string? Role { get; set; }
    public bool? SingleNode { get; set; }
    public string? PodNetworkCidr { get; set; }
    public string? ServiceCidr { get; set; }
    public string? ProxyMode { get; set; }
    public string? ApiserverAdvertiseAddress { get; set; }
    public string? ControlPlaneEndpoint { get; set; }
    public List<string>? ApiserverCertExtraSans { get; set; }
    public string? Cni { get; set; }
    public List<string>? IgnorePreflightErrors { get; set; }
    public List<string>? SkipPhases { get; set; }
    public string? KubeconfigUser { get; set; }
    public bool? Fix { get; set; }
    public string? Runtime { get; set; }
    public List<string>? Peers { get; set; }
    public string? RegistryMirror { get; set; }
    public string? RegistryCa { get; set; }
    public List<string>? TrustKeys { get; set; }

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build();

    public static NodeConfig Load(string path)
    {
        if (!File.Exists(path)) throw new AirgapException($"--config {path} does not exist");
        try
        {
            return Deserializer.Deserialize<NodeConfig?>(File.ReadAllText(path)) ?? new NodeConfig();
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            // Unknown fields land here too: a typo in node.yaml must not be silently ignored.
            throw new AirgapException($"--config {path}: {e.Message.Split('\n')[0]} (line {e.Start.Line}); fields are the install flags in camelCase, e.g. podNetworkCidr");
        }
    }
}
