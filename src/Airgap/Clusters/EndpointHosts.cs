using Airgap.Nodes;

namespace Airgap.Clusters;

/// <summary>
/// The built-in load balancer's name resolution, kept in /etc/hosts on each node: a control plane
/// reaches the endpoint name at its own API server (at the first control plane's while it joins),
/// a worker at 127.0.0.1, where airgap's API server proxy forwards to every control plane.
/// </summary>
public static class EndpointHosts
{
    private const string Marker = "# airgap: control-plane endpoint";

    public const string ProxyUnit = "airgap-apiserver-proxy.service";
    public const string ProxyUnitPath = "/etc/systemd/system/" + ProxyUnit;

    /// <summary>/etc/hosts with the endpoint line set to <paramref name="address"/>, other lines kept.</summary>
    public static string Render(string? current, string domain, string? address)
    {
        var lines = (current ?? "").Split('\n').Select(l => l.TrimEnd('\r')).Where(l => !l.EndsWith(Marker, StringComparison.Ordinal)).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        if (address is not null) lines.Add($"{address} {domain} {Marker}");
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>
    /// Written in place: /etc/hosts is often a bind mount (containers) that a rename cannot replace,
    /// and resolvers read it per lookup, so there is no half-state worth a temporary file.
    /// </summary>
    public static async Task PointAsync(IHost node, string domain, string? address, CancellationToken ct)
    {
        var current = await node.ReadTextAsync("/etc/hosts", ct).ConfigureAwait(false);
        var updated = Render(current, domain, address);
        if (updated == current) return;
        await node.RunCheckedAsync(new CommandSpec("sh", "-c", "cat > /etc/hosts") { Stdin = System.Text.Encoding.UTF8.GetBytes(updated) }, ct).ConfigureAwait(false);
    }

    public static string ProxyUnitText(string listen, IEnumerable<string> backends) => $"""
        [Unit]
        Description=airgap: local load balancer for the Kubernetes API servers
        Documentation=airgap cluster deploy (built-in load balancer)
        After=network-online.target
        Before=kubelet.service

        [Service]
        ExecStart={ClusterContext.RemoteAirgap} apiserver-proxy --listen {listen} {string.Join(' ', backends.Select(b => "--backend " + b))}
        Restart=always
        RestartSec=2
        # A small forwarder: keep the runtime's heap modest on every worker.
        Environment=DOTNET_GCHeapHardLimit=0x4000000

        [Install]
        WantedBy=multi-user.target

        """;
}
