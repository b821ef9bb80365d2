using System.Text.Json;
using Airgap.IntegrationTests.Build;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Clusters;

/// <summary>
/// `airgap cluster` as an operator runs it, against this machine's real sshd with a non-root login
/// that becomes root through sudo, and a known_hosts that does not know the node yet.
/// </summary>
public sealed class ClusterCliTests(BuildFixture fixture) : IClassFixture<BuildFixture>, IAsyncLifetime
{
    private SshServer server = null!;
    private readonly TempDir dir = new();

    public async Task InitializeAsync() => server = await SshServer.StartAsync(new SshLoginOptions { NonRootUser = true, Sudoer = true });

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        dir.Dispose();
    }

    private string WriteConfig(string knownHosts)
    {
        var path = Path.Combine(dir.Path, "cluster.yaml");
        File.WriteAllText(path, $"""
            name: lab
            bundle: {fixture.BundlePath}
            hosts:
              - {"{"}name: node1, address: 127.0.0.1, port: {server.Port}, user: {server.User}{"}"}
            roleGroups: {"{"}controlPlane: [node1]{"}"}
            ssh: {"{"}privateKeyPath: {server.ClientKey}, knownHosts: {knownHosts}{"}"}
            """);
        return path;
    }

    [Fact]
    public async Task Status_refuses_an_unknown_host_key_and_records_it_only_when_asked_then_reads_the_node_through_sudo()
    {
        var known = Path.Combine(dir.Path, "known_hosts");
        var config = WriteConfig(known);

        var refused = await fixture.Cli.RunAsync("cluster", "status", "-f", config);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"node1: cannot log in to {server.UserTarget} over SSH: [127.0.0.1]:{server.Port} is not in {known}", refused.Stdout);
        Assert.Contains("--accept-new-host-keys", refused.Stdout);
        Assert.False(File.Exists(known));

        var accepted = await fixture.Cli.RunAsync("cluster", "status", "-f", config, "--accept-new-host-keys", "-o", "json");
        Assert.True(accepted.Succeeded, accepted.ToString());
        Assert.Contains($"node1: {server.UserTarget}: recorded its new host key ssh-ed25519 SHA256:", accepted.Stderr);
        var hostKey = server.HostPublicKey.Split(' ');
        Assert.Equal($"[127.0.0.1]:{server.Port} {hostKey[0]} {hostKey[1]}\n", File.ReadAllText(known));
        using var json = JsonDocument.Parse(accepted.Stdout);
        var node = Assert.Single(json.RootElement.GetProperty("nodes").EnumerateArray());
        Assert.Equal("node1", node.GetProperty("name").GetString());
        Assert.False(node.TryGetProperty("unreachable", out var unreachable) && unreachable.ValueKind != JsonValueKind.Null, node.ToString());

        var again = await fixture.Cli.RunAsync("cluster", "status", "-f", config);
        Assert.True(again.Succeeded, again.ToString());
        Assert.DoesNotContain("recorded", again.Stderr);
    }

    [Fact]
    public async Task Doctor_runs_every_node_check_over_ssh_through_sudo_and_measures_the_nodes_clock()
    {
        var config = WriteConfig(Path.Combine(dir.Path, "known_hosts"));
        var run = await fixture.Cli.RunAsync("cluster", "doctor", "-f", config, "--accept-new-host-keys", "-o", "json");
        // Whether this machine runs a lab cluster right now decides pass or fail; the report's shape and the SSH path do not.
        Assert.True(run.ExitCode is 0 or 1, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);
        var checks = json.RootElement.GetProperty("checks").EnumerateArray().ToList();
        var onNode = checks.Where(c => c.GetProperty("node").GetString() == "node1").Select(c => c.GetProperty("check").GetString()).ToList();
        Assert.Equal(Airgap.Doctor.DoctorChecks.Node.Select(c => c.Name).Where(n => n != "kubeconfig"), onNode);
        // Read as root through sudo: /proc/swaps and the sysctls answer, so these are judged, not skipped.
        foreach (var name in new[] { "swap", "ip-forward" })
            Assert.NotEqual("skip", checks.Single(c => c.GetProperty("check").GetString() == name).GetProperty("status").GetString());
        var clock = checks.Single(c => c.GetProperty("check").GetString() == "clock-skew");
        Assert.Equal("ok", clock.GetProperty("status").GetString());
        Assert.StartsWith("node1: ", clock.GetProperty("evidence")[0].GetString());
        var kubeconfig = checks.Single(c => c.GetProperty("check").GetString() == "kubeconfig");
        Assert.Equal("warn", kubeconfig.GetProperty("status").GetString());
        Assert.Contains("lab-admin.conf", kubeconfig.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Init_config_prints_the_example_the_json_schema_and_the_reference_page()
    {
        var example = await fixture.Cli.RunAsync("cluster", "init-config");
        Assert.True(example.Succeeded, example.ToString());
        Assert.StartsWith("# cluster.yaml for airgap cluster deploy", example.Stdout);

        var schema = await fixture.Cli.RunAsync("cluster", "init-config", "--schema");
        Assert.True(schema.Succeeded, schema.ToString());
        using var parsed = JsonDocument.Parse(schema.Stdout);
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", parsed.RootElement.GetProperty("$schema").GetString());

        var reference = await fixture.Cli.RunAsync("cluster", "init-config", "--reference");
        Assert.True(reference.Succeeded, reference.ToString());
        Assert.Contains("| `hosts[].sudo` | boolean |", reference.Stdout);
    }
}
