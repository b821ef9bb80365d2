using System.Security.Cryptography;
using System.Text;
using Airgap.Nodes;

namespace Airgap.Tests.Nodes;

public sealed class SshTargetTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("airgap-knownhosts-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    [Theory]
    [InlineData("10.0.0.2", "root", "10.0.0.2", 22, "root@10.0.0.2")]
    [InlineData("admin@node2:2222", "admin", "node2", 2222, "admin@node2:2222")]
    [InlineData("[fe80::1]:2200", "root", "fe80::1", 2200, "root@[fe80::1]:2200")]
    [InlineData("ops@fe80::1", "ops", "fe80::1", 22, "ops@fe80::1")]
    public void Parses_what_ssh_takes(string text, string user, string host, int port, string shown)
    {
        var target = SshTarget.Parse(text);
        Assert.Equal(new SshTarget(user, host, port), target);
        Assert.Equal(shown, target.ToString());
    }

    [Theory]
    [InlineData("node2:0")]
    [InlineData("node2:http")]
    [InlineData("@node2")]
    [InlineData("root@")]
    [InlineData("[::1")]
    public void Refuses_what_is_not_a_target(string text) =>
        Assert.Contains("is not an SSH target", Assert.Throws<AirgapException>(() => SshTarget.Parse(text)).Message);

    [Fact]
    public void Known_hosts_plain_hashed_ported_and_revoked()
    {
        var key = RandomNumberGenerator.GetBytes(51);
        var other = RandomNumberGenerator.GetBytes(51);
        var salt = RandomNumberGenerator.GetBytes(20);
        var hash = Convert.ToBase64String(new HMACSHA1(salt).ComputeHash(Encoding.UTF8.GetBytes("node3")));
        var file = Path.Combine(work, "known_hosts");
        File.WriteAllText(file, $"""
            # comment
            node1,10.0.0.1 ssh-ed25519 {Convert.ToBase64String(key)}
            [node2]:2222 ssh-ed25519 {Convert.ToBase64String(key)} ops@laptop
            |1|{Convert.ToBase64String(salt)}|{hash} ssh-ed25519 {Convert.ToBase64String(key)}
            @revoked node4 ssh-ed25519 {Convert.ToBase64String(key)}
            @cert-authority *.example ssh-ed25519 {Convert.ToBase64String(other)}
            """);
        var known = KnownHosts.Load(file);

        Assert.Equal(KnownHosts.Verdict.Known, known.Check("10.0.0.1", 22, "ssh-ed25519", key));
        Assert.Equal(KnownHosts.Verdict.Known, known.Check("node2", 2222, "ssh-ed25519", key));
        Assert.Equal(KnownHosts.Verdict.Known, known.Check("node3", 22, "ssh-ed25519", key));
        Assert.Equal(KnownHosts.Verdict.Unknown, known.Check("node2", 22, "ssh-ed25519", key));
        Assert.Equal(KnownHosts.Verdict.Mismatch, known.Check("node1", 22, "ssh-ed25519", other));
        Assert.Equal(KnownHosts.Verdict.OtherType, known.Check("node1", 22, "ecdsa-sha2-nistp256", other));
        Assert.Equal(KnownHosts.Verdict.Revoked, known.Check("node4", 22, "ssh-ed25519", key));
        Assert.Equal(KnownHosts.Verdict.Unknown, known.Check("a.example", 22, "ssh-ed25519", other));
        Assert.Equal(KnownHosts.Verdict.Unknown, KnownHosts.Load(Path.Combine(work, "missing")).Check("node1", 22, "ssh-ed25519", key));

        Assert.Contains("is not in", known.Explain(KnownHosts.Verdict.Unknown, "node2", 22, "ssh-ed25519"));
        Assert.Contains("does NOT match", known.Explain(KnownHosts.Verdict.Mismatch, "node1", 22, "ssh-ed25519"));
        Assert.Contains("ssh-keyscan -t ecdsa-sha2-nistp256 node1", known.Explain(KnownHosts.Verdict.OtherType, "node1", 22, "ecdsa-sha2-nistp256"));
        Assert.Contains("@revoked", known.Explain(KnownHosts.Verdict.Revoked, "node4", 22, "ssh-ed25519"));
    }

    [Fact]
    public void Recording_a_new_key_appends_one_line_ssh_reads_and_only_for_that_host()
    {
        var key = RandomNumberGenerator.GetBytes(51);
        var file = Path.Combine(work, "sub", "known_hosts");
        var known = KnownHosts.Load(file);
        known.Record("10.0.0.9", 2222, "ssh-ed25519", key);
        known.Record("node9", 22, "ssh-ed25519", key);

        Assert.Equal($"[10.0.0.9]:2222 ssh-ed25519 {Convert.ToBase64String(key)}\nnode9 ssh-ed25519 {Convert.ToBase64String(key)}\n", File.ReadAllText(file));
        Assert.Equal(KnownHosts.Verdict.Known, known.Check("10.0.0.9", 2222, "ssh-ed25519", key));
        var reloaded = KnownHosts.Load(file);
        Assert.Equal(KnownHosts.Verdict.Known, reloaded.Check("node9", 22, "ssh-ed25519", key));
        Assert.Equal(KnownHosts.Verdict.Unknown, reloaded.Check("10.0.0.9", 22, "ssh-ed25519", key));
    }
}
