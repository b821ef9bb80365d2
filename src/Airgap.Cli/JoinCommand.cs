using System.CommandLine;
using Airgap.Bundles;
using Airgap.Nodes;
using Airgap.Nodes.Phases;
using Airgap.Releases;

namespace Airgap.Cli;

internal static class JoinCommand
{
    public static Command Create() => PhaseHelp.WithPhases("join",
        "Join this node to a cluster installed with airgap, from the same bundle, with no network beyond the cluster.",
        NodeWorkflows.Join, (command, withSkipPhases) => new JoinFlags(command, withSkipPhases), RunAsync);

    private static async Task<int> RunAsync(JoinFlags flags, ParseResult result, string? only, CancellationToken ct)
    {
        var (request, document) = await flags.ReadAsync(result, ct);
        var json = flags.Json(result);
        if (flags.DryRun(result)) return await InstallCommand.DryRunAsync(request, document, only, json, ct);
        if (Environment.UserName != "root")
            throw new AirgapException("airgap join changes the node (packages, services, kernel settings): run it as root");
        await InstallCommand.RunAsync(request, document, only, json, ct);
        return 0;
    }

    /// <summary>join's flags, made once for `airgap join` and once for each `airgap join phase NAME`.</summary>
    private sealed class JoinFlags
    {
        private readonly Option<string> bundle = new("--bundle") { Description = "the bundle .tar the cluster was installed from, or a split bundle's .parts index or first part", Required = true };
        private readonly Option<string?> joinFile = new("--join-file") { Description = "the file airgap install wrote on the first control plane (/var/lib/airgap/join.txt), or any `kubeadm join` line" };
        private readonly Option<string?> endpoint = new("--endpoint") { Description = "API server HOST:PORT (instead of --join-file)" };
        private readonly Option<string?> token = new("--token") { Description = "bootstrap token (instead of --join-file)" };
        private readonly Option<string[]> caHash = new("--discovery-token-ca-cert-hash", "--ca-cert-hash") { Description = "sha256:HEX pin of the cluster CA (instead of --join-file)" };
        private readonly Option<bool> controlPlane = new("--control-plane") { Description = "join as another control plane" };
        private readonly Option<string?> certificateKey = new("--certificate-key") { Description = "key from kubeadm init --upload-certs, for --control-plane" };
        private readonly Option<string?> advertise = new("--apiserver-advertise-address") { Description = "with --control-plane: address this node's API server advertises (default: the default route's)" };
        private readonly Option<string[]> ignore = new("--ignore-preflight-errors") { Description = "checks to demote to warnings (a,b or all), as kubeadm's flag" };
        private readonly Option<bool> fix = new("--fix") { Description = "repair what preflight can, including turning swap off" };
        private readonly Option<string[]> skip = InstallCommand.SkipPhasesOption(NodeWorkflows.Join);
        private readonly Option<string> runtime = InstallCommand.RuntimeOption();
        private readonly Option<bool> dryRun = new("--dry-run") { Description = "print every command and file the join would run and write, change nothing" };
        private readonly InstallCommand.PeerFlags peers = new();
        private readonly InstallCommand.MirrorFlags mirror = new();
        private readonly Option<OutputFormat> format = AirgapCli.FormatOption();
        private readonly Option<string[]> trust = TrustOption.Create();
        private readonly Option<string?> baseBundle = BaseOption.Create();
        private readonly bool withSkipPhases;

        public JoinFlags(Command command, bool withSkipPhases)
        {
            this.withSkipPhases = withSkipPhases;
            foreach (var o in new Option[] { bundle, baseBundle, joinFile, endpoint, token, caHash, controlPlane, certificateKey, advertise, runtime, mirror.Mirror, mirror.Ca, ignore, fix })
                command.Options.Add(o);
            if (withSkipPhases) command.Options.Add(skip);
            foreach (var o in new Option[] { trust, dryRun, peers.Peers, peers.SshKey, peers.KnownHosts, peers.AcceptNewHostKeys, format }) command.Options.Add(o);
        }

        public bool DryRun(ParseResult result) => result.GetValue(dryRun);

        public bool Json(ParseResult result) => result.GetValue(format) == OutputFormat.Json;

        public async Task<(InstallRequest, BundleDocument)> ReadAsync(ParseResult result, CancellationToken ct)
        {
            KubeadmJoinSettings join;
            var key = result.GetValue(certificateKey);
            if (result.GetValue(joinFile) is { } file)
            {
                if (!File.Exists(file)) throw new AirgapException($"--join-file {file} does not exist; copy /var/lib/airgap/join.txt from the first control plane");
                (join, var fileKey) = JoinCommandLine.Parse(await File.ReadAllTextAsync(file, ct), file);
                key ??= fileKey;
            }
            else
            {
                var line = $"kubeadm join {result.GetValue(endpoint)} --token {result.GetValue(token)} " +
                           string.Join(' ', (result.GetValue(caHash) ?? []).Select(h => "--discovery-token-ca-cert-hash " + h));
                (join, _) = JoinCommandLine.Parse(line, "the join flags");
            }
            if (result.GetValue(controlPlane)) join = join with { ControlPlane = true };
            if (join.ControlPlane && key is null) throw new AirgapException("--control-plane needs --certificate-key (printed by kubeadm init --upload-certs)");

            var path = result.GetValue(bundle)!;
            var set = await BaseOption.ReadAsync(result, baseBundle, Path.GetFullPath(path), ct);
            var document = (await set.LayoutAsync(ct)).Document;
            var options = new InstallOptions
            {
                KubernetesVersion = KubernetesVersion.Parse(document.Kubernetes),
                Role = join.ControlPlane ? NodeRole.JoinControlPlane : NodeRole.Worker,
                Cni = CniChoice.None,
                Runtime = InstallCommand.ParseRuntime(result.GetValue(runtime)!),
                SkipPhases = withSkipPhases ? result.GetValue(skip) ?? [] : [],
            };
            InstallPlan.Create(options);
            var request = new InstallRequest
            {
                BundlePath = set.Path,
                BasePath = set.BasePath is null ? null : Path.GetFullPath(set.BasePath),
                Options = options,
                Join = join,
                CertificateKey = key,
                AdvertiseAddress = join.ControlPlane ? result.GetValue(advertise) : null,
                IgnorePreflight = IgnoredPreflightErrors.Parse(result.GetValue(ignore) ?? []),
                Fix = result.GetValue(fix),
                Peers = InstallCommand.ParsePeers(result.GetValue(peers.Peers) ?? []),
                Ssh = peers.Settings(result),
                Mirror = mirror.Read(result, options.Runtime),
                Trust = TrustOption.Read(result, trust),
            };
            return (request, document);
        }
    }
}
