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

    /// <summary>Puts the line back at boot, before the kubelet: some systems write /etc/hosts afresh on every start (cloud-init's manage_etc_hosts, container runtimes).</summary>
    public const string HostsUnit = "airgap-endpoint-hosts.service";
    public const string HostsUnitPath = "/etc/systemd/system/" + HostsUnit;

    /// <summary>
    /// Points the endpoint name at <paramref name="address"/> on the node (null removes it): /etc/hosts
    /// now, and a boot-time unit that writes the line again wherever /etc/hosts is regenerated.
    /// /etc/hosts is written in place: it is often a bind mount (containers) that a rename cannot
    /// replace, and resolvers read it per lookup, so there is no half-state worth a temporary file.
    /// </summary>
    public static async Task PointAsync(IHost node, string domain, string? address, CancellationToken ct)
    {
        var current = await node.ReadTextAsync("/etc/hosts", ct).ConfigureAwait(false);
        var updated = Render(current, domain, address);
        if (updated != current)
            await node.RunCheckedAsync(new CommandSpec("sh", "-c", "cat > /etc/hosts") { Stdin = System.Text.Encoding.UTF8.GetBytes(updated) }, ct).ConfigureAwait(false);
        if (address is null)
        {
            if (!await node.FileExistsAsync(HostsUnitPath, ct).ConfigureAwait(false)) return;
            await node.RunAsync(new CommandSpec("systemctl", "disable", HostsUnit), ct).ConfigureAwait(false);
            await node.DeleteFileAsync(HostsUnitPath, ct).ConfigureAwait(false);
            await node.RunAsync(new CommandSpec("systemctl", "daemon-reload"), ct).ConfigureAwait(false);
            return;
        }
        var unit = HostsUnitText(domain, address);
        if (await node.ReadTextAsync(HostsUnitPath, ct).ConfigureAwait(false) == unit) return;
        await node.WriteTextAsync(HostsUnitPath, unit, HostExtensions.Mode0644, ct).ConfigureAwait(false);
        await node.RunCheckedAsync(new CommandSpec("systemctl", "daemon-reload"), ct).ConfigureAwait(false);
        await node.RunCheckedAsync(new CommandSpec("systemctl", "enable", HostsUnit), ct).ConfigureAwait(false);
    }

    public static string HostsUnitText(string domain, string address) => $"""
        [Unit]
        Description=airgap: the control-plane endpoint {domain} in /etc/hosts
        Documentation=airgap cluster deploy (built-in load balancer)
        After=local-fs.target cloud-init.service
        Before=kubelet.service {ProxyUnit}

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/bin/sh -c 'grep -qF "{Marker}" /etc/hosts || echo "{address} {domain} {Marker}" >> /etc/hosts'

        [Install]
        WantedBy=multi-user.target

        """;

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
