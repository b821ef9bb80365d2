using System.Diagnostics;
using System.Text;
using Airgap.Packages;
using Airgap.TestKit;

namespace Airgap.IntegrationTests.Packages.Rpm;

/// <summary>
/// Two signed yum repositories built with the real tools (rpmbuild, createrepo_c, gpg) and served over
/// HTTP on loopback: "kubernetes" (kubernetes-el7-shaped, signed with an RSA key given armored) and
/// "base" (the OS packages kubelet needs, signed with an Ed25519 key given as a binary keyring).
/// Broken copies for the rejection tests sit next to them. There is no CentOS mirror here, so the
/// OS side is small stand-in rpms carrying the names, provides and files the real ones do.
/// </summary>
public sealed class SignedYumRepositories : IAsyncLifetime
{
    private StaticHttpServer? _server;
    private GpgKeyring? _gpg;

    public TempDir Dir { get; } = new();
    public string Root => Path.Combine(Dir.Path, "www");
    public string KubernetesKey => Path.Combine(Dir.Path, "kubernetes.asc");
    public string BaseKey => Path.Combine(Dir.Path, "base.gpg");
    public StaticHttpServer Server => _server ?? throw new InvalidOperationException("not started");
    public TimeSpan BuildTime { get; private set; }

    /// <summary>What every target host has; the closure leaves these out.</summary>
    public static readonly HashSet<string> BaseSystem = ["bash", "util-linux"];

    public PackageRepository Kubernetes => Repository("kubernetes", "kubernetes", KubernetesKey);
    public PackageRepository Base => Repository("base", "base", BaseKey);

    public PackageRepository Repository(string name, string directory, string? key) =>
        new(name, RepositoryKind.Rpm, new Uri(Server.BaseUri, directory + "/"), null, [], key);

    /// <summary>The rpm files of a served repository directory, by package name.</summary>
    public string RpmOf(string directory, string name) =>
        Directory.GetFiles(Path.Combine(Root, directory), $"{name}-*.rpm").Single(f => char.IsAsciiDigit(Path.GetFileName(f)[name.Length + 1]));

    public async Task InitializeAsync()
    {
        foreach (var tool in new[] { "/usr/bin/rpmbuild", "/usr/bin/createrepo_c", "/usr/bin/gpg", "/usr/bin/rpm" })
            if (!File.Exists(tool))
                throw new InvalidOperationException($"{tool} is missing: apt-get install -y rpm createrepo-c gnupg (make deps does)");
        var watch = Stopwatch.StartNew();
        _gpg = new GpgKeyring(Dir.Sub("gnupg"));
        await _gpg.GenerateAsync("Kubernetes test repo <k8s@airgap.test>", "rsa2048", default);
        await _gpg.GenerateAsync("Base test repo <base@airgap.test>", "ed25519", default);
        await File.WriteAllTextAsync(KubernetesKey, await _gpg.ExportArmoredAsync("k8s@airgap.test", default));
        await _gpg.ExportBinaryAsync("base@airgap.test", BaseKey, default);

        await BuildRpmsAsync(Path.Combine(Root, "kubernetes"), KubernetesSpecs());
        await BuildRpmsAsync(Path.Combine(Root, "base"), BaseSpecs());
        await CreateRepoAsync("kubernetes", "k8s@airgap.test");
        await CreateRepoAsync("base", "base@airgap.test");

        // Rejection cases, each a copy of the kubernetes repository broken in one way.
        Copy("kubernetes", "tampered");
        await File.AppendAllTextAsync(Path.Combine(Root, "tampered", "repodata", "repomd.xml"), "<!-- edited after signing -->\n");

        Copy("kubernetes", "bad-primary");
        var primary = Directory.GetFiles(Path.Combine(Root, "bad-primary", "repodata"), "*-primary.xml.gz").Single();
        var otherPrimary = Directory.GetFiles(Path.Combine(Root, "base", "repodata"), "*-primary.xml.gz").Single();
        File.Copy(otherPrimary, primary, overwrite: true); // valid gzip, valid XML, signed repomd: only the checksum tells

        Copy("kubernetes", "bad-rpm");
        var kubectl = Directory.GetFiles(Path.Combine(Root, "bad-rpm"), "kubectl-1.20.2-0.x86_64.rpm").Single();
        await File.WriteAllBytesAsync(kubectl, [.. await File.ReadAllBytesAsync(kubectl), 0]);

        Copy("kubernetes", "xz");
        await CreateRepoAsync("xz", "k8s@airgap.test", "--general-compress-type=xz");
        await ZstdRepoAsync();

        _server = StaticHttpServer.Start(Root);
        BuildTime = watch.Elapsed;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        if (_gpg is not null) await _gpg.DisposeAsync();
        Dir.Dispose();
    }

    /// <summary>(spec name, body) pairs; every file is a small #!/bin/sh script, so rpmbuild adds Requires: /bin/sh by itself.</summary>
    private static IEnumerable<string> KubernetesSpecs()
    {
        foreach (var v in new[] { "1.20.2", "1.21.0" })
        {
            yield return Spec("kubeadm", v, "0", "x86_64", ["/usr/bin/kubeadm"],
                requires: ["kubelet >= 1.13.0", "kubectl >= 1.13.0", "kubernetes-cni >= 0.8.6", "cri-tools >= 1.13.0"]);
            yield return Spec("kubelet", v, "0", "x86_64", ["/usr/bin/kubelet"],
                requires: ["conntrack", "ebtables", "ethtool", "iproute", "iptables >= 1.4.21", "socat", "util-linux", "kubernetes-cni >= 0.8.6"]);
            yield return Spec("kubectl", v, "0", "x86_64", ["/usr/bin/kubectl"]);
        }
        yield return Spec("kubernetes-cni", "0.8.7", "0", "x86_64", ["/opt/cni/bin/bridge", "/opt/cni/bin/loopback"], requires: ["kubelet"]);
        // A file require: satisfied by whichever package ships /usr/sbin/conntrack.
        yield return Spec("cri-tools", "1.13.0", "0", "x86_64", ["/usr/bin/crictl"], requires: ["/usr/sbin/conntrack"]);
    }

    private static IEnumerable<string> BaseSpecs()
    {
        yield return Spec("conntrack-tools", "1.4.4", "7.el7", "x86_64", ["/usr/sbin/conntrack", "/usr/sbin/nfct"], provides: ["conntrack = 1.4.4-7.el7"]);
        yield return Spec("ebtables", "2.0.10", "16.el7", "x86_64", ["/usr/sbin/ebtables"]);
        yield return Spec("ethtool", "4.8", "10.el7", "x86_64", ["/usr/sbin/ethtool"], epoch: "2");
        yield return Spec("iproute", "4.11.0", "30.el7", "x86_64", ["/usr/sbin/ip"]);
        // Too old for kubelet's "iptables >= 1.4.21"; only iptables-nft's versioned provide fits.
        yield return Spec("iptables", "1.4.7", "1.el6", "x86_64", ["/usr/sbin/iptables-legacy"]);
        yield return Spec("iptables-nft", "1.8.4", "10.el8", "x86_64", ["/usr/sbin/iptables-nft"], provides: ["iptables = 1.8.4-10.el8"]);
        yield return Spec("socat", "1.7.3.2", "2.el7", "noarch", ["/usr/bin/socat"]);
        yield return Spec("util-linux", "2.23.2", "65.el7", "x86_64", ["/usr/bin/mount", "/usr/sbin/nsenter"]);
        yield return Spec("bash", "4.2.46", "34.el7", "x86_64", ["/usr/bin/bash", "/bin/sh"]);
    }

    private static string Spec(string name, string version, string release, string arch, string[] files,
        string[]? requires = null, string[]? provides = null, string? epoch = null)
    {
        var spec = new StringBuilder()
            .AppendLine($"Name: {name}").AppendLine($"Version: {version}").AppendLine($"Release: {release}")
            .AppendLine(epoch is null ? "" : $"Epoch: {epoch}")
            .AppendLine($"Summary: {name} stand-in for airgap tests").AppendLine("License: ASL 2.0").AppendLine($"BuildArch: {arch}");
        foreach (var r in requires ?? []) spec.AppendLine($"Requires: {r}");
        foreach (var p in provides ?? []) spec.AppendLine($"Provides: {p}");
        spec.AppendLine("%description").AppendLine($"{name}, built by the airgap integration tests.").AppendLine("%install");
        foreach (var f in files)
        {
            spec.AppendLine($"mkdir -p %{{buildroot}}{Path.GetDirectoryName(f)}");
            spec.AppendLine($"printf '#!/bin/sh\\necho {name}\\n' > %{{buildroot}}{f}");
            spec.AppendLine($"chmod 755 %{{buildroot}}{f}");
        }
        spec.AppendLine("%files");
        foreach (var f in files) spec.AppendLine(f);
        return spec.ToString();
    }

    private async Task BuildRpmsAsync(string output, IEnumerable<string> specs)
    {
        var top = Dir.Sub("rpmbuild-" + Path.GetFileName(output));
        var paths = new List<string>();
        foreach (var (spec, i) in specs.Select((s, i) => (s, i)))
        {
            var path = Path.Combine(top, $"{i}.spec");
            await File.WriteAllTextAsync(path, spec);
            paths.Add(path);
        }
        await Run("/usr/bin/rpmbuild", ["-bb", "--quiet", "--define", $"_topdir {top}", .. paths]);
        Directory.CreateDirectory(output);
        foreach (var rpm in Directory.GetFiles(Path.Combine(top, "RPMS"), "*.rpm", SearchOption.AllDirectories))
            File.Copy(rpm, Path.Combine(output, Path.GetFileName(rpm)));
    }

    private async Task CreateRepoAsync(string directory, string signer, params string[] extra)
    {
        var dir = Path.Combine(Root, directory);
        var repodata = Path.Combine(dir, "repodata");
        if (Directory.Exists(repodata)) Directory.Delete(repodata, recursive: true);
        await Run("/usr/bin/createrepo_c", ["--quiet", "--no-database", .. extra, dir]);
        await Gpg("--local-user", signer, "--detach-sign", "--armor", Path.Combine(repodata, "repomd.xml"));
    }

    /// <summary>
    /// Debian's createrepo_c cannot write zstd, which EL9 mirrors serve: recompress primary.xml with the
    /// zstd tool, point repomd.xml at it with its new checksum and size, and sign repomd again.
    /// </summary>
    private async Task ZstdRepoAsync()
    {
        Copy("kubernetes", "zstd");
        var repodata = Path.Combine(Root, "zstd", "repodata");
        File.Delete(Path.Combine(repodata, "repomd.xml.asc"));
        var gz = Directory.GetFiles(repodata, "*-primary.xml.gz").Single();
        var zst = Path.Combine(repodata, "primary.xml.zst");
        await Run("/bin/sh", ["-c", $"gzip -dc '{gz}' | zstd -q -o '{zst}'"]);
        var repomdPath = Path.Combine(repodata, "repomd.xml");
        var repomd = System.Xml.Linq.XDocument.Load(repomdPath);
        var ns = repomd.Root!.Name.Namespace;
        var primary = repomd.Root.Elements(ns + "data").Single(d => (string?)d.Attribute("type") == "primary");
        primary.Element(ns + "location")!.SetAttributeValue("href", "repodata/primary.xml.zst");
        primary.Element(ns + "checksum")!.Value = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(zst)));
        primary.Element(ns + "size")!.Value = new FileInfo(zst).Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        repomd.Save(repomdPath);
        File.Delete(gz);
        await Gpg("--local-user", "k8s@airgap.test", "--detach-sign", "--armor", repomdPath);
    }

    private void Copy(string from, string to)
    {
        foreach (var file in Directory.GetFiles(Path.Combine(Root, from), "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(Root, to, Path.GetRelativePath(Path.Combine(Root, from), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private Task<string> Gpg(params string[] args) => _gpg!.RunAsync(default, args);

    private static async Task<string> Run(string tool, string[] args)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var result = await ProcessRunner.RunAsync(tool, args, cts.Token);
        if (!result.Succeeded) throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed: {result}");
        return result.Stdout;
    }
}
