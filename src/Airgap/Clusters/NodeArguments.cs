namespace Airgap.Clusters;

/// <summary>The airgap install and join command lines cluster.yaml means for one node.</summary>
public static class NodeArguments
{
    public static IReadOnlyList<string> Install(ClusterContext c, ClusterHost host)
    {
        var config = c.Config;
        var sans = new List<string>();
        if (config.ControlPlaneEndpoint.BuiltIn) sans.Add(config.ControlPlaneEndpoint.Domain);
        // Every control plane's address too, so the operator's kubeconfig may name any of them.
        sans.AddRange(config.ControlPlanes.SelectMany(h => new[] { h.ClusterAddress, h.Address }));
        List<string> args =
        [
            "install", .. c.RemoteBundleArguments(),
            "--control-plane-endpoint", config.ControlPlaneEndpoint.Endpoint,
            "--apiserver-advertise-address", host.ClusterAddress,
            "--apiserver-cert-extra-sans", string.Join(',', sans.Distinct()),
            "--pod-network-cidr", config.Network.PodNetworkCidr,
            "--service-cidr", config.Network.ServiceCidr,
            "--proxy-mode", config.Network.ProxyMode,
            "--cni", config.Network.Cni,
        ];
        return [.. args, .. Common(config)];
    }

    public static IReadOnlyList<string> Join(ClusterContext c, ClusterHost host, string joinFile)
    {
        List<string> args = ["join", .. c.RemoteBundleArguments(), "--join-file", joinFile];
        if (c.Config.ControlPlanes.Contains(host)) args.AddRange(["--control-plane", "--apiserver-advertise-address", host.ClusterAddress]);
        return [.. args, .. Common(c.Config)];
    }

    private static IEnumerable<string> Common(ClusterConfig config)
    {
        yield return "--runtime";
        yield return config.Install.Runtime;
        if (config.Install.IgnorePreflightErrors.Count > 0)
        {
            yield return "--ignore-preflight-errors";
            yield return string.Join(',', config.Install.IgnorePreflightErrors);
        }
        if (config.Install.Fix) yield return "--fix";
        if (config.Install.RegistryMirror is { } mirror)
        {
            yield return "--registry-mirror";
            yield return mirror;
            if (config.Install.RegistryCa is not null)
            {
                yield return "--registry-ca";
                yield return ClusterContext.RemoteRegistryCa;
            }
        }
    }
}
