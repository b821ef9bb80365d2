using System.CommandLine;
using System.Net;
using Airgap.Clusters;

namespace Airgap.Cli;

internal static class ClusterCommand
{
    public static Command Create()
    {
        var command = new Command("cluster", "A whole cluster from one cluster.yaml, over SSH from this host (the jump host): deploy, status, upgrade, doctor, reset.");
        command.Subcommands.Add(InitConfig());
        command.Subcommands.Add(Deploy());
        command.Subcommands.Add(Status());
        command.Subcommands.Add(Upgrade());
        command.Subcommands.Add(Reset());
        command.Subcommands.Add(DoctorCommand.CreateForCluster());
        return command;
    }

    private static Option<string> FileOption() =>
        new("--file", "-f") { Description = "cluster.yaml (airgap cluster init-config writes an example)", DefaultValueFactory = _ => "cluster.yaml" };

    private static Option<bool> AcceptNewHostKeysOption() =>
        new("--accept-new-host-keys") { Description = "record the host key of a node missing from known_hosts (printed with its fingerprint) instead of refusing it; a changed key is still refused" };

    private static Command InitConfig()
    {
        var schema = new Option<bool>("--schema") { Description = "print the JSON schema of cluster.yaml instead (for editors)" };
        var reference = new Option<bool>("--reference") { Description = "print the reference of every field as Markdown instead (docs/cluster-yaml.md)" };
        var command = new Command("init-config", "Print a commented example cluster.yaml: every field, with what it means.") { schema, reference };
        command.SetAction(result =>
        {
            Console.Write(result.GetValue(schema) ? ClusterSchema.JsonSchema()
                : result.GetValue(reference) ? ClusterSchema.Markdown()
                : ClusterConfig.Example.TrimEnd('\n') + "\n");
            return 0;
        });
        return command;
    }

    private static Command Deploy()
    {
        var file = FileOption();
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "where the admin kubeconfig goes (default NAME-admin.conf beside cluster.yaml)" };
        var acceptNew = AcceptNewHostKeysOption();
        var format = AirgapCli.FormatOption();
        var trust = TrustOption.Create();
        var skip = InstallCommand.SkipPhasesOption(ClusterWorkflows.Deploy);
        var command = new Command("deploy", PhaseHelp.Describe(
            "Bring up (or converge) the whole cluster from cluster.yaml, offline: every node gets the bundle over SSH and installs or joins from it. " +
            "Run it again after a failure, or after adding a node to cluster.yaml: nodes that are done are checked, not redone.",
            ClusterWorkflows.Deploy, usage: null)) { file, kubeconfig, acceptNew, trust, skip, format };
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var config = ClusterConfig.Load(result.GetValue(file)!);
            var json = result.GetValue(format) == OutputFormat.Json;
            var reports = await LiveProgress.RunAsync(json, async progress =>
            {
                using var context = await ClusterWorkflows.OpenAsync(config, progress,
                    new ClusterRunOptions { Kubeconfig = result.GetValue(kubeconfig), AcceptNewHostKeys = result.GetValue(acceptNew), Trust = TrustOption.Read(result, trust) }, ct);
                var phases = await ClusterWorkflows.RunAsync(ClusterWorkflows.Deploy, context, ct, result.GetValue(skip));
                return (phases, context.KubeconfigPath);
            });
            if (json)
            {
                JsonOutput.Write(new { cluster = config.Name, kubeconfig = reports.KubeconfigPath, phases = reports.phases });
                return 0;
            }
            foreach (var r in reports.phases) Console.WriteLine($"{r.Phase,-15} {r.Outcome,-22} {r.Seconds,6:0.0} s");
            if (result.GetValue(skip) is { Length: > 0 })
                Console.WriteLine($"cluster {config.Name}: phases run as asked; skipped phases left undone");
            else
                Console.WriteLine($"cluster {config.Name} is up: kubectl --kubeconfig {reports.KubeconfigPath} get nodes");
            return 0;
        }));
        return command;
    }

    private static Command Status()
    {
        var file = FileOption();
        var acceptNew = AcceptNewHostKeysOption();
        var format = AirgapCli.FormatOption();
        var command = new Command("status", "Every node's last install phase (from its own journal), kubelet version and readiness.") { file, acceptNew, format };
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var config = ClusterConfig.Load(result.GetValue(file)!);
            using var context = await ClusterWorkflows.OpenAsync(config, new LineProgress(Console.Error), new ClusterRunOptions { AcceptNewHostKeys = result.GetValue(acceptNew) }, ct);
            var nodes = await ClusterStatus.ReadAsync(context, ct);
            if (result.GetValue(format) == OutputFormat.Json)
            {
                JsonOutput.Write(new { cluster = config.Name, bundle = config.BundlePath, kubernetes = context.Document.Kubernetes, nodes });
                return 0;
            }
            Console.WriteLine($"cluster {config.Name}, bundle {Path.GetFileName(config.BundlePath)} (Kubernetes {context.Document.Kubernetes})");
            Console.WriteLine($"{"NODE",-12} {"ROLE",-14} {"ADDRESS",-16} {"JOURNAL",-22} {"KUBELET",-10} STATUS");
            foreach (var n in nodes)
                Console.WriteLine($"{n.Name,-12} {n.Role,-14} {n.Address,-16} {n.Journal,-22} {n.Kubelet ?? "-",-10} {n.Unreachable ?? n.Ready ?? "not registered"}");
            return nodes.Any(n => n.Unreachable is not null) ? 1 : 0;
        }));
        return command;
    }

    private static Command Upgrade()
    {
        var command = new Command("upgrade", "Move the whole cluster to cluster.yaml's bundle (point bundle: at the new one), rolling, offline: " +
                                             "plan shows each node's step or refuses; apply does it.");
        var file = FileOption();
        var acceptNew = AcceptNewHostKeysOption();
        var format = AirgapCli.FormatOption();
        var plan = new Command("plan", "Read the running cluster over SSH and print what upgrading to cluster.yaml's bundle changes on each node, " +
                                       "or refuse in one line naming the rule (a skipped minor, a downgrade, another arch or OS).") { file, acceptNew, format };
        plan.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var config = ClusterConfig.Load(result.GetValue(file)!);
            using var context = await ClusterWorkflows.OpenAsync(config, new LineProgress(Console.Error), new ClusterRunOptions { AcceptNewHostKeys = result.GetValue(acceptNew) }, ct);
            await new Airgap.Clusters.Phases.ConnectPhase().RunAsync(context, new Airgap.Nodes.Phases.PhaseAttempt(false), ct);
            var upgrade = await Airgap.Upgrades.Phases.ClusterUpgradePlanPhase.PlanAsync(context, ct);
            if (result.GetValue(format) == OutputFormat.Json) JsonOutput.Write(new { cluster = config.Name, bundle = config.BundlePath, plan = upgrade });
            else foreach (var line in Airgap.Upgrades.NodeUpgradePlanning.Lines(upgrade)) Console.WriteLine(line);
            return 0;
        }));

        var applyFile = FileOption();
        var applyAcceptNew = AcceptNewHostKeysOption();
        var applyFormat = AirgapCli.FormatOption();
        var applyTrust = TrustOption.Create();
        var batch = new Option<int>("--batch-size") { Description = "workers upgraded (and drained) at once; control planes always go one at a time", DefaultValueFactory = _ => 1 };
        var drainTimeout = new Option<string>("--drain-timeout") { Description = "how long each drain may wait for PodDisruptionBudgets, e.g. 300s or 10m", DefaultValueFactory = _ => "5m" };
        var apply = new Command("apply", PhaseHelp.Describe(
            "Upgrade every node to cluster.yaml's bundle in kubeadm's order: the bundle shipped to each node and its images loaded before anything restarts, " +
            "then the first control plane (kubeadm upgrade apply), the other control planes one at a time, the workers in batches — each drained, " +
            "upgraded, Ready, uncordoned. Stopped anywhere, run it again: what a node finished is checked, not redone.",
            ClusterWorkflows.Upgrade, usage: null)) { applyFile, applyAcceptNew, batch, drainTimeout, applyTrust, applyFormat };
        apply.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var config = ClusterConfig.Load(result.GetValue(applyFile)!);
            if (result.GetValue(batch) < 1) throw new AirgapException($"--batch-size {result.GetValue(batch)} must be 1 or more");
            var timeout = UpgradeCommand.Duration("--drain-timeout", result.GetValue(drainTimeout)!);
            var json = result.GetValue(applyFormat) == OutputFormat.Json;
            var reports = await LiveProgress.RunAsync(json, async progress =>
            {
                using var context = await ClusterWorkflows.OpenAsync(config, progress,
                    new ClusterRunOptions { AcceptNewHostKeys = result.GetValue(applyAcceptNew), Trust = TrustOption.Read(result, applyTrust) }, ct);
                context.UpgradeBatchSize = result.GetValue(batch);
                context.DrainTimeout = timeout;
                return await ClusterWorkflows.RunAsync(ClusterWorkflows.Upgrade, context, ct);
            });
            if (json)
            {
                JsonOutput.Write(new { cluster = config.Name, bundle = config.BundlePath, phases = reports });
                return 0;
            }
            foreach (var r in reports) Console.WriteLine($"{r.Phase,-15} {r.Outcome,-22} {r.Seconds,6:0.0} s");
            Console.WriteLine($"cluster {config.Name} upgraded to the bundle {Path.GetFileName(config.BundlePath)}");
            return 0;
        }));
        command.Subcommands.Add(plan);
        command.Subcommands.Add(apply);
        return command;
    }

    private static Command Reset()
    {
        var file = FileOption();
        var command = new Command("reset", PhaseHelp.Describe(
            "Undo airgap cluster deploy on every node, in the safe order (workers, then control planes, the first one last). " +
            "Packages stay installed and held; the bundle stays on the nodes for the next deploy.",
            ClusterWorkflows.Reset, usage: null)) { file, AcceptNewHostKeysOption() };
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var config = ClusterConfig.Load(result.GetValue(file)!);
            await LiveProgress.RunAsync(json: false, async progress =>
            {
                using var context = await ClusterWorkflows.OpenAsync(config, progress,
                    new ClusterRunOptions { AcceptNewHostKeys = result.GetValue<bool>("--accept-new-host-keys") }, ct);
                return await ClusterWorkflows.RunAsync(ClusterWorkflows.Reset, context, ct);
            });
            Console.WriteLine($"cluster {config.Name} reset: airgap cluster deploy builds it again");
            return 0;
        }));
        return command;
    }
}

internal static class ApiServerProxyCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "ADDRESS:PORT to listen on", DefaultValueFactory = _ => "127.0.0.1:6443" };
        var backends = new Option<string[]>("--backend") { Description = "an API server HOST:PORT (repeat for each control plane)", Required = true };
        var command = new Command("apiserver-proxy", "The built-in load balancer airgap cluster deploy runs on workers: forwards TCP to every API server, passing over ones that are down.")
        {
            listen, backends,
        };
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var at = IPEndPoint.TryParse(result.GetValue(listen)!, out var endpoint) && endpoint.Port > 0 ? endpoint
                : throw new AirgapException($"--listen {result.GetValue(listen)} is not ADDRESS:PORT");
            var targets = (result.GetValue(backends) ?? []).Select(b =>
            {
                var colon = b.LastIndexOf(':');
                return colon > 0 && int.TryParse(b[(colon + 1)..], out var port) && port is > 0 and < 65536
                    ? new DnsEndPoint(b[..colon].Trim('[', ']'), port)
                    : throw new AirgapException($"--backend {b} is not HOST:PORT");
            }).ToList();
            await new ApiServerProxy(at, targets, new LineProgress(Console.Error)).RunAsync(ct);
            return 0;
        }));
        return command;
    }
}
