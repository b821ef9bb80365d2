using System.Text.RegularExpressions;
using Airgap.Nodes;

namespace Airgap.Doctor.Checks;

/// <summary>
/// The settings in containerd's config.toml that break a kubelet, read line by line: the file is
/// ours or a package's, and the few keys that matter have one spelling each per config version.
/// </summary>
public static partial class ContainerdConfigFile
{
    /// <summary>The names in the top-level disabled_plugins list, and the line they are on; empty when there is none.</summary>
    public static (IReadOnlyList<string> Plugins, string? Line) DisabledPlugins(string toml)
    {
        foreach (var line in toml.Split('\n'))
        {
            if (line.TrimStart().StartsWith('[')) break;
            var m = DisabledPluginsLine().Match(line);
            if (m.Success)
                return (Quoted().Matches(m.Groups[1].Value).Select(q => q.Groups[1].Value).ToList(), line.Trim());
        }
        return ([], null);
    }

    public static bool IsCri(string plugin) => plugin is "cri" or "io.containerd.grpc.v1.cri";

    /// <summary>config.toml with "cri" taken out of disabled_plugins, everything else byte for byte.</summary>
    public static string EnableCri(string toml) =>
        DisabledPluginsLine().Replace(toml, m =>
        {
            var kept = Quoted().Matches(m.Groups[1].Value).Select(q => q.Groups[1].Value).Where(p => !IsCri(p));
            return "disabled_plugins = [" + string.Join(", ", kept.Select(p => $"\"{p}\"")) + "]";
        }, 1);

    /// <summary>The runc cgroup driver the CRI plugin uses: SystemdCgroup (v2) or systemd_cgroup (v1); containerd's default is cgroupfs.</summary>
    public static (CgroupDriver Driver, string? Line) CgroupDriver(string toml)
    {
        foreach (var line in toml.Split('\n'))
        {
            var m = SystemdCgroupLine().Match(line);
            if (m.Success) return (m.Groups[2].Value == "true" ? Nodes.CgroupDriver.Systemd : Nodes.CgroupDriver.Cgroupfs, line.Trim());
        }
        return (Nodes.CgroupDriver.Cgroupfs, null);
    }

    public static string SetCgroupDriver(string toml, CgroupDriver driver) =>
        SystemdCgroupLine().Replace(toml, m => m.Value.Replace(m.Groups[2].Value, driver == Nodes.CgroupDriver.Systemd ? "true" : "false", StringComparison.Ordinal));

    [GeneratedRegex(@"^[ \t]*disabled_plugins[ \t]*=[ \t]*\[([^\]]*)\][ \t]*$", RegexOptions.Multiline)]
    private static partial Regex DisabledPluginsLine();

    [GeneratedRegex("\"([^\"]*)\"|'([^']*)'")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"^[ \t]*(SystemdCgroup|systemd_cgroup)[ \t]*=[ \t]*(true|false)", RegexOptions.Multiline)]
    private static partial Regex SystemdCgroupLine();
}

/// <summary>The kubelet's cgroupDriver in /var/lib/kubelet/config.yaml; the kubelet's default is cgroupfs.</summary>
public static partial class KubeletConfigFile
{
    public static (CgroupDriver Driver, string? Line) CgroupDriver(string yaml)
    {
        var m = CgroupDriverLine().Match(yaml);
        if (!m.Success) return (Nodes.CgroupDriver.Cgroupfs, null);
        return (m.Groups[1].Value == "systemd" ? Nodes.CgroupDriver.Systemd : Nodes.CgroupDriver.Cgroupfs, m.Value.Trim());
    }

    public static string SetCgroupDriver(string yaml, CgroupDriver driver)
    {
        var line = $"cgroupDriver: {driver.ToConfigValue()}";
        return CgroupDriverLine().IsMatch(yaml) ? CgroupDriverLine().Replace(yaml, line, 1) : yaml.TrimEnd('\n') + "\n" + line + "\n";
    }

    [GeneratedRegex(@"^cgroupDriver:[ \t]*""?(\w+)""?[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex CgroupDriverLine();
}

/// <summary>
/// containerd installed from Docker's packages ships disabled_plugins = ["cri"]: containerd runs,
/// `ctr` works, but the kubelet and kubeadm find no CRI ("unknown service runtime.v1alpha2.RuntimeService").
/// </summary>
public sealed class ContainerdCriCheck : IDoctorCheck
{
    public string Name => "containerd-cri";
    public string Description => $"{ContainerdConfig.DefaultPath} does not disable the CRI plugin (disabled_plugins)";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var toml = await c.ReadAsync(ContainerdConfig.DefaultPath, ct).ConfigureAwait(false);
        if (toml is null) return CheckResult.Skip(Name, $"no {ContainerdConfig.DefaultPath}");
        var (plugins, line) = ContainerdConfigFile.DisabledPlugins(toml);
        if (!plugins.Any(ContainerdConfigFile.IsCri)) return CheckResult.Ok(Name, line is null ? "no plugins disabled" : $"CRI plugin enabled ({line})");
        var fixedToml = ContainerdConfigFile.EnableCri(toml);
        return CheckResult.Fail(Name, $"containerd's CRI plugin is disabled ({line} in {ContainerdConfig.DefaultPath}): the kubelet and kubeadm cannot use containerd")
            .WithEvidence($"{ContainerdConfig.DefaultPath}: {line}") with
            {
                Fix = $"sed -i 's/^disabled_plugins.*/{ContainerdConfigFile.DisabledPlugins(fixedToml).Line}/' {ContainerdConfig.DefaultPath} && systemctl restart containerd && systemctl restart kubelet",
                Repair =
                [
                    new EditFixStep(ContainerdConfig.DefaultPath, "remove \"cri\" from disabled_plugins", fixedToml, HostExtensions.Mode0644),
                    new RunFixStep(new CommandSpec("systemctl", "restart", "containerd")),
                    new RunFixStep(new CommandSpec("systemctl", "restart", "kubelet")),
                ],
            };
    }
}

/// <summary>containerd runs and its CRI answers, as the kubelet would ask it.</summary>
public sealed class RuntimeCheck : IDoctorCheck
{
    public string Name => "runtime";
    public string Description => "containerd is running and answers on its CRI socket (crictl info)";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        if (await c.ReadAsync(ContainerdConfig.DefaultPath, ct).ConfigureAwait(false) is null &&
            !await c.Host.FileExistsAsync("/run/containerd/containerd.sock", ct).ConfigureAwait(false))
            return CheckResult.Skip(Name, "no containerd on this node");
        var state = await c.ServiceStateAsync("containerd", ct).ConfigureAwait(false);
        // Before kubeadm has set up a kubelet, a stopped containerd is just a machine not yet installed.
        if (await c.ReadAsync(DoctorContext.KubeletConfig, ct).ConfigureAwait(false) is null && state != "active")
            return CheckResult.Skip(Name, $"containerd is {state} and no kubelet is set up here yet");
        var info = await c.RunAsync(new CommandSpec("crictl", "--runtime-endpoint", DoctorContext.ContainerdSocket, "info"), ct).ConfigureAwait(false);
        if (info.Succeeded) return CheckResult.Ok(Name, $"containerd is {state}, its CRI answers");
        var said = DoctorContext.LastLine(info) ?? $"exit code {info.ExitCode}";
        if (state != "active")
            return CheckResult.Fail(Name, $"containerd is not running (systemctl is-active: {state}): no pod can start or keep being managed")
                .WithEvidence($"crictl info: {said}")
                .WithEvidence(await c.JournalErrorsAsync("containerd", ct).ConfigureAwait(false)) with
                {
                    Fix = "systemctl restart containerd && journalctl -u containerd -n 50",
                    Repair = [new RunFixStep(new CommandSpec("systemctl", "restart", "containerd"))],
                };
        return CheckResult.Fail(Name, $"containerd runs but its CRI does not answer: {said}")
            .WithEvidence($"crictl --runtime-endpoint {DoctorContext.ContainerdSocket} info: {said}") with
            {
                Fix = $"check {ContainerdConfig.DefaultPath}, then systemctl restart containerd && journalctl -u containerd -n 50",
            };
    }
}

/// <summary>
/// The kubelet and the runtime must put pods in the same cgroup hierarchy: a mismatch leaves pods
/// restarting or the kubelet not starting. The right driver is the init system's (systemd under
/// systemd, cgroupfs otherwise), so the odd one out is the one to change.
/// </summary>
public sealed class CgroupDriverCheck : IDoctorCheck
{
    public string Name => "cgroup-driver";
    public string Description => $"the kubelet's cgroupDriver ({DoctorContext.KubeletConfig}) matches containerd's SystemdCgroup and the init system";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var kubeletYaml = await c.ReadAsync(DoctorContext.KubeletConfig, ct).ConfigureAwait(false);
        var toml = await c.ReadAsync(ContainerdConfig.DefaultPath, ct).ConfigureAwait(false);
        if (kubeletYaml is null || toml is null) return CheckResult.Skip(Name, $"no {(kubeletYaml is null ? DoctorContext.KubeletConfig : ContainerdConfig.DefaultPath)}");
        var facts = await c.FactsAsync(ct).ConfigureAwait(false);
        var expected = facts.CgroupDriver;
        var (kubelet, kubeletLine) = KubeletConfigFile.CgroupDriver(kubeletYaml);
        var (runtime, runtimeLine) = ContainerdConfigFile.CgroupDriver(toml);
        var init = $"PID 1 is {(facts.Pid1.Length == 0 ? "unknown" : facts.Pid1)}";
        var evidence = new[]
        {
            $"{DoctorContext.KubeletConfig}: {kubeletLine ?? "no cgroupDriver (cgroupfs)"}",
            $"{ContainerdConfig.DefaultPath}: {runtimeLine ?? "no SystemdCgroup (cgroupfs)"}",
            $"/proc/1/comm: {facts.Pid1} (so {expected.ToConfigValue()})",
        };
        if (kubelet == runtime && kubelet == expected)
            return CheckResult.Ok(Name, $"kubelet and containerd both use {kubelet.ToConfigValue()} ({init})");
        var repair = new List<FixStep>();
        var fixes = new List<string>();
        if (runtime != expected)
        {
            repair.Add(new EditFixStep(ContainerdConfig.DefaultPath, $"SystemdCgroup = {(expected == CgroupDriver.Systemd ? "true" : "false")}",
                ContainerdConfigFile.SetCgroupDriver(toml, expected), HostExtensions.Mode0644));
            repair.Add(new RunFixStep(new CommandSpec("systemctl", "restart", "containerd")));
            fixes.Add($"sed -i 's/SystemdCgroup = .*/SystemdCgroup = {(expected == CgroupDriver.Systemd ? "true" : "false")}/' {ContainerdConfig.DefaultPath} && systemctl restart containerd");
        }
        if (kubelet != expected)
        {
            repair.Add(new EditFixStep(DoctorContext.KubeletConfig, $"cgroupDriver: {expected.ToConfigValue()}",
                KubeletConfigFile.SetCgroupDriver(kubeletYaml, expected), HostExtensions.Mode0644));
            fixes.Add($"sed -i 's/^cgroupDriver: .*/cgroupDriver: {expected.ToConfigValue()}/' {DoctorContext.KubeletConfig}");
        }
        repair.Add(new RunFixStep(new CommandSpec("systemctl", "restart", "kubelet")));
        fixes.Add("systemctl restart kubelet");
        var message = kubelet != runtime
            ? $"cgroup driver mismatch: the kubelet uses {kubelet.ToConfigValue()}, containerd uses {runtime.ToConfigValue()} ({init}, so both must be {expected.ToConfigValue()})"
            : $"the kubelet and containerd use {kubelet.ToConfigValue()}, but {init}: both must be {expected.ToConfigValue()}";
        // Both on cgroupfs under systemd works (two managers of one hierarchy, not recommended); both on systemd without systemd does not.
        var result = kubelet == runtime && expected == CgroupDriver.Systemd ? CheckResult.Warn(Name, message) : CheckResult.Fail(Name, message);
        return result.WithEvidence(evidence).WithEvidence(await c.JournalErrorsAsync("kubelet", ct).ConfigureAwait(false)) with
        {
            Fix = string.Join(" && ", fixes), Repair = repair,
        };
    }
}
