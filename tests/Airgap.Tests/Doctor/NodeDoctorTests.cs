using Airgap.Doctor;
using Airgap.Nodes;
using Airgap.Tests.Nodes;

namespace Airgap.Tests.Doctor;

public sealed class NodeDoctorTests
{
    /// <summary>Fails until its marker file exists; its repair writes the file.</summary>
    private sealed class MarkerCheck(string name, string path) : IDoctorCheck
    {
        public string Name => name;
        public string Description => "";

        public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct) =>
            await c.Host.FileExistsAsync(path, ct) ? CheckResult.Ok(name, "there")
                : CheckResult.Fail(name, "missing") with { Repair = [new WriteFixStep(path, "x\n", HostExtensions.Mode0644)] };
    }

    [Fact]
    public async Task Fix_applies_repairs_of_failing_checks_then_checks_again()
    {
        var host = new FakeHost("n1");
        var doctor = new NodeDoctor(host, null, [new MarkerCheck("a", "/a"), new MarkerCheck("b", "/b")]);
        host.File("/b", "already\n");
        var found = await doctor.CheckAsync(CancellationToken.None);
        Assert.Equal([CheckStatus.Fail, CheckStatus.Ok], found.Select(r => r.Status));
        Assert.All(found, r => Assert.Equal("n1", r.Node));
        var report = await doctor.FixAsync(found, TimeSpan.Zero, new NullProgress(), CancellationToken.None);
        Assert.False(report.Failed);
        var applied = Assert.Single(report.Repairs);
        Assert.Equal(("a", null), (applied.Check, applied.Error));
        Assert.Equal("already\n", host.Text("/b"));
    }

    [Fact]
    public async Task Fix_without_anything_to_repair_changes_nothing()
    {
        var host = new FakeHost("n1").File("/a", "x\n");
        var doctor = new NodeDoctor(host, null, [new MarkerCheck("a", "/a")]);
        var report = await doctor.FixAsync(await doctor.CheckAsync(CancellationToken.None), TimeSpan.Zero, new NullProgress(), CancellationToken.None);
        Assert.Empty(report.Repairs);
        Assert.Empty(host.Commands);
    }

    [Fact]
    public void Causes_come_before_what_they_cause()
    {
        var names = DoctorChecks.Node.Select(c => c.Name).ToList();
        Assert.True(names.IndexOf("containerd-cri") < names.IndexOf("runtime"));
        Assert.True(names.IndexOf("cgroup-driver") < names.IndexOf("kubelet"));
        Assert.True(names.IndexOf("kubelet") < names.IndexOf("node-ready"));
        Assert.True(names.IndexOf("pod-cidr") < names.IndexOf("flannel-network"));
        Assert.Equal(names.Count, names.Distinct().Count());
    }
}
