using Airgap.IntegrationTests.Build;
using Airgap.Nodes;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Nodes;

/// <summary>
/// The images phase's import, as the installer runs it, of a bundle airgap built from a real registry,
/// into a real runtime started by the test: containerd (through ctr, as on a node) and Docker's engine
/// (through its API). A container then runs from the imported pause image.
/// </summary>
public sealed class ImagesPhaseTests(BuildFixture fixture) : IClassFixture<BuildFixture>
{
    [Fact]
    public async Task Containerd_store_imports_the_bundle_and_runs_the_pause_image()
    {
        await using var containerd = await ContainerdServer.StartAsync();
        var host = Addressed(containerd);
        var store = new ContainerdImageStore(host);

        Assert.True(await store.AnswersAsync(default), containerd.LogTail());
        await store.ImportAsync(fixture.BundlePath, Nothing, default);

        var names = await store.NamesAsync(default);
        Assert.Equal(BuildFixture.CanonicalNames, names.Where(n => !n.Contains('@')).Order(StringComparer.Ordinal));
        // Each image also under name@digest of its index and its platform manifest, for pinned references.
        Assert.Equal(BuildFixture.CanonicalNames.Length * 2, names.Count(n => n.Contains('@')));
        var run = await containerd.RunAsync("k8s.gcr.io/pause:3.2", "airgap-it-" + Guid.NewGuid().ToString("N")[..8], ["/bin/busybox", "echo", "pause from the bundle"]);
        Assert.True(run.exit == 0, run.stderr + containerd.LogTail());
        Assert.Contains("pause from the bundle", run.stdout);

        // As after an import cut by a kill: one image is not there. The next import brings it, and only it.
        var rm = await containerd.CtrAsync(["-n", "k8s.io", "images", "rm", "k8s.gcr.io/pause:3.2"]);
        Assert.True(rm.exit == 0, rm.stderr);
        var present = await store.NamesAsync(default);
        Assert.DoesNotContain("k8s.gcr.io/pause:3.2", present);
        Assert.Equal(1, await store.ImportAsync(fixture.BundlePath, present, default));
        Assert.Contains("k8s.gcr.io/pause:3.2", await store.NamesAsync(default));
        Assert.Equal(0, await store.ImportAsync(fixture.BundlePath, await store.NamesAsync(default), default));
    }

    private static readonly IReadOnlySet<string> Nothing = new HashSet<string>();

    [Fact]
    public async Task A_bundle_cut_short_is_named_rather_than_ctrs_complaint_about_a_cut_stream()
    {
        await using var containerd = await ContainerdServer.StartAsync();
        var host = Addressed(containerd);
        using var dir = new TempDir();
        var cut = await CutAsync(dir, fixture.BundlePath);

        var e = await Assert.ThrowsAsync<AirgapException>(() => new ContainerdImageStore(host).ImportAsync(cut, Nothing, default));

        Assert.Contains($"{cut} is truncated", e.Message);
        Assert.Empty(await new ContainerdImageStore(host).NamesAsync(default));
    }

    private static async Task<string> CutAsync(TempDir dir, string bundle)
    {
        var cut = Path.Combine(dir.Path, "cut.tar");
        await using var source = File.OpenRead(bundle);
        await using var target = File.Create(cut);
        var half = new byte[source.Length / 2];
        await source.ReadExactlyAsync(half);
        await target.WriteAsync(half);
        return cut;
    }

    [Fact]
    public async Task Docker_engine_takes_the_rendered_daemon_json_loads_the_bundle_through_its_api_and_runs_the_pause_image()
    {
        var facts = await HostProbe.ProbeAsync(new LocalHost(), default);
        var daemonJson = DockerDaemonConfig.Render("""{ "log-level": "warn", "exec-opts": ["native.cgroupdriver=systemd"] }""", facts.CgroupDriver, facts.RestrictOomScoreAdj);
        await using var engine = await DockerEngineServer.StartAsync(daemonJson);
        using var store = new DockerImageStore(engine.Endpoint);

        Assert.NotNull(await store.VersionAsync(default));
        var info = await engine.DockerAsync(["info", "--format", "{{.CgroupDriver}}"]);
        Assert.Equal(facts.CgroupDriver.ToConfigValue(), info.Stdout.Trim());

        await store.ImportAsync(fixture.BundlePath, Nothing, default);

        var names = await store.NamesAsync(default);
        Assert.All(BuildFixture.CanonicalNames, n => Assert.Contains(n, names));
        var run = await engine.DockerAsync(["run", "--rm", "--network", "none", "k8s.gcr.io/pause:3.2", "/bin/busybox", "echo", "pause from the bundle"]);
        Assert.True(run.ExitCode == 0, run.Stderr + engine.LogTail());
        Assert.Contains("pause from the bundle", run.Stdout);
    }

    [Fact]
    public async Task A_docker_engine_that_is_not_there_does_not_answer_and_a_damaged_bundle_is_named()
    {
        using var dir = new TempDir();
        using var missing = new DockerImageStore(new Uri("unix://" + Path.Combine(dir.Path, "no.sock")));
        Assert.Null(await missing.VersionAsync(default));

        var daemonJson = DockerDaemonConfig.Render(null, CgroupDriver.Cgroupfs, restrictOomScoreAdj: true);
        await using var engine = await DockerEngineServer.StartAsync(daemonJson);
        using var store = new DockerImageStore(engine.Endpoint);
        var cut = await CutAsync(dir, fixture.BundlePath);

        var e = await Assert.ThrowsAsync<AirgapException>(() => store.ImportAsync(cut, Nothing, default));
        Assert.Contains(cut, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>This machine, with CONTAINERD_ADDRESS set for every command: how the node's ctr reaches the test's containerd.</summary>
    private static RootedHost Addressed(ContainerdServer containerd) =>
        new("/", spec => spec with { Env = new Dictionary<string, string>(spec.Env ?? new Dictionary<string, string>()) { ["CONTAINERD_ADDRESS"] = containerd.Address } });
}
