using Airgap.Nodes;

namespace Airgap.Doctor.Checks;

/// <summary>Swap on: the kubelet (before 1.22, and by default after) refuses to start.</summary>
public sealed class SwapCheck : IDoctorCheck
{
    public string Name => "swap";
    public string Description => "swap is off (/proc/swaps), as the kubelet requires";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var facts = await c.FactsAsync(ct).ConfigureAwait(false);
        if (!facts.SwapOn) return CheckResult.Ok(Name, "swap is off");
        var fstab = facts.Fstab is null ? null : Preflight.CommentOutSwap(facts.Fstab);
        List<FixStep> steps = [new RunFixStep(new CommandSpec("swapoff", "-a"))];
        if (fstab is not null && fstab != facts.Fstab) steps.Add(new EditFixStep("/etc/fstab", "comment out the swap lines", fstab, HostExtensions.Mode0644));
        return CheckResult.Fail(Name, $"swap is on ({string.Join(", ", facts.SwapAreas)}): the kubelet refuses to run with swap")
            .WithEvidence("/proc/swaps: " + string.Join(", ", facts.SwapAreas)) with
            {
                Fix = "swapoff -a && sed -i '/\\sswap\\s/ s/^/#/' /etc/fstab",
                Repair = steps,
            };
    }
}

/// <summary>br_netfilter off: Service traffic between pods on one bridge bypasses kube-proxy's iptables rules.</summary>
public sealed class BridgeNetfilterCheck : IDoctorCheck
{
    public string Name => "br-netfilter";
    public string Description => "br_netfilter is loaded and net.bridge.bridge-nf-call-iptables = 1";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var facts = await c.FactsAsync(ct).ConfigureAwait(false);
        if (facts.BrNetfilter == KernelFeatureState.Missing)
            return CheckResult.Fail(Name, $"the kernel ({facts.KernelRelease}) has no br_netfilter: Service traffic across the pod bridge bypasses iptables")
                with { Fix = "boot a kernel with CONFIG_BRIDGE_NETFILTER" };
        if (facts.BrNetfilter == KernelFeatureState.Loadable)
            return CheckResult.Fail(Name, "br_netfilter is not loaded: Service traffic across the pod bridge bypasses iptables (Services time out between pods)")
                .WithEvidence("/proc/sys/net/bridge is missing") with
                {
                    Fix = $"modprobe br_netfilter && echo br_netfilter >> {Preflight.ModulesFile} && sysctl -w net.bridge.bridge-nf-call-iptables=1",
                    Repair = KernelRepair(loadModule: true),
                };
        if (facts.BridgeNfCallIptables == 1) return CheckResult.Ok(Name, "br_netfilter loaded, net.bridge.bridge-nf-call-iptables = 1");
        return CheckResult.Fail(Name, $"net.bridge.bridge-nf-call-iptables is {facts.BridgeNfCallIptables?.ToString() ?? "unreadable"}, must be 1: Service traffic across the pod bridge bypasses iptables")
            .WithEvidence($"/proc/sys/net/bridge/bridge-nf-call-iptables: {facts.BridgeNfCallIptables}") with
            {
                Fix = $"sysctl -w net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 (persist in {Preflight.SysctlFile})",
                Repair = KernelRepair(loadModule: false),
            };
    }

    internal static IReadOnlyList<FixStep> KernelRepair(bool loadModule)
    {
        var steps = new List<FixStep>();
        if (loadModule)
        {
            steps.Add(new RunFixStep(new CommandSpec("modprobe", "br_netfilter")));
            steps.Add(new WriteFixStep(Preflight.ModulesFile, Preflight.ModulesContent, HostExtensions.Mode0644));
        }
        steps.Add(new RunFixStep(new CommandSpec("sysctl", "-w", "net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1", "net.ipv4.ip_forward=1")));
        steps.Add(new WriteFixStep(Preflight.SysctlFile, Preflight.SysctlContent, HostExtensions.Mode0644));
        return steps;
    }
}

/// <summary>ip_forward off: pod traffic cannot leave the node.</summary>
public sealed class IpForwardCheck : IDoctorCheck
{
    public string Name => "ip-forward";
    public string Description => "net.ipv4.ip_forward = 1";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var facts = await c.FactsAsync(ct).ConfigureAwait(false);
        if (facts.IpForward == 1) return CheckResult.Ok(Name, "net.ipv4.ip_forward = 1");
        return CheckResult.Fail(Name, $"net.ipv4.ip_forward is {facts.IpForward?.ToString() ?? "unreadable"}, must be 1: pod traffic cannot leave the node")
            .WithEvidence($"/proc/sys/net/ipv4/ip_forward: {facts.IpForward}") with
            {
                Fix = $"sysctl -w net.ipv4.ip_forward=1 (persist in {Preflight.SysctlFile})",
                Repair = BridgeNetfilterCheck.KernelRepair(loadModule: false),
            };
    }
}
