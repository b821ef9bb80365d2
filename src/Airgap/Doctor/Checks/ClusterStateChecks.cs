using System.Globalization;
using System.Text.RegularExpressions;
using Airgap.Nodes;

namespace Airgap.Doctor.Checks;

/// <summary>kubeadm's certificates expire after a year; expired ones stop the control plane. Read through kubeadm's own check.</summary>
public sealed partial class CertificatesCheck : IDoctorCheck
{
    public static readonly TimeSpan WarnWithin = TimeSpan.FromDays(30);

    public string Name => "certificates";
    public string Description => $"no kubeadm certificate expires within {WarnWithin.TotalDays} days (kubeadm certs check-expiration)";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        if (!await c.Host.FileExistsAsync("/etc/kubernetes/pki/ca.key", ct).ConfigureAwait(false) ||
            await c.ReadAsync(DoctorContext.AdminKubeconfig, ct).ConfigureAwait(false) is null)
            return CheckResult.Skip(Name, "not a control plane (no /etc/kubernetes/pki/ca.key)");
        var r = await c.RunAsync(new CommandSpec("kubeadm", "certs", "check-expiration"), ct).ConfigureAwait(false);
        if (!r.Succeeded)
            r = await c.RunAsync(new CommandSpec("kubeadm", "alpha", "certs", "check-expiration"), ct).ConfigureAwait(false);
        if (!r.Succeeded) return CheckResult.Warn(Name, $"kubeadm certs check-expiration failed: {DoctorContext.LastLine(r)}");
        var certs = Parse(r.Stdout);
        if (certs.Count == 0) return CheckResult.Warn(Name, "kubeadm certs check-expiration listed no certificate").WithEvidence(r.StdoutTail.TakeLast(3));
        var now = c.Clock.GetUtcNow();
        var first = certs.MinBy(x => x.Expires)!;
        var expired = certs.Where(x => x.Expires <= now).ToList();
        var soon = certs.Where(x => x.Expires > now && x.Expires - now < WarnWithin).ToList();
        const string fix = "kubeadm certs renew all, then restart the control plane's static pods (move /etc/kubernetes/manifests/*.yaml out and back) and copy the new admin.conf to ~/.kube/config";
        if (expired.Count > 0)
            return CheckResult.Fail(Name, $"{expired.Count} certificate(s) expired: {string.Join(", ", expired.Select(x => x.Name))}")
                .WithEvidence(expired.Select(x => $"{x.Name} expired {x.Expires:yyyy-MM-dd HH:mm} UTC")) with { Fix = fix };
        if (soon.Count > 0)
            return CheckResult.Warn(Name, $"{soon.Count} certificate(s) expire within {WarnWithin.TotalDays} days: {string.Join(", ", soon.Select(x => x.Name))}")
                .WithEvidence(soon.Select(x => $"{x.Name} expires {x.Expires:yyyy-MM-dd HH:mm} UTC")) with { Fix = fix };
        return CheckResult.Ok(Name, $"{certs.Count} certificates, the first to expire: {first.Name} on {first.Expires:yyyy-MM-dd} ({(int)(first.Expires - now).TotalDays} days)");
    }

    public sealed record Certificate(string Name, DateTimeOffset Expires);

    /// <summary>The CERTIFICATE and CERTIFICATE AUTHORITY tables: name, then "Dec 07, 2027 08:55 UTC".</summary>
    public static IReadOnlyList<Certificate> Parse(string output) =>
        Row().Matches(output).Select(m => new Certificate(m.Groups[1].Value,
            DateTimeOffset.ParseExact(m.Groups[2].Value, "MMM dd, yyyy HH:mm 'UTC'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal))).ToList();

    [GeneratedRegex(@"^(\S+)\s+([A-Z][a-z]{2} \d{2}, \d{4} \d{2}:\d{2} UTC)", RegexOptions.Multiline)]
    private static partial Regex Row();
}

/// <summary>kubeadm, kubelet and kubectl held at the bundle's versions: a version that drifted (an apt upgrade, a half-done upgrade) breaks kubeadm's skew rules.</summary>
public sealed class PackagesCheck : IDoctorCheck
{
    public string Name => "packages";
    public string Description => "kubeadm, kubelet, kubectl are installed at the bundle's versions and held (dpkg)";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var r = await c.RunAsync(new CommandSpec("dpkg-query", ["-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\\n", .. BundlePackageSources.Held]), ct).ConfigureAwait(false);
        if (r.ExitCode == 127) return CheckResult.Skip(Name, "no dpkg on this node");
        var installed = Parse(r.Stdout);
        if (!installed.ContainsKey("kubelet")) return CheckResult.Skip(Name, "no kubelet package (nothing installed, or installed as binaries)");
        var facts = await c.FactsAsync(ct).ConfigureAwait(false);
        var evidence = BundlePackageSources.Held.Where(installed.ContainsKey)
            .Select(p => $"dpkg: {p} {installed[p].Version} ({(installed[p].Held ? "held" : "not held")})").ToList();
        var problems = new List<string>();
        var fixes = new List<string>();
        if (c.Bundle is not null)
        {
            var profile = facts.Os?.Profile;
            var wanted = c.Bundle.Document.Packages.Where(p => BundlePackageSources.Held.Contains(p.Name) && (profile is null || p.Os == profile))
                .GroupBy(p => p.Name).ToDictionary(g => g.Key, g => g.First().Version);
            var drifted = wanted.Where(w => installed.TryGetValue(w.Key, out var i) && i.Version != w.Value).ToList();
            if (drifted.Count > 0)
            {
                problems.Add(string.Join(", ", drifted.Select(d => $"{d.Key} {installed[d.Key].Version} (the bundle has {d.Value})")));
                fixes.Add("apt-get install -y --allow-downgrades --allow-change-held-packages " + string.Join(" ", drifted.Select(d => $"{d.Key}={d.Value}")) +
                          " (with the bundle's apt source, as airgap install sets it up), then apt-mark hold " + string.Join(" ", drifted.Select(d => d.Key)));
            }
        }
        var unheld = BundlePackageSources.Held.Where(p => installed.TryGetValue(p, out var i) && !i.Held).ToList();
        if (unheld.Count > 0)
        {
            problems.Add($"not held: {string.Join(", ", unheld)} (an apt upgrade would move them off the cluster's version)");
            fixes.Add($"apt-mark hold {string.Join(" ", unheld)}");
        }
        if (problems.Count == 0)
            return CheckResult.Ok(Name, string.Join(", ", BundlePackageSources.Held.Where(installed.ContainsKey).Select(p => $"{p} {installed[p].Version}")) +
                                       (c.Bundle is null ? " held" : " held, as the bundle has them"));
        var result = c.Bundle is not null && problems.Count > (unheld.Count > 0 ? 1 : 0)
            ? CheckResult.Fail(Name, "package versions differ from the bundle: " + string.Join("; ", problems))
            : CheckResult.Warn(Name, string.Join("; ", problems));
        return result.WithEvidence(evidence) with
        {
            Fix = string.Join(" && ", fixes),
            Repair = unheld.Count > 0 && result.Status == CheckStatus.Warn ? [new RunFixStep(new CommandSpec("apt-mark", ["hold", .. unheld]))] : [],
        };
    }

    public sealed record InstalledPackage(string Version, bool Held);

    /// <summary>dpkg-query lines "NAME VERSION STATUS"; only installed ones ("ii", "hi"), held when the want flag is h.</summary>
    public static IReadOnlyDictionary<string, InstalledPackage> Parse(string output)
    {
        var packages = new Dictionary<string, InstalledPackage>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 3 || f[2].Length < 2 || f[2][1] != 'i') continue;
            packages[f[0]] = new InstalledPackage(f[1], f[2][0] == 'h');
        }
        return packages;
    }
}

/// <summary>
/// kubeadm reset leaves the CNI's state behind (its own words: "The reset process does not clean CNI
/// configuration"): a node reinstalled with another CNI or CIDR picks up the old config first, or the
/// old bridge with the old addresses.
/// </summary>
public sealed class CniLeftoversCheck : IDoctorCheck
{
    private static readonly string[] CniLinks = ["cni0", "flannel.1", "cali", "tunl0", "weave", "vxlan.calico"];

    public string Name => "cni-leftovers";
    public string Description => "no CNI state left by an earlier cluster (/etc/cni/net.d, /var/lib/cni, cni0, flannel.1) where no cluster runs, and one CNI config where one does";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var configs = (await c.Host.ListDirectoryAsync(DoctorContext.CniConfigDirectory, ct).ConfigureAwait(false) ?? [])
            .Where(n => n.EndsWith(".conf", StringComparison.Ordinal) || n.EndsWith(".conflist", StringComparison.Ordinal) || n.EndsWith(".json", StringComparison.Ordinal)).ToList();
        var inCluster = await c.ReadAsync(DoctorContext.KubeletKubeconfig, ct).ConfigureAwait(false) is not null;
        if (inCluster)
        {
            if (configs.Count <= 1) return CheckResult.Ok(Name, configs.Count == 0 ? "no CNI config yet" : $"one CNI config: {configs[0]}");
            // The runtime takes the first file in name order; an earlier cluster's config that sorts first wins.
            return CheckResult.Warn(Name, $"{configs.Count} CNI configs in {DoctorContext.CniConfigDirectory}; the runtime uses only the first, {configs[0]}")
                .WithEvidence($"{DoctorContext.CniConfigDirectory}: {string.Join(", ", configs)}") with
                {
                    Fix = $"remove the configs of networks no longer in use from {DoctorContext.CniConfigDirectory}, then systemctl restart containerd",
                };
        }
        var links = await c.RunAsync(new CommandSpec("ip", "-o", "link", "show"), ct).ConfigureAwait(false);
        var leftLinks = links.Succeeded ? LinkNames(links.Stdout).Where(l => CniLinks.Any(p => l == p || l.StartsWith(p, StringComparison.Ordinal) && p == "cali")).ToList() : [];
        var leftState = await c.Host.ListDirectoryAsync("/var/lib/cni", ct).ConfigureAwait(false) is { } state;
        if (configs.Count == 0 && leftLinks.Count == 0 && !leftState)
            return CheckResult.Ok(Name, "no cluster here and no CNI state left behind");
        var evidence = new List<string>();
        if (configs.Count > 0) evidence.Add($"{DoctorContext.CniConfigDirectory}: {string.Join(", ", configs)}");
        if (leftState) evidence.Add("/var/lib/cni exists (IP allocations of the old pods)");
        if (leftLinks.Count > 0) evidence.Add($"ip link: {string.Join(", ", leftLinks)}");
        var repair = new List<FixStep>();
        repair.AddRange(configs.Select(f => new RunFixStep(new CommandSpec("rm", "-f", $"{DoctorContext.CniConfigDirectory}/{f}"))));
        if (leftState) repair.Add(new RunFixStep(new CommandSpec("rm", "-rf", "/var/lib/cni")));
        repair.AddRange(leftLinks.Select(l => new RunFixStep(new CommandSpec("ip", "link", "delete", l))));
        return CheckResult.Warn(Name, $"no cluster on this node, but an earlier one's CNI state is left (kubeadm reset does not clean it): {string.Join("; ", evidence)}")
            .WithEvidence(evidence) with
            {
                Fix = string.Join(" && ", repair.Select(s => s.Text)),
                Repair = repair,
            };
    }

    /// <summary>Interface names from `ip -o link show` ("3: cni0: &lt;...&gt;", "5: veth1@if3: ...").</summary>
    public static IReadOnlyList<string> LinkNames(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':', 3)).Where(p => p.Length >= 2).Select(p => p[1].Trim().Split('@')[0]).ToList();
}
