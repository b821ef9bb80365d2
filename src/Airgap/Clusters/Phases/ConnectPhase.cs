using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Clusters.Phases;

public sealed class ConnectPhase : IPhase<ClusterContext>
{
    public string Name => "connect";
    public string Description => "log in to every node over SSH (host keys from known_hosts only) and check each is the bundle's architecture";

    public Task RunAsync(ClusterContext c, PhaseAttempt attempt, CancellationToken ct) =>
        c.ForEachAsync(c.Config.Nodes, async host =>
        {
            await c.ConnectAsync(host, ct).ConfigureAwait(false);
            var machine = (await c.Ssh(host).RunCheckedAsync(new CommandSpec("uname", "-m"), ct).ConfigureAwait(false)).Stdout.Trim();
            var arch = machine switch { "x86_64" => "amd64", "aarch64" => "arm64", var other => other };
            if (arch != c.Document.Arch)
                throw new AirgapException($"{host.Name} is linux/{arch} but {Path.GetFileName(c.Config.BundlePath)} is for linux/{c.Document.Arch}; build a bundle for {arch}");
            c.Progress.Info($"{host.Name}: logged in as {host.User}@{host.Address}, linux/{arch}");
        }, ct);
}
