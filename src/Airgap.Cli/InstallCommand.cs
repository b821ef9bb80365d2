using System.CommandLine;
using Airgap.Bundles;
using Airgap.Nodes;
using Airgap.Releases;

namespace Airgap.Cli;

internal static class InstallCommand
{
    public static Command Create()
    {
        var bundle = new Option<string>("--bundle") { Description = "the bundle .tar (bin/airgap inside it runs with no .NET installed)", Required = true };
        var role = new Option<string>("--role") { Description = "control-plane (kubeadm init, the default); workers use airgap join", DefaultValueFactory = _ => "control-plane" };
        var singleNode = new Option<bool>("--single-node") { Description = "this node is the whole cluster: remove the control-plane taint" };
        var podCidr = new Option<string>("--pod-network-cidr") { Description = "pod network, as kubeadm's flag", DefaultValueFactory = _ => "10.244.0.0/16" };
        var serviceCidr = new Option<string>("--service-cidr") { Description = "service network, as kubeadm's flag", DefaultValueFactory = _ => "10.96.0.0/12" };
        var proxyMode = new Option<string>("--proxy-mode") { Description = "iptables (default) or ipvs", DefaultValueFactory = _ => "iptables" };
        var advertise = new Option<string?>("--apiserver-advertise-address") { Description = "address the API server advertises, as kubeadm's flag" };
        var endpoint = new Option<string?>("--control-plane-endpoint") { Description = "HOST:PORT shared by all control planes, as kubeadm's flag" };
        var certSans = new Option<string[]>("--apiserver-cert-extra-sans") { Description = "extra names for the API server certificate" };
        var cni = new Option<string>("--cni") { Description = "flannel (default), bridge (single node), or none", DefaultValueFactory = _ => "flannel" };
        var runtime = new Option<string>("--runtime") { Description = "containerd (default), or docker: the node's own Docker engine, Kubernetes before 1.24", DefaultValueFactory = _ => "containerd" };
        var ignore = new Option<string[]>("--ignore-preflight-errors") { Description = "checks to demote to warnings (a,b or all), as kubeadm's flag" };
        var fix = new Option<bool>("--fix") { Description = "repair what preflight can: swap off, kernel modules, sysctls" };
        var skip = new Option<string[]>("--skip-phases") { Description = $"phases to skip: {string.Join(", ", InstallPhaseNames.All)}" };
        var dryRun = new Option<bool>("--dry-run") { Description = "print every command and file the install would run and write (configs in full; preflight and --peers for real), change nothing" };
        var kubeconfigUser = new Option<string>("--kubeconfig-user") { Description = "user who gets ~/.kube/config", DefaultValueFactory = _ => "root" };
        var config = new Option<string?>("--config") { Description = "node.yaml with these flags in camelCase (podNetworkCidr: …); flags given here win" };
        var (peers, sshKey, knownHosts) = PeerOptions();
        var format = AirgapCli.FormatOption();
        var command = new Command("install", "Bring up a kubeadm node from a bundle with no network: verify, preflight, runtime, packages, images, kubeadm, kubeconfig, CNI.");
        foreach (var o in new Option[] { bundle, role, singleNode, podCidr, serviceCidr, proxyMode, advertise, endpoint, certSans, cni, runtime, ignore, fix, skip, dryRun, kubeconfigUser, config, peers, sshKey, knownHosts, format })
            command.Options.Add(o);

        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var path = result.GetValue(bundle)!;
            var node = result.GetValue(config) is { } configPath ? NodeConfig.Load(configPath) : new NodeConfig();
            // A flag typed on the command line wins; otherwise node.yaml; otherwise the flag's default.
            T Pick<T>(Option<T> option, T? fromFile) => result.GetResult(option) is { Implicit: false } || fromFile is null ? result.GetValue(option)! : fromFile;
            string[] PickList(Option<string[]> option, List<string>? fromFile) =>
                result.GetResult(option) is { Implicit: false } || fromFile is null ? result.GetValue(option) ?? [] : fromFile.ToArray();
            var document = await BundleReader.ReadDocumentAsync(path, ct);
            var version = KubernetesVersion.Parse(document.Kubernetes);
            var options = new InstallOptions
            {
                KubernetesVersion = version,
                Role = Pick(role, node.Role) switch
                {
                    "control-plane" => NodeRole.InitControlPlane,
                    "worker" => throw new AirgapException("a worker joins an existing cluster: use airgap join --bundle B --join-file F"),
                    var other => throw new AirgapException($"--role \"{other}\" is not known; use control-plane, or airgap join for workers"),
                },
                SingleNode = result.GetResult(singleNode) is { Implicit: false } ? result.GetValue(singleNode) : node.SingleNode ?? false,
                Cni = Pick(cni, node.Cni) switch
                {
                    "flannel" => CniChoice.Flannel,
                    "bridge" => CniChoice.Bridge,
                    "none" => CniChoice.None,
                    var other => throw new AirgapException($"--cni \"{other}\" is not known; use flannel, bridge or none"),
                },
                Runtime = ParseRuntime(Pick(runtime, node.Runtime)),
                SkipPhases = PickList(skip, node.SkipPhases),
            };
            var request = new InstallRequest
            {
                BundlePath = Path.GetFullPath(path),
                Options = options,
                PodNetworkCidr = Pick(podCidr, node.PodNetworkCidr),
                ServiceCidr = Pick(serviceCidr, node.ServiceCidr),
                ProxyMode = Pick(proxyMode, node.ProxyMode) switch
                {
                    "iptables" => ProxyMode.Iptables,
                    "ipvs" => ProxyMode.Ipvs,
                    var other => throw new AirgapException($"--proxy-mode \"{other}\" is not known; use iptables or ipvs"),
                },
                AdvertiseAddress = result.GetValue(advertise) ?? node.ApiserverAdvertiseAddress,
                ControlPlaneEndpoint = result.GetValue(endpoint) ?? node.ControlPlaneEndpoint,
                CertSans = PickList(certSans, node.ApiserverCertExtraSans),
                IgnorePreflight = IgnoredPreflightErrors.Parse(PickList(ignore, node.IgnorePreflightErrors)),
                Fix = result.GetResult(fix) is { Implicit: false } ? result.GetValue(fix) : node.Fix ?? false,
                KubeconfigUser = Pick(kubeconfigUser, node.KubeconfigUser),
                Peers = ParsePeers(PickList(peers, node.Peers)),
                Ssh = new SshSettings { KeyFiles = result.GetValue(sshKey) ?? [], KnownHostsFile = result.GetValue(knownHosts) },
            };
            var plan = InstallPlan.Create(options);
            var json = result.GetValue(format) == OutputFormat.Json;
            if (result.GetValue(dryRun)) return await DryRunAsync(request, document, plan, json, ct);
            if (Environment.UserName != "root") throw new AirgapException("airgap install changes the node (packages, services, kernel settings): run it as root");

            await RunAsync(request, document, json, ct);
            if (!json) Console.WriteLine("kubectl is ready: kubectl get nodes");
            return 0;
        }));
        return command;
    }

    internal static ContainerRuntimeKind ParseRuntime(string name) => name switch
    {
        "containerd" => ContainerRuntimeKind.Containerd,
        "docker" => ContainerRuntimeKind.Docker,
        _ => throw new AirgapException($"--runtime \"{name}\" is not known; use containerd, or docker (Kubernetes before 1.24)"),
    };

    /// <summary>
    /// The install run against a <see cref="DryRunHost"/>: every phase plans its commands and files
    /// in order (reads, preflight and --peers are real), nothing changes, and the exit code says
    /// whether the install would get through.
    /// </summary>
    internal static async Task<int> DryRunAsync(InstallRequest request, BundleDocument document, InstallPlan plan, bool json, CancellationToken ct)
    {
        var output = json ? Console.Error : Console.Out;
        // Configs are printed, but the join token and certificate key in them are not.
        string[] secrets = [.. new[] { request.Join?.Token, request.CertificateKey }.OfType<string>()];
        var progress = new LineProgress(output);
        var host = new DryRunHost(new LocalHost())
        {
            Planned = action =>
            {
                output.WriteLine($"  plan: {action.Text}");
                // Configs are shown whole: what an operator would want to read before saying yes.
                if (action is { Kind: HostActionKind.Write, Path: { } path, Content: { Length: < 16384 } content } && path.StartsWith("/etc/", StringComparison.Ordinal))
                    foreach (var line in Redactor.Redact(System.Text.Encoding.UTF8.GetString(content), secrets).TrimEnd('\n').Split('\n')) output.WriteLine("  |   " + line);
            },
        };
        output.WriteLine($"dry run of airgap {(request.Join is null ? "install" : "join")} for Kubernetes {document.Kubernetes} ({plan.KubeadmApiVersion.ToApiVersion()}) from {request.BundlePath}; nothing will change");
        var reports = await new Installer(host, progress).InstallAsync(request with { DryRun = true }, ct);
        if (json)
            JsonOutput.Write(new
            {
                bundle = request.BundlePath, kubernetes = document.Kubernetes, kubeadmApi = plan.KubeadmApiVersion.ToApiVersion(),
                phases = plan.Phases.Select(p => new { p.Name, p.Description, p.SkipReason, outcome = reports.FirstOrDefault(r => r.Phase == p.Name)?.Outcome }),
                plan = host.Plan.Select(a => new { kind = a.Kind.ToString().ToLowerInvariant(), a.Text, a.Path }),
            });
        return 0;
    }

    /// <summary>
    /// Runs install or join on this node and reports each phase; with -o json also every command it
    /// ran (as recorded: secrets redacted), its exit code and duration, for an audit trail.
    /// </summary>
    internal static async Task RunAsync(InstallRequest request, BundleDocument document, bool json, CancellationToken ct)
    {
        var host = new RecordingHost(new LocalHost());
        var reports = await LiveProgress.RunAsync(json: true, async progress => await new Installer(host, progress).InstallAsync(request, ct));
        if (json)
        {
            JsonOutput.Write(new
            {
                bundle = request.BundlePath, kubernetes = document.Kubernetes, phases = reports,
                actions = host.Actions.Select(a => new
                {
                    kind = a.Kind.ToString().ToLowerInvariant(), a.Text, exitCode = a.Result?.ExitCode, seconds = a.Result?.Duration.TotalSeconds,
                }),
            });
            return;
        }
        foreach (var r in reports) Console.WriteLine($"{r.Phase,-10} {r.Outcome,-22} {r.Seconds,6:0.0} s{(r.Detail is null ? "" : "  " + r.Detail)}");
    }

    internal static (Option<string[]> Peers, Option<string[]> SshKey, Option<string?> KnownHosts) PeerOptions() =>
    (
        new Option<string[]>("--peers") { Description = "the cluster's other nodes as [user@]host[:port], probed over SSH so preflight refuses duplicate host names, MACs and product_uuids" },
        new Option<string[]>("--ssh-key") { Description = "private key for --peers (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa)" },
        new Option<string?>("--ssh-known-hosts") { Description = "known_hosts that must vouch for the peers' host keys (default: ~/.ssh/known_hosts)" }
    );

    internal static IReadOnlyList<SshTarget> ParsePeers(IEnumerable<string> values) =>
        values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(SshTarget.Parse).ToList();
}
