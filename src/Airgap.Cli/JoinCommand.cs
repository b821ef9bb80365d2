using System.CommandLine;
using Airgap.Bundles;
using Airgap.Nodes;
using Airgap.Releases;

namespace Airgap.Cli;

internal static class JoinCommand
{
    public static Command Create()
    {
        var bundle = new Option<string>("--bundle") { Description = "the bundle .tar the cluster was installed from", Required = true };
        var joinFile = new Option<string?>("--join-file") { Description = "the file airgap install wrote on the first control plane (/var/lib/airgap/join.txt), or any `kubeadm join` line" };
        var endpoint = new Option<string?>("--endpoint") { Description = "API server HOST:PORT (instead of --join-file)" };
        var token = new Option<string?>("--token") { Description = "bootstrap token (instead of --join-file)" };
        var caHash = new Option<string[]>("--discovery-token-ca-cert-hash") { Description = "sha256:HEX pin of the cluster CA (instead of --join-file)" };
        caHash.Aliases.Add("--ca-cert-hash");
        var controlPlane = new Option<bool>("--control-plane") { Description = "join as another control plane" };
        var certificateKey = new Option<string?>("--certificate-key") { Description = "key from kubeadm init --upload-certs, for --control-plane" };
        var ignore = new Option<string[]>("--ignore-preflight-errors") { Description = "checks to demote to warnings (a,b or all), as kubeadm's flag" };
        var fix = new Option<bool>("--fix") { Description = "repair what preflight can, including turning swap off" };
        var skip = new Option<string[]>("--skip-phases") { Description = $"phases to skip: {string.Join(", ", InstallPhaseNames.All)}" };
        var runtime = new Option<string>("--runtime") { Description = "containerd (default), or docker: the node's own Docker engine, Kubernetes before 1.24", DefaultValueFactory = _ => "containerd" };
        var dryRun = new Option<bool>("--dry-run") { Description = "print every command and file the join would run and write, change nothing" };
        var (peers, sshKey, knownHosts) = InstallCommand.PeerOptions();
        var format = AirgapCli.FormatOption();
        var command = new Command("join", "Join this node to a cluster installed with airgap, from the same bundle, with no network beyond the cluster.");
        foreach (var o in new Option[] { bundle, joinFile, endpoint, token, caHash, controlPlane, certificateKey, runtime, ignore, fix, skip, dryRun, peers, sshKey, knownHosts, format }) command.Options.Add(o);

        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
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
            var document = await BundleReader.ReadDocumentAsync(path, ct);
            var options = new InstallOptions
            {
                KubernetesVersion = KubernetesVersion.Parse(document.Kubernetes),
                Role = join.ControlPlane ? NodeRole.JoinControlPlane : NodeRole.Worker,
                Cni = CniChoice.None,
                Runtime = InstallCommand.ParseRuntime(result.GetValue(runtime)!),
                SkipPhases = result.GetValue(skip) ?? [],
            };
            if (!result.GetValue(dryRun) && Environment.UserName != "root")
                throw new AirgapException("airgap join changes the node (packages, services, kernel settings): run it as root");
            var request = new InstallRequest
            {
                BundlePath = Path.GetFullPath(path),
                Options = options,
                Join = join,
                CertificateKey = key,
                IgnorePreflight = IgnoredPreflightErrors.Parse(result.GetValue(ignore) ?? []),
                Fix = result.GetValue(fix),
                Peers = InstallCommand.ParsePeers(result.GetValue(peers) ?? []),
                Ssh = new SshSettings { KeyFiles = result.GetValue(sshKey) ?? [], KnownHostsFile = result.GetValue(knownHosts) },
            };
            var json = result.GetValue(format) == OutputFormat.Json;
            if (result.GetValue(dryRun)) return await InstallCommand.DryRunAsync(request, document, InstallPlan.Create(options), json, ct);
            await InstallCommand.RunAsync(request, document, json, ct);
            return 0;
        }));
        return command;
    }
}
