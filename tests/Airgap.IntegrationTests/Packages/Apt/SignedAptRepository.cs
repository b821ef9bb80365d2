using System.Diagnostics;
using System.Text;
using Airgap.Packages;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Packages.Apt;

/// <summary>
/// A kubernetes-xenial-shaped apt repository built with the real tools — dpkg-deb, dpkg-scanpackages,
/// apt-ftparchive, gpg — and served over HTTP on loopback. Its packages carry the dependency fields of
/// the real kubeadm/kubelet/kubectl/kubernetes-cni/cri-tools debs, so the closure reaches into Debian's
/// real archive. Beside it: the same packages as a flat repository (pkgs.k8s.io style, Release +
/// Release.gpg only), and copies broken in one way each for the rejection tests.
/// </summary>
public sealed class SignedAptRepository : IAsyncLifetime
{
    private const string Suite = "kubernetes-xenial";
    private StaticHttpServer? _server;
    private GpgKeyring? _gpg;

    public TempDir Dir { get; } = new();
    public string Root => Path.Combine(Dir.Path, "www");
    public string Key => Path.Combine(Dir.Path, "kubernetes.asc");
    public string OtherKey => Path.Combine(Dir.Path, "other.gpg");
    public StaticHttpServer Server => _server ?? throw new InvalidOperationException("not started");
    public TimeSpan BuildTime { get; private set; }

    public PackageRepository Repository(string directory, string? key = null, string? name = null) =>
        new(name ?? directory, RepositoryKind.Apt, new Uri(Server.BaseUri, directory + "/"), Suite, ["main"], key ?? Key);

    public PackageRepository Flat(string? key = null) =>
        new("kubernetes-flat", RepositoryKind.Apt, new Uri(Server.BaseUri, "flat/"), "/", [], key ?? Key);

    /// <summary>Name, version, Depends — as the real packages of the kubernetes-xenial repository declare them.</summary>
    public static readonly (string Name, string Version, string? Depends)[] Packages =
    [
        ("kubeadm", "1.20.2-00", "kubelet (>= 1.13.0), kubectl (>= 1.13.0), kubernetes-cni (>= 0.8.6), cri-tools (>= 1.13.0)"),
        ("kubelet", "1.20.2-00", "iptables (>= 1.4.21), kubernetes-cni (>= 0.8.6), iproute2, socat, util-linux, mount, ebtables, ethtool, conntrack"),
        ("kubectl", "1.20.2-00", null),
        ("kubeadm", "1.20.10-00", "kubelet (>= 1.13.0), kubectl (>= 1.13.0), kubernetes-cni (>= 0.8.7), cri-tools (>= 1.13.0)"),
        ("kubelet", "1.20.10-00", "iptables (>= 1.4.21), kubernetes-cni (>= 0.8.7), iproute2, socat, util-linux, mount, ebtables, ethtool, conntrack"),
        ("kubectl", "1.20.10-00", null),
        ("kubernetes-cni", "0.8.7-00", "iptables (>= 1.4.21), iproute2, socat, util-linux, mount, ebtables, ethtool"),
        ("cri-tools", "1.13.0-01", null),
    ];

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var ct = cts.Token;
        await AptTestTools.EnsureInstalledAsync(ct,
            ("dpkg-dev", "/usr/bin/dpkg-scanpackages"), ("apt-utils", "/usr/bin/apt-ftparchive"), ("gnupg", "/usr/bin/gpg"), ("xz-utils", "/usr/bin/xz"));
        var watch = Stopwatch.StartNew();
        _gpg = new GpgKeyring(Dir.Sub("gnupg"));
        await _gpg.GenerateAsync("Kubernetes test repo <k8s@airgap.test>", "rsa2048", ct);
        await _gpg.GenerateAsync("Someone else <other@airgap.test>", "ed25519", ct);
        await File.WriteAllTextAsync(Key, await _gpg.ExportArmoredAsync("k8s@airgap.test", ct), ct);
        await _gpg.ExportBinaryAsync("other@airgap.test", OtherKey, ct);

        var repo = Path.Combine(Root, "kubernetes");
        var pool = Path.Combine(repo, "pool");
        Directory.CreateDirectory(pool);
        foreach (var (name, version, depends) in Packages)
            await BuildDebAsync(pool, name, version, depends, ct);
        await IndexAsync(repo, ct);
        await SignAsync(Path.Combine(repo, "dists", Suite), "k8s@airgap.test", ct);

        // pkgs.k8s.io's layout: Packages and Release next to the debs, "deb URL /"; only a detached signature here.
        var flat = Path.Combine(Root, "flat");
        CopyDirectory(pool, Path.Combine(flat, "pool"));
        await AptTestTools.ShAsync("dpkg-scanpackages --multiversion pool > Packages && gzip -9nk Packages", ct, flat);
        await ReleaseAsync(flat, flat, ct);
        await Gpg(ct, "--local-user", "k8s@airgap.test", "--armor", "--detach-sign", "--output", Path.Combine(flat, "Release.gpg"), Path.Combine(flat, "Release"));

        // Rejections: a repository signed by someone else; an index changed after signing; a .deb changed after indexing.
        CopyDirectory(repo, Path.Combine(Root, "wrong-key"));
        await SignAsync(Path.Combine(Root, "wrong-key", "dists", Suite), "other@airgap.test", ct);

        CopyDirectory(repo, Path.Combine(Root, "tampered"));
        var binary = Path.Combine(Root, "tampered", "dists", Suite, "main", "binary-amd64");
        var packages = await File.ReadAllTextAsync(Path.Combine(binary, "Packages"), ct);
        await File.WriteAllTextAsync(Path.Combine(binary, "Packages"), packages.Replace(", conntrack\n", "\n", StringComparison.Ordinal), ct);
        await AptTestTools.ShAsync("rm -f Packages.gz Packages.xz && gzip -9nk Packages && xz -k Packages", ct, binary);

        CopyDirectory(repo, Path.Combine(Root, "bad-deb"));
        var kubectl = Path.Combine(Root, "bad-deb", "pool", "kubectl_1.20.2-00_amd64.deb");
        var bytes = await File.ReadAllBytesAsync(kubectl, ct);
        bytes[^1] ^= 0xff; // same size: only the checksum can tell
        await File.WriteAllBytesAsync(kubectl, bytes, ct);

        _server = StaticHttpServer.Start(Root);
        BuildTime = watch.Elapsed;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        if (_gpg is not null) await _gpg.DisposeAsync();
        Dir.Dispose();
    }

    private async Task BuildDebAsync(string pool, string name, string version, string? depends, CancellationToken ct)
    {
        var tree = Dir.Sub($"deb-{name}-{version}");
        Directory.CreateDirectory(Path.Combine(tree, "DEBIAN"));
        Directory.CreateDirectory(Path.Combine(tree, "usr", "bin"));
        var control = new StringBuilder()
            .Append($"Package: {name}\nVersion: {version}\nArchitecture: amd64\n")
            .Append("Maintainer: Kubernetes Authors <kubernetes-dev+release@googlegroups.com>\n")
            .Append(depends is null ? "" : $"Depends: {depends}\n")
            .Append("Section: misc\nPriority: optional\nHomepage: https://kubernetes.io\n")
            .Append($"Description: {name} stand-in built by the airgap tests\n The real package's dependency fields, a tiny payload.\n");
        await File.WriteAllTextAsync(Path.Combine(tree, "DEBIAN", "control"), control.ToString(), ct);
        var bin = Path.Combine(tree, "usr", "bin", name);
        await File.WriteAllTextAsync(bin, $"#!/bin/sh\necho {name} {version}\n", ct);
        File.SetUnixFileMode(bin, (UnixFileMode)0b111_101_101);
        await AptTestTools.RunAsync(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", tree, Path.Combine(pool, $"{name}_{version}_amd64.deb")], ct);
    }

    /// <summary>dists/&lt;suite&gt;/main/binary-amd64/Packages{,.gz,.xz} with pool/ paths.</summary>
    private static Task IndexAsync(string repo, CancellationToken ct)
    {
        var binary = $"dists/{Suite}/main/binary-amd64";
        return AptTestTools.ShAsync(
            $"mkdir -p {binary} && dpkg-scanpackages --multiversion pool > {binary}/Packages && gzip -9nk {binary}/Packages && xz -k {binary}/Packages",
            ct, repo);
    }

    private async Task SignAsync(string dists, string signer, CancellationToken ct)
    {
        foreach (var f in new[] { "Release", "InRelease", "Release.gpg" }) File.Delete(Path.Combine(dists, f));
        await ReleaseAsync(dists, dists, ct);
        await Gpg(ct, "--local-user", signer, "--clearsign", "--output", Path.Combine(dists, "InRelease"), Path.Combine(dists, "Release"));
        await Gpg(ct, "--local-user", signer, "--armor", "--detach-sign", "--output", Path.Combine(dists, "Release.gpg"), Path.Combine(dists, "Release"));
    }

    private static async Task ReleaseAsync(string directory, string output, CancellationToken ct)
    {
        var release = await AptTestTools.RunAsync(
            ["apt-ftparchive", "-o", $"APT::FTPArchive::Release::Suite={Suite}", "-o", $"APT::FTPArchive::Release::Codename={Suite}",
             "-o", "APT::FTPArchive::Release::Architectures=amd64", "-o", "APT::FTPArchive::Release::Components=main", "release", "."],
            ct, directory);
        await File.WriteAllTextAsync(Path.Combine(output, "Release"), release, ct);
    }

    private Task<string> Gpg(CancellationToken ct, params string[] args) => _gpg!.RunAsync(ct, args);

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)), overwrite: true);
    }
}
