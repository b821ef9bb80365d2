using Airgap.Bundles;
using Airgap.Nodes;

namespace Airgap.Tests.Nodes;

/// <summary>What an operator hears when the bundle's held packages replace the node's: an upgrade is news, a downgrade is a warning.</summary>
public sealed class PackageReplacementTests
{
    /// <summary>Installed versions as a package manager would report them, ordered by dpkg's rules.</summary>
    private sealed class InstalledPackages(Dictionary<string, string> installed) : IBundlePackageSource
    {
        public Task ConfigureAsync(string repositoryDirectory, CancellationToken ct) => Task.CompletedTask;
        public Task InstallAsync(IReadOnlyList<BundlePackage> packages, CancellationToken ct) => Task.CompletedTask;
        public Task<string?> InstalledVersionAsync(string package, CancellationToken ct) => Task.FromResult(installed.GetValueOrDefault(package));
        public int CompareVersions(string a, string b) => Airgap.Packages.Apt.DebianVersion.Parse(a).CompareTo(Airgap.Packages.Apt.DebianVersion.Parse(b));
    }

    private static BundlePackage Package(string name, string version) => new() { Os = "debian-12", Name = name, Version = version, Arch = "amd64" };

    [Fact]
    public async Task Moving_up_to_the_bundle_s_version_is_info_moving_down_is_a_warning_the_same_version_is_silent()
    {
        var source = new InstalledPackages(new() { ["kubeadm"] = "1.20.2-00", ["kubelet"] = "1.21.0-00", ["kubectl"] = "1.20.15-00", ["socat"] = "1.7.4" });
        var progress = new InstallerTests.RecordingProgress();

        await BundlePackageSources.WarnAboutReplacementsAsync(source, progress,
            [Package("kubeadm", "1.20.15-00"), Package("kubelet", "1.20.15-00"), Package("kubectl", "1.20.15-00"), Package("socat", "1.7.3")], default);

        Assert.Equal(["  kubeadm 1.20.2-00 → 1.20.15-00 (the bundle's)"], progress.Lines);
        Assert.Equal(["kubelet 1.21.0-00 is installed; replacing it with the bundle's older 1.20.15-00 (the bundle is the version lock)"], progress.Warnings);
    }
}
