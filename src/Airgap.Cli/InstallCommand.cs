using System.CommandLine;
using Airgap.Bundles;
using Airgap.Nodes;
using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Cli;

internal static class InstallCommand
{
    public static Command Create() => PhaseHelp.WithPhases("install",
        "Bring up a kubeadm node from a bundle with no network (the first control plane; other nodes use airgap join).",
        NodeWorkflows.Install, (command, withSkipPhases) => new InstallFlags(command, withSkipPhases), RunAsync);

    private static async Task<int> RunAsync(InstallFlags flags, ParseResult result, string? only, CancellationToken ct)
    {
        var (request, document) = await flags.ReadAsync(result, ct);
        if (flags.DryRun(result)) return await DryRunAsync(request, document, only, flags.Json(result), ct);
        if (Environment.UserName != "root") throw new AirgapException("airgap install changes the node (packages, services, kernel settings): run it as root");
        await RunAsync(request, document, only, flags.Json(result), ct);
        if (!flags.Json(result) && only is null) Console.WriteLine("kubectl is ready: kubectl get nodes");
        return 0;
    }

    /// <summary>install's flags, made once for `airgap install` and once for each `airgap install phase NAME`.</summary>
    private sealed class InstallFlags
    {
        private readonly Option<string> bundle = new("--bundle") { Description = "the bundle .tar, or a split bundle's .parts index or first part (bin/airgap inside it runs with no .NET installed)", Required = true };
        private readonly Option<string> role = new("--role") { Description = "control-plane (kubeadm init, the default); workers use airgap join", DefaultValueFactory = _ => "control-plane" };
        private readonly Option<bool> singleNode = new("--single-node") { Description = "this node is the whole cluster: remove the control-plane taint" };
        private readonly Option<string> podCidr = new("--pod-network-cidr") { Description = "pod network, as kubeadm's flag", DefaultValueFactory = _ => "10.244.0.0/16" };
        private readonly Option<string> serviceCidr = new("--service-cidr") { Description = "service network, as kubeadm's flag", DefaultValueFactory = _ => "10.96.0.0/12" };
        private readonly Option<string> proxyMode = new("--proxy-mode") { Description = "iptables (default) or ipvs", DefaultValueFactory = _ => "iptables" };
        private readonly Option<string?> advertise = new("--apiserver-advertise-address") { Description = "address the API server advertises, as kubeadm's flag" };
        private readonly Option<string?> endpoint = new("--control-plane-endpoint") { Description = "HOST:PORT shared by all control planes, as kubeadm's flag" };
        private readonly Option<string[]> certSans = new("--apiserver-cert-extra-sans") { Description = "extra names or addresses for the API server certificate (a,b; repeatable), as kubeadm's flag" };
        private readonly Option<string> cni = new("--cni") { Description = "flannel (default), bridge (single node), or none", DefaultValueFactory = _ => "flannel" };
        private readonly Option<string> runtime = RuntimeOption();
        private readonly Option<string[]> ignore = new("--ignore-preflight-errors") { Description = "checks to demote to warnings (a,b or all), as kubeadm's flag" };
        private readonly Option<bool> fix = new("--fix") { Description = "repair what preflight can: swap off, kernel modules, sysctls" };
        private readonly Option<string[]> skip = SkipPhasesOption(NodeWorkflows.Install);
        private readonly Option<bool> dryRun = new("--dry-run") { Description = "print every command and file the install would run and write (configs in full; preflight and --peers for real), change nothing" };
        private readonly Option<string> kubeconfigUser = new("--kubeconfig-user") { Description = "user who gets ~/.kube/config", DefaultValueFactory = _ => "root" };
        private readonly Option<string?> config = new("--config") { Description = "node.yaml with these flags in camelCase (podNetworkCidr: …); flags given here win" };
        private readonly PeerFlags peers = new();
        private readonly MirrorFlags mirror = new();
        private readonly Option<OutputFormat> format = AirgapCli.FormatOption();
        private readonly Option<string[]> trust = TrustOption.Create();
        private readonly Option<string?> baseBundle = BaseOption.Create();
        private readonly bool withSkipPhases;

        public InstallFlags(Command command, bool withSkipPhases)
        {
            this.withSkipPhases = withSkipPhases;
            foreach (var o in new Option[] { bundle, baseBundle, role, singleNode, podCidr, serviceCidr, proxyMode, advertise, endpoint, certSans, cni, runtime, mirror.Mirror, mirror.Ca, ignore, fix })
                command.Options.Add(o);
            if (withSkipPhases) command.Options.Add(skip);
            foreach (var o in new Option[] { trust, dryRun, kubeconfigUser, config, peers.Peers, peers.SshKey, peers.KnownHosts, peers.AcceptNewHostKeys, format })
                command.Options.Add(o);
        }

        public bool DryRun(ParseResult result) => result.GetValue(dryRun);

        public bool Json(ParseResult result) => result.GetValue(format) == OutputFormat.Json;

        public async Task<(InstallRequest, BundleDocument)> ReadAsync(ParseResult result, CancellationToken ct)
        {
            var path = result.GetValue(bundle)!;
            var node = result.GetValue(config) is { } configPath ? NodeConfig.Load(configPath) : new NodeConfig();
            // A flag typed on the command line wins; otherwise node.yaml; otherwise the flag's default.
            T Pick<T>(Option<T> option, T? fromFile) => result.GetResult(option) is { Implicit: false } || fromFile is null ? result.GetValue(option)! : fromFile;
            string[] PickList(Option<string[]> option, List<string>? fromFile) =>
                result.GetResult(option) is { Implicit: false } || fromFile is null ? result.GetValue(option) ?? [] : fromFile.ToArray();
            var set = await BaseOption.ReadAsync(result, baseBundle, Path.GetFullPath(path), ct);
            var document = (await set.LayoutAsync(ct)).Document;
            var options = new InstallOptions
            {
                KubernetesVersion = KubernetesVersion.Parse(document.Kubernetes),
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
                SkipPhases = withSkipPhases ? PickList(skip, node.SkipPhases) : [],
            };
            var request = new InstallRequest
            {
                BundlePath = set.Path,
                BasePath = set.BasePath is null ? null : Path.GetFullPath(set.BasePath),
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
                // Comma-separated as kubeadm's flag is, and repeatable.
                CertSans = PickList(certSans, node.ApiserverCertExtraSans)
                    .SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct().ToList(),
                IgnorePreflight = IgnoredPreflightErrors.Parse(PickList(ignore, node.IgnorePreflightErrors)),
                Fix = result.GetResult(fix) is { Implicit: false } ? result.GetValue(fix) : node.Fix ?? false,
                KubeconfigUser = Pick(kubeconfigUser, node.KubeconfigUser),
                Peers = ParsePeers(PickList(peers.Peers, node.Peers)),
                Ssh = peers.Settings(result),
                Mirror = mirror.Read(result, options.Runtime, node),
                Trust = TrustOption.Read(result, trust, node.TrustKeys),
            };
            // Refused here, before anything runs, when the flags cannot work together.
            InstallPlan.Create(options);
            return (request, document);
        }
    }

    internal static Option<string> RuntimeOption() =>
        new("--runtime") { Description = "containerd (default), or docker: the node's own Docker engine, Kubernetes before 1.24", DefaultValueFactory = _ => "containerd" };

    internal static Option<string[]> SkipPhasesOption<TPhase>(NodeWorkflow<TPhase> workflow) where TPhase : IPhase =>
        new("--skip-phases") { Description = $"phases to skip (a,b): {string.Join(", ", workflow.Names)}" };

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
    internal static async Task<int> DryRunAsync(InstallRequest request, BundleDocument document, string? only, bool json, CancellationToken ct)
    {
        var plan = InstallPlan.Create(request.Options);
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
        var installer = new Installer(host, progress);
        var reports = only is null
            ? await installer.InstallAsync(request with { DryRun = true }, ct)
            : await installer.RunPhaseAsync(request with { DryRun = true }, only, ct);
        if (json)
            JsonOutput.Write(new
            {
                bundle = request.BundlePath, kubernetes = document.Kubernetes, kubeadmApi = plan.KubeadmApiVersion.ToApiVersion(),
                phases = plan.Phases.Where(p => only is null || p.Name == only).Select(p => new { p.Name, p.Description, p.SkipReason, outcome = reports.FirstOrDefault(r => r.Phase == p.Name)?.Outcome }),
                plan = host.Plan.Select(a => new { kind = a.Kind.ToString().ToLowerInvariant(), a.Text, a.Path }),
            });
        return 0;
    }

    /// <summary>
    /// Runs install or join on this node and reports each phase; with -o json also every command it
    /// ran (as recorded: secrets redacted), its exit code and duration, for an audit trail.
    /// </summary>
    internal static async Task RunAsync(InstallRequest request, BundleDocument document, string? only, bool json, CancellationToken ct)
    {
        var host = new RecordingHost(new LocalHost());
        var reports = await LiveProgress.RunAsync(json: true, async progress => only is null
            ? await new Installer(host, progress).InstallAsync(request, ct)
            : await new Installer(host, progress).RunPhaseAsync(request, only, ct));
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

    internal static IReadOnlyList<SshTarget> ParsePeers(IEnumerable<string> values) =>
        values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(SshTarget.Parse).ToList();

    /// <summary>--registry-mirror and its CA, as install and join take them.</summary>
    internal sealed class MirrorFlags
    {
        public Option<string?> Mirror { get; } = new("--registry-mirror") { Description = "the site's registry (filled by airgap push, or airgap serve) as https://HOST[:PORT][/PREFIX]: containerd pulls every image through it, nothing is imported" };
        public Option<string?> Ca { get; } = new("--registry-ca") { Description = "PEM CA for --registry-mirror's certificate (airgap serve --tls-san writes one)" };

        public RegistryMirror? Read(ParseResult result, ContainerRuntimeKind runtime, NodeConfig? node = null)
        {
            var url = result.GetValue(Mirror) ?? node?.RegistryMirror;
            if (url is null)
            {
                if (result.GetValue(Ca) is not null) throw new AirgapException("--registry-ca goes with --registry-mirror");
                return null;
            }
            if (runtime == ContainerRuntimeKind.Docker)
                throw new AirgapException("--registry-mirror configures containerd; Docker's registry-mirrors cover docker.io only, so with --runtime docker the images are loaded from the bundle: drop --registry-mirror");
            return RegistryMirror.Parse(url, result.GetValue(Ca) ?? node?.RegistryCa);
        }
    }

    /// <summary>--peers and the SSH settings to reach them, as install and join take them.</summary>
    internal sealed class PeerFlags
    {
        public Option<string[]> Peers { get; } = new("--peers") { Description = "the cluster's other nodes as [user@]host[:port], probed over SSH so preflight refuses duplicate host names, MACs and product_uuids" };
        public Option<string[]> SshKey { get; } = new("--ssh-key") { Description = "private key for --peers (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa)" };
        public Option<string?> KnownHosts { get; } = new("--ssh-known-hosts") { Description = "known_hosts that must vouch for the peers' host keys (default: ~/.ssh/known_hosts)" };
        public Option<bool> AcceptNewHostKeys { get; } = new("--accept-new-host-keys") { Description = "record the host key of a peer missing from known_hosts (printed) instead of refusing it; a changed key is still refused" };

        public SshSettings Settings(ParseResult result) => new()
        {
            KeyFiles = result.GetValue(SshKey) ?? [],
            KnownHostsFile = result.GetValue(KnownHosts),
            AcceptNewHostKeys = result.GetValue(AcceptNewHostKeys),
            HostKeyRecorded = line => Console.Error.WriteLine("warning: " + line),
        };
    }
}
