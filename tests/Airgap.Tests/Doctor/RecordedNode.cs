using System.Text.Json.Nodes;
using Airgap.Nodes;
using Airgap.Tests.Nodes;

namespace Airgap.Tests.Doctor;

/// <summary>
/// A node as the lab's real one was, from the files captured there (Recorded/STATE/, see its README):
/// its config files at their paths and each command doctor runs answered with what the real command
/// printed in that state. Only the recorded answers exist; any other command fails as "not found".
/// </summary>
internal static class RecordedNode
{
    public static string Directory(string state) => Path.Combine(AppContext.BaseDirectory, "Doctor", "Recorded", state);

    public static string Read(string state, string file) => File.ReadAllText(Path.Combine(Directory(state), file));

    public static bool Has(string state, string file) => File.Exists(Path.Combine(Directory(state), file));

    public static FakeHost Load(string state)
    {
        var dir = Directory(state);
        string? Maybe(string file) => File.Exists(Path.Combine(dir, file)) ? File.ReadAllText(Path.Combine(dir, file)) : null;
        var nodeName = NodeName(Maybe("kubectl-get-nodes.json")) ?? "vm";
        var host = new FakeHost(nodeName)
            .File("/proc/sys/kernel/hostname", nodeName + "\n")
            .File("/proc/1/comm", Maybe("pid1.txt") ?? "systemd\n")
            .File("/proc/swaps", Maybe("swaps.txt") ?? "Filename\tType\tSize\tUsed\tPriority\n")
            .File("/proc/self/status", "Uid:\t0\t0\t0\t0\nCapBnd:\t000001fffeffffff\n")
            .File("/proc/filesystems", "nodev\toverlay\n");
        foreach (var line in (Maybe("sysctl.txt") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = (line.Split('=')[0], line.Split('=')[1]);
            if (!value.Contains("No such file", StringComparison.Ordinal)) host.File("/proc/sys/" + key, value + "\n");
        }
        if (Maybe("containerd-config.toml") is { } toml) host.File("/etc/containerd/config.toml", toml);
        if (Maybe("kubelet-config.yaml") is { } kubelet) host.File("/var/lib/kubelet/config.yaml", kubelet);
        if (Maybe("kube-controller-manager.yaml") is { } kcm) host.File("/etc/kubernetes/manifests/kube-controller-manager.yaml", kcm);
        var etc = Maybe("etc-kubernetes.txt") ?? "";
        foreach (var file in new[] { "admin.conf", "kubelet.conf" })
            if (etc.Split('\n').Any(l => l.Trim() == file)) host.File("/etc/kubernetes/" + file, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Doctor", "Recorded", "kubeconfig-placeholder.yaml")));
        if (etc.Split('\n').Any(l => l.Trim() == "pki")) host.File("/etc/kubernetes/pki/ca.key", "recorded: present\n");
        // ls -la of /etc/cni/net.d: the files it had (their content does not matter to doctor).
        host.Directory("/etc/cni/net.d");
        foreach (var name in ListedFiles(Maybe("cni-net.d.txt"))) host.File("/etc/cni/net.d/" + name, Maybe(name) ?? "{}\n");
        if (Maybe("var-lib-cni.txt") is { } cni && !cni.Contains("No such file", StringComparison.Ordinal)) host.Directory("/var/lib/cni");
        if (Maybe("df.txt") is not null) host.Directory("/var/lib/containerd");
        host.OnRun = spec => Answer(state, spec);
        return host;
    }

    private static string? NodeName(string? nodesJson)
    {
        if (nodesJson is null || nodesJson.Trim().Length == 0) return null;
        var items = JsonNode.Parse(nodesJson)?["items"]?.AsArray();
        return items is { Count: > 0 } ? (string?)items[0]?["metadata"]?["name"] : null;
    }

    private static IEnumerable<string> ListedFiles(string? lsLa) =>
        (lsLa ?? "").Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 9 && f[0].StartsWith('-')).Select(f => f[^1]);

    private static CommandResult Answer(string state, CommandSpec spec)
    {
        var args = string.Join(' ', spec.Args);
        CommandResult Result(int exit, string stdout, string stderr = "") =>
            new(state, spec.DisplayLine, exit, TimeSpan.Zero,
                stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(CommandResult.TailLines).ToList(),
                stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(CommandResult.TailLines).ToList()) { Stdout = stdout };
        // Files whose last line is the command's exit code, as the capture script wrote them.
        CommandResult WithExit(string file)
        {
            var lines = Read(state, file).TrimEnd('\n').Split('\n');
            var output = string.Join('\n', lines[..^1]) + "\n";
            var exit = int.Parse(lines[^1], System.Globalization.CultureInfo.InvariantCulture);
            return exit == 0 ? Result(0, output) : Result(exit, "", output);
        }
        CommandResult Kubectl(string file)
        {
            var err = Has(state, Path.ChangeExtension(file, ".err")) ? Read(state, Path.ChangeExtension(file, ".err")) : "";
            return err.Trim().Length > 0 ? Result(1, "", err) : Result(0, Read(state, file));
        }
        switch (spec.File)
        {
            case "kubectl" when args.Contains("get nodes", StringComparison.Ordinal):
                return Kubectl("kubectl-get-nodes.json");
            case "kubectl" when args.Contains("get pods --all-namespaces", StringComparison.Ordinal):
                return Kubectl("kubectl-get-pods.json");
            case "kubectl" when args.Contains("kubeadm-config", StringComparison.Ordinal):
                return Has(state, "kubeadm-config.json") ? Result(0, Read(state, "kubeadm-config.json")) : Result(1, "", "not recorded");
            case "kubectl" when args.Contains("metadata.name=kube-flannel-cfg", StringComparison.Ordinal):
                if (!Has(state, "flannel-cm.json")) return Result(1, "", "not recorded");
                return Result(0, new JsonObject { ["items"] = new JsonArray(JsonNode.Parse(Read(state, "flannel-cm.json"))) }.ToJsonString());
            case "kubectl" when args.Contains("logs", StringComparison.Ordinal):
                return Has(state, "flannel-log.txt") ? Result(0, Read(state, "flannel-log.txt")) : Result(1, "", "not recorded");
            case "kubectl" when args.StartsWith("get --raw /version", StringComparison.Ordinal):
                // Recorded as `kubectl get nodes` without --kubeconfig: the same lookup, the same answer.
                return int.Parse(Read(state, "kubectl-nokubeconfig.rc").Trim(), System.Globalization.CultureInfo.InvariantCulture) == 0
                    ? Result(0, "{}") : Result(1, "", Read(state, "kubectl-nokubeconfig.err"));
            case "printenv" when args == "HOME":
                return Result(0, "/root\n");
            case "printenv" when args == "KUBECONFIG":
                return Result(1, "");
            case "systemctl" when args == "is-active kubelet":
                return StateOf("kubelet-is-active.txt");
            case "systemctl" when args == "is-active containerd":
                return StateOf("containerd-is-active.txt");
            case "crictl" when args.EndsWith(" info", StringComparison.Ordinal):
                return WithExit("crictl-info.txt");
            case "ctr" when args == "-n k8s.io images ls -q":
                return Result(0, Read(state, "ctr-images.txt"));
            case "kubeadm" when args == "certs check-expiration":
                return WithExit("kubeadm-certs.txt");
            case "dpkg-query":
                return Result(0, Read(state, "dpkg-query.txt"));
            case "df":
                return Result(0, Read(state, "df.txt"));
            case "ip" when args == "-o link show":
                return Result(0, Read(state, "ip-link.txt"));
            // Repairs change the node: they succeed here, and tests read what the fake host recorded.
            case "systemctl" when args.StartsWith("restart ", StringComparison.Ordinal):
            case "swapoff" or "sysctl" or "modprobe" or "rm" or "apt-mark":
            case "ip" when args.StartsWith("link delete ", StringComparison.Ordinal):
                return Result(0, "");
            default:
                return Result(127, "", $"{spec.File}: not recorded in {state}");
        }

        CommandResult StateOf(string file)
        {
            var lines = Read(state, file).TrimEnd('\n').Split('\n');
            return Result(int.Parse(lines[^1], System.Globalization.CultureInfo.InvariantCulture), string.Join('\n', lines[..^1]) + "\n");
        }
    }
}
