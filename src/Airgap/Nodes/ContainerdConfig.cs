using System.Globalization;
using System.Text;

namespace Airgap.Nodes;

public sealed record ContainerdSettings
{
    /// <summary>The bundle's pause image under its canonical name, so sandboxes never reach for a registry.</summary>
    public required string SandboxImage { get; init; }

    /// <summary>Must equal the kubelet's cgroupDriver, or pods fail to start.</summary>
    public CgroupDriver CgroupDriver { get; init; } = CgroupDriver.Systemd;

    /// <summary>Set where containerd lacks CAP_SYS_RESOURCE (see <see cref="HostFacts.RestrictOomScoreAdj"/>).</summary>
    public bool RestrictOomScoreAdj { get; init; }

    /// <summary>2 for containerd 1.x, 3 for 2.x; see <see cref="ContainerdConfig.ConfigVersionFor"/>.</summary>
    public int ConfigVersion { get; init; } = 2;

    /// <summary>Only set to run a second containerd beside the system one (tests); null leaves containerd's default.</summary>
    public string? Root { get; init; }
    public string? State { get; init; }
    public string? GrpcAddress { get; init; }

    /// <summary>The site's registry to pull through, and the registries to point at it; null pulls from nowhere but the bundle.</summary>
    public RegistryMirror? Mirror { get; init; }
    public IReadOnlyList<string> MirroredRegistries { get; init; } = [];

    /// <summary>containerd 1.5+ reads per-registry hosts.toml files (config_path); 1.4 only inline mirrors.</summary>
    public bool HostsDirectory { get; init; } = true;

    public string CniBinDir { get; init; } = "/opt/cni/bin";
    public string CniConfDir { get; init; } = "/etc/cni/net.d";
}

/// <summary>
/// Writes /etc/containerd/config.toml as a whole file rather than editing the packaged one: Debian
/// and Docker's packages ship <c>disabled_plugins = ["cri"]</c> and a cgroup setting that may not
/// match the kubelet, and a file we write entirely is one we can reason about. Everything not set
/// here (timeouts, and the registry settings unless a mirror is given) stays at containerd's default.
/// </summary>
/// <remarks>
/// Keys follow containerd's docs/cri/config.md: config version 2 (containerd 1.3–1.7, also read by
/// 2.x) puts the CRI settings under plugins."io.containerd.grpc.v1.cri"; version 3 (2.x) splits them
/// into plugins."io.containerd.cri.v1.images" (snapshotter, pinned_images.sandbox) and
/// plugins."io.containerd.cri.v1.runtime" (restrict_oom_score_adj, runtimes, cni).
/// </remarks>
public static class ContainerdConfig
{
    public const string DefaultPath = "/etc/containerd/config.toml";

    /// <summary>The config version for a containerd release ("1.6.20", "v2.0.2").</summary>
    public static int ConfigVersionFor(string containerdVersion)
    {
        var text = containerdVersion.TrimStart('v');
        var parts = text.Split('.', '-', '+', '~');
        if (parts.Length < 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var major) ||
            !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var minor))
            throw new AirgapException($"containerd version \"{containerdVersion}\" is not MAJOR.MINOR[.PATCH]");
        if (major == 1 && minor >= 4) return 2;
        if (major == 2) return 3;
        throw new AirgapException($"containerd {containerdVersion} is not supported: airgap configures containerd 1.4 to 2.x");
    }

    /// <summary>containerd 1.5 and later read registry hosts from a directory (config_path).</summary>
    public static bool HasHostsDirectory(string containerdVersion)
    {
        var parts = containerdVersion.TrimStart('v').Split('.', '-', '+', '~');
        return !(parts.Length >= 2 && parts[0] == "1" && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var minor) && minor < 5);
    }

    /// <summary>"1.6.20~ds1" out of `containerd --version` ("containerd github.com/containerd/containerd 1.6.20~ds1 …"), or null.</summary>
    public static string? VersionFrom(string output) =>
        output.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(w => w.Length > 2 && char.IsDigit(w.TrimStart('v')[0]) && w.Contains('.', StringComparison.Ordinal));

    public static string Render(ContainerdSettings settings) => settings.ConfigVersion switch
    {
        2 => RenderVersion2(settings),
        3 => RenderVersion3(settings),
        _ => throw new AirgapException($"containerd config version {settings.ConfigVersion} is not one airgap writes (2 or 3)"),
    };

    private static string RenderVersion2(ContainerdSettings s)
    {
        const string cri = "plugins.\"io.containerd.grpc.v1.cri\"";
        var toml = Header(s, "containerd 1.4-1.7");
        toml.Append("[plugins]\n");
        toml.Append($"  [{cri}]\n");
        toml.Append($"    sandbox_image = {Quote(s.SandboxImage)}\n");
        toml.Append($"    restrict_oom_score_adj = {Bool(s.RestrictOomScoreAdj)}\n");
        toml.Append($"    [{cri}.containerd]\n");
        toml.Append("      snapshotter = \"overlayfs\"\n");
        toml.Append("      default_runtime_name = \"runc\"\n");
        toml.Append($"      [{cri}.containerd.runtimes.runc]\n");
        toml.Append("        runtime_type = \"io.containerd.runc.v2\"\n");
        toml.Append($"        [{cri}.containerd.runtimes.runc.options]\n");
        toml.Append($"          SystemdCgroup = {Bool(s.CgroupDriver == CgroupDriver.Systemd)}\n");
        toml.Append($"    [{cri}.cni]\n");
        toml.Append($"      bin_dir = {Quote(s.CniBinDir)}\n");
        toml.Append($"      conf_dir = {Quote(s.CniConfDir)}\n");
        if (s.Mirror is { } mirror)
        {
            toml.Append($"    [{cri}.registry]\n");
            if (s.HostsDirectory)
            {
                toml.Append($"      config_path = {Quote(RegistryMirror.HostsDirectory)}\n");
            }
            else
            {
                foreach (var registry in s.MirroredRegistries)
                {
                    toml.Append($"      [{cri}.registry.mirrors.{Quote(registry)}]\n");
                    toml.Append($"        endpoint = [{Quote(mirror.LegacyEndpoint)}]\n");
                }
                if (mirror.CaFile is not null)
                {
                    toml.Append($"      [{cri}.registry.configs.{Quote(mirror.Url.Authority)}.tls]\n");
                    toml.Append($"        ca_file = {Quote(RegistryMirror.CaPath)}\n");
                }
            }
        }
        return toml.ToString();
    }

    private static string RenderVersion3(ContainerdSettings s)
    {
        const string images = "plugins.\"io.containerd.cri.v1.images\"";
        const string runtime = "plugins.\"io.containerd.cri.v1.runtime\"";
        var toml = Header(s, "containerd 2.x");
        toml.Append("[plugins]\n");
        toml.Append($"  [{images}]\n");
        toml.Append("    snapshotter = \"overlayfs\"\n");
        toml.Append($"    [{images}.pinned_images]\n");
        toml.Append($"      sandbox = {Quote(s.SandboxImage)}\n");
        if (s.Mirror is not null)
        {
            toml.Append($"    [{images}.registry]\n");
            toml.Append($"      config_path = {Quote(RegistryMirror.HostsDirectory)}\n");
        }
        toml.Append($"  [{runtime}]\n");
        toml.Append($"    restrict_oom_score_adj = {Bool(s.RestrictOomScoreAdj)}\n");
        toml.Append($"    [{runtime}.containerd]\n");
        toml.Append("      default_runtime_name = \"runc\"\n");
        toml.Append($"      [{runtime}.containerd.runtimes.runc]\n");
        toml.Append("        runtime_type = \"io.containerd.runc.v2\"\n");
        toml.Append($"        [{runtime}.containerd.runtimes.runc.options]\n");
        toml.Append($"          SystemdCgroup = {Bool(s.CgroupDriver == CgroupDriver.Systemd)}\n");
        toml.Append($"    [{runtime}.cni]\n");
        toml.Append($"      bin_dir = {Quote(s.CniBinDir)}\n");
        toml.Append($"      conf_dir = {Quote(s.CniConfDir)}\n");
        return toml.ToString();
    }

    private static StringBuilder Header(ContainerdSettings s, string forWhat)
    {
        var toml = new StringBuilder();
        toml.Append($"# Written by airgap for {forWhat}. The CRI plugin must stay enabled: kubelet talks to it.\n");
        toml.Append($"version = {s.ConfigVersion}\n");
        if (s.Root is not null) toml.Append($"root = {Quote(s.Root)}\n");
        if (s.State is not null) toml.Append($"state = {Quote(s.State)}\n");
        // Said explicitly: packaged configs disable "cri", and this file replaces them.
        toml.Append("disabled_plugins = []\n");
        toml.Append('\n');
        if (s.GrpcAddress is not null)
        {
            toml.Append("[grpc]\n");
            toml.Append($"  address = {Quote(s.GrpcAddress)}\n");
            toml.Append('\n');
        }
        return toml;
    }

    private static string Bool(bool value) => value ? "true" : "false";

    /// <summary>A TOML basic string.</summary>
    internal static string Quote(string value)
    {
        var text = new StringBuilder("\"");
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\t': text.Append("\\t"); break;
                case '\r': text.Append("\\r"); break;
                default:
                    if (char.IsControl(c)) text.Append($"\\u{(int)c:X4}");
                    else text.Append(c);
                    break;
            }
        }
        return text.Append('"').ToString();
    }
}
