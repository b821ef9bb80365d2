using Airgap.TestKit;

namespace Airgap.IntegrationTests.TestKit;

public sealed class ContainerdServerTests
{
    [Fact]
    public async Task Containerd_imports_an_oci_archive_and_runs_busybox()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var registry = await RegistryServer.StartAsync(cancellationToken: cts.Token);
        await SampleImages.PushKubernetesSetAsync(registry, cancellationToken: cts.Token);
        await using var containerd = await ContainerdServer.StartAsync(cts.Token);

        var archive = Path.Combine(registry.WorkDirectory, "pause.tar");
        await ProcessRunner.RunCheckedAsync("skopeo",
            ["copy", "--src-tls-verify=false", "--override-os", "linux", "--override-arch", "amd64",
             $"docker://{registry.Host}/google_containers/pause:3.2", $"oci-archive:{archive}:k8s.gcr.io/pause:3.2"], cts.Token);

        var import = await containerd.ImportAsync(archive, cancellationToken: cts.Token);
        Assert.True(import.exit == 0, import.stderr);
        var list = await containerd.CtrAsync("-n", "k8s.io", "images", "ls", "-q");
        Assert.Contains("k8s.gcr.io/pause:3.2", list.stdout, StringComparison.Ordinal);

        var id = "testkit-" + Guid.NewGuid().ToString("N")[..8];
        var run = await containerd.RunAsync("k8s.gcr.io/pause:3.2", id, ["/bin/busybox", "echo", "hello"], cancellationToken: cts.Token);
        Assert.True(run.exit == 0, $"{run.stderr}\ncontainerd log:\n{containerd.LogTail()}");
        Assert.Equal("hello", run.stdout.Trim());

        // The plain ctr invocation works too on this host (no runc-root/fifo-dir isolation needed to succeed).
        var plain = await containerd.RunAsync("k8s.gcr.io/pause:3.2", id + "-p", ["/bin/sh", "-c", "cat /etc/airgap-image"], isolated: false, cancellationToken: cts.Token);
        Assert.True(plain.exit == 0, plain.stderr);
        Assert.Equal("pause:3.2 linux/amd64", plain.stdout.Trim());
    }
}
