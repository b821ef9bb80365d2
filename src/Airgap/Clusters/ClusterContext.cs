using System.Collections.Concurrent;
using Airgap.Bundles;
using Airgap.Nodes;

namespace Airgap.Clusters;

/// <summary>
/// What the cluster phases share: cluster.yaml, the bundle, one SSH connection per node, and the
/// join credentials of this run. The nodes' own journals are the cluster's state; nothing here is kept.
/// </summary>
public sealed class ClusterContext(ClusterConfig config, BundleDocument document, IProgressSink progress) : IDisposable
{
    /// <summary>Where the jump host puts the bundle and the node's own airgap on every node.</summary>
    public const string DistDirectory = "/var/lib/airgap/dist";

    public const string RemoteAirgap = DistDirectory + "/airgap";

    /// <summary>Where install.registryCa (a file on this host) is put on every node.</summary>
    public const string RemoteRegistryCa = DistDirectory + "/registry-ca.crt";

    private readonly ConcurrentDictionary<string, SshHost> connections = new();

    public ClusterConfig Config { get; } = config;
    public BundleDocument Document { get; } = document;
    public IProgressSink Progress { get; } = progress;

    /// <summary>The bundle's file(s) on this host: a tar, or a split bundle's index and parts.</summary>
    public Bundles.Parts.StoredBundle StoredBundle => storedBundle ??= Bundles.Parts.StoredBundle.Open(Config.BundlePath);

    private Bundles.Parts.StoredBundle? storedBundle;

    /// <summary>The bundle's path on every node: the tar, or the index the parts are sent with.</summary>
    public string RemoteBundle => $"{DistDirectory}/{Bundles.Parts.StoredBundle.FileNameOf(Config.BundlePath)}";

    /// <summary>
    /// A delta's base on every node, or null. Under its own name, so the bundle a node got from the last
    /// deploy (the usual base of an upgrade's delta) is found there and not sent again; named apart only
    /// when it has the delta's file name.
    /// </summary>
    public string? RemoteBase => Config.BasePath is not { } basePath ? null
        : Bundles.Parts.StoredBundle.FileNameOf(basePath) is var name && name == Bundles.Parts.StoredBundle.FileNameOf(Config.BundlePath)
            ? $"{DistDirectory}/base-{name}"
            : $"{DistDirectory}/{name}";

    /// <summary>The bundle on this host as members: the delta over its base when cluster.yaml gives base:.</summary>
    public BundleSet Bundle { get; init; } = new(config.BundlePath, config.BasePath);

    /// <summary>--bundle for a node's airgap, and --base when there is one.</summary>
    public IEnumerable<string> RemoteBundleArguments() =>
        RemoteBase is { } remoteBase ? ["--bundle", RemoteBundle, "--base", remoteBase] : ["--bundle", RemoteBundle];

    public ClusterHost FirstControlPlane => Config.ControlPlanes[0];

    /// <summary>Where the admin kubeconfig for the operator goes on this host (default NAME-admin.conf beside cluster.yaml).</summary>
    public string KubeconfigPath => KubeconfigOutput ?? Path.Combine(Config.BaseDirectory, $"{Config.Name}-admin.conf");

    public string? KubeconfigOutput { get; init; }

    /// <summary>Record the host keys of nodes missing from known_hosts instead of refusing them (each one is printed).</summary>
    public bool AcceptNewHostKeys { get; init; }

    /// <summary>The keys the bundle must be signed with (--trust-key, /etc/airgap/trusted on this host).</summary>
    public Bundles.BundleTrust Trust { get; init; } = Bundles.BundleTrust.None;

    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Upgrade: workers upgraded at once (drained together); control planes always go one at a time.</summary>
    public int UpgradeBatchSize { get; set; } = 1;

    /// <summary>Upgrade: how long a drain may wait for PodDisruptionBudgets.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Upgrade: the plan the plan phase made and printed, which later phases follow.</summary>
    public Upgrades.UpgradePlan? UpgradePlan { get; set; }

    /// <summary>Join tokens and certificate keys for this run, made only when a node needs them.</summary>
    public JoinCredentials Credentials => credentials ??= new JoinCredentials(this);

    private JoinCredentials? credentials;

    /// <summary>The control planes this run joined, in order: each join grew etcd by a member.</summary>
    public List<ClusterHost> JoinedControlPlanes { get; } = [];

    public SshHost Ssh(ClusterHost host) => connections.TryGetValue(host.Name, out var ssh) ? ssh
        : throw new InvalidOperationException($"{host.Name} is not connected; the connect phase runs first");

    public async Task ConnectAsync(ClusterHost host, CancellationToken ct)
    {
        if (connections.ContainsKey(host.Name)) return;
        var key = host.PrivateKeyPath ?? Config.Ssh.PrivateKeyPath;
        var settings = new SshSettings
        {
            KeyFiles = key is null ? [] : [Config.Resolve(key)],
            KnownHostsFile = Config.Ssh.KnownHosts is { } known ? Config.Resolve(known) : null,
            Password = host.Password,
            Sudo = host.Sudo,
            AcceptNewHostKeys = AcceptNewHostKeys,
            HostKeyRecorded = line => Progress.Warn($"{host.Name}: {line}"),
        };
        var target = new SshTarget(host.User, host.Address, host.Port);
        SshHost ssh;
        try
        {
            ssh = await SshHost.ConnectAsync(target, settings, ct).ConfigureAwait(false);
        }
        catch (AirgapException e)
        {
            throw new AirgapException($"{host.Name}: {e.Message}", e);
        }
        if (!connections.TryAdd(host.Name, ssh)) ssh.Dispose();
    }

    /// <summary>Runs on every node given, at most ssh.maxParallel at once; the first failure is thrown once all have stopped.</summary>
    public async Task ForEachAsync(IEnumerable<ClusterHost> hosts, Func<ClusterHost, Task> action, CancellationToken ct)
    {
        using var gate = new SemaphoreSlim(Config.Ssh.MaxParallel);
        var failures = new ConcurrentBag<(ClusterHost Host, Exception Error)>();
        await Task.WhenAll(hosts.Select(async host =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await action(host).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failures.Add((host, e));
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
        if (failures.IsEmpty) return;
        var ordered = failures.OrderBy(f => Config.Hosts.FindIndex(h => h.Name == f.Host.Name)).ToList();
        foreach (var (host, error) in ordered.Skip(1)) Progress.Warn($"{host.Name}: {error.Message}");
        var first = ordered[0];
        throw first.Error is AirgapException a && a.Message.StartsWith(first.Host.Name + ":", StringComparison.Ordinal)
            ? a
            : new AirgapException($"{first.Host.Name}: {first.Error.Message}", first.Error);
    }

    /// <summary>
    /// Runs the node's own airgap (install, join, reset) with its output streamed here, each line
    /// prefixed with the node's name; a failure names the node and shows the last lines it printed.
    /// </summary>
    public async Task RunAirgapAsync(ClusterHost host, IReadOnlyList<string> args, CancellationToken ct, IReadOnlyList<string>? secrets = null)
    {
        var spec = new CommandSpec(RemoteAirgap, [.. args])
        {
            Timeout = TimeSpan.FromMinutes(30),
            Secrets = secrets ?? [],
            // Lines arrive here already redacted of Secrets (OutputCollector).
            OnOutput = line => Progress.Info($"{host.Name}: {line.Text}"),
        };
        var result = await Ssh(host).RunAsync(spec, ct).ConfigureAwait(false);
        if (result.ExitCode == 0) return;
        var error = result.StderrTail.LastOrDefault(l => l.StartsWith("error: ", StringComparison.Ordinal))?["error: ".Length..]
                    ?? $"airgap {args[0]} exited with code {result.ExitCode}";
        throw new AirgapException($"{host.Name}: {error}; fix it and run airgap cluster deploy again: the node continues where it stopped");
    }

    /// <summary>The node's install journal, or null when airgap never ran there.</summary>
    public async Task<PhaseJournal?> JournalAsync(ClusterHost host, CancellationToken ct)
    {
        var journal = await PhaseJournal.LoadAsync(Ssh(host), ct).ConfigureAwait(false);
        return journal.Entries.Count == 0 ? null : journal;
    }

    /// <summary>kubectl on the first control plane, with its admin kubeconfig.</summary>
    public CommandSpec Kubectl(params string[] args) =>
        new("kubectl", ["--kubeconfig", "/etc/kubernetes/admin.conf", .. args]) { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>The cluster's nodes as the first control plane's API server has them, or null when it does not answer.</summary>
    public async Task<IReadOnlyList<RegisteredNode>?> RegisteredNodesAsync(CancellationToken ct)
    {
        var r = await Ssh(FirstControlPlane).RunAsync(Kubectl("get", "nodes", "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}"), ct).ConfigureAwait(false);
        if (r.ExitCode != 0) return null;
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).Where(p => p.Length == 3)
            .Select(p => new RegisteredNode(p[0], p[1], p[2] == "True")).ToList();
    }

    public void Dispose()
    {
        foreach (var ssh in connections.Values) ssh.Dispose();
        connections.Clear();
    }
}

/// <summary>A node as the API server has it.</summary>
public sealed record RegisteredNode(string Name, string KubeletVersion, bool Ready);
