using System.Diagnostics.CodeAnalysis;
using Airgap.Artifacts;

namespace Airgap.Releases;

/// <summary>
/// What airgap knows about Kubernetes releases without a kubeadm binary at hand: for each patch
/// release, the images <c>kubeadm config images list</c> prints; for each minor, the default crictl,
/// CNI plugins, containerd and runc versions. Built from manifests/kubernetes/releases.yaml (embedded,
/// so the single-file binary carries it) and, on top, the operator's file.
/// </summary>
/// <remarks>
/// The operator's file is /etc/airgap/releases.yaml, or the file $AIRGAP_RELEASES names: a place every
/// airgap command reads — build on the connected host and install or join on the nodes — rather than
/// a flag each of them would need. Its image rows take precedence over the built-in ones for the
/// patches they cover (a site can correct a fact without waiting for a release of airgap), and its
/// binaries entries replace the built-in ones of their minor.
/// </remarks>
public sealed class ReleaseTable
{
    public const string SiteFile = "/etc/airgap/releases.yaml";
    public const string PathVariable = "AIRGAP_RELEASES";
    internal const string BuiltInSource = "manifests/kubernetes/releases.yaml (built in)";

    private static readonly Lazy<ReleaseFile> BuiltInFile = new(() => ReleaseFile.Parse(ReadBuiltIn(), BuiltInSource));
    private static readonly Lazy<ReleaseTable> BuiltInTable = new(() => Compose(BuiltInFile.Value, null));
    private static readonly Lazy<ReleaseTable> CurrentTable = new(() =>
        Load(Environment.GetEnvironmentVariable(PathVariable), SiteFile, BuiltInFile.Value));

    // Searched in order: the operator's rows come first so that they win.
    private readonly IReadOnlyList<KubeadmImageRow> rows;
    private readonly IReadOnlyDictionary<int, MinorBinaries> binaries;

    private ReleaseTable(IReadOnlyList<KubeadmImageRow> rows, IReadOnlyDictionary<int, MinorBinaries> binaries, string? siteSource)
    {
        this.rows = rows;
        this.binaries = binaries;
        SiteSource = siteSource;
        Known = MergeRuns(rows);
    }

    /// <summary>The table shipped with airgap alone.</summary>
    public static ReleaseTable BuiltIn => BuiltInTable.Value;

    /// <summary>The built-in table with the operator's file on top, read and checked on first use.</summary>
    public static ReleaseTable Current => CurrentTable.Value;

    /// <summary>The operator's file this table includes, or null.</summary>
    public string? SiteSource { get; }

    /// <summary>The patch releases the table answers for, as runs per minor, in order.</summary>
    public IReadOnlyList<KubernetesVersionRange> Known { get; }

    /// <summary>Every image row in effect, ordered by version; a built-in row the operator's file covers in part still appears.</summary>
    public IReadOnlyList<KubeadmImageRow> Rows => rows.OrderBy(r => r.Versions.First).ToList();

    /// <summary>The minors that have default binaries, ascending.</summary>
    public IReadOnlyList<MinorBinaries> Binaries => binaries.Values.OrderBy(b => b.Minor).ToList();

    /// <summary>
    /// Lays <paramref name="site"/> (may be null) over <paramref name="builtIn"/> and checks that the result
    /// is whole: every minor with images has binary defaults and every binaries entry has images.
    /// </summary>
    public static ReleaseTable Compose(ReleaseFile builtIn, ReleaseFile? site)
    {
        var layered = (site?.Images ?? []).Concat(builtIn.Images).ToList();
        var byMinor = builtIn.Binaries.ToDictionary(b => b.Minor);
        foreach (var entry in site?.Binaries ?? []) byMinor[entry.Minor] = entry;

        // Reported at the operator's entry when it has one: that is where the fix goes.
        foreach (var row in layered.Where(r => !byMinor.ContainsKey(r.Minor)))
            throw new AirgapException(
                $"{row.Origin}: images {row.Versions} are of minor 1.{row.Minor}, which has no binaries entry; " +
                $"add - {{minor: \"1.{row.Minor}\", crictl: …, cniPlugins: …, containerd: …, runc: …}} under binaries:");
        var imageMinors = layered.Select(r => r.Minor).ToHashSet();
        foreach (var entry in byMinor.Values.Where(b => !imageMinors.Contains(b.Minor)).OrderBy(b => b.Origin.Line))
            throw new AirgapException(
                $"{entry.Origin}: binaries for minor 1.{entry.Minor}, which has no images rows; add its releases under images: or remove the entry");

        return new ReleaseTable(layered, byMinor, site?.Source);
    }

    /// <summary>
    /// The built-in file with the operator's on top: <paramref name="explicitPath"/> (from $AIRGAP_RELEASES)
    /// must exist when given; otherwise <paramref name="defaultPath"/> is used when it exists.
    /// </summary>
    internal static ReleaseTable Load(string? explicitPath, string defaultPath, ReleaseFile builtIn)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            if (!File.Exists(explicitPath))
                throw new AirgapException($"${PathVariable} names {explicitPath}, which does not exist; point it at a releases file or unset it");
            return Compose(builtIn, ReleaseFile.Load(explicitPath));
        }
        return File.Exists(defaultPath) ? Compose(builtIn, ReleaseFile.Load(defaultPath)) : Compose(builtIn, null);
    }

    public bool TryGet(KubernetesVersion version, [NotNullWhen(true)] out KubeadmImageSet? set)
    {
        set = null;
        if (!TryGetRow(version, out var row)) return false;
        set = new KubeadmImageSet(version, row.Registry, ImagesOf(version, row));
        return true;
    }

    public bool TryGetRow(KubernetesVersion version, [NotNullWhen(true)] out KubeadmImageRow? row)
    {
        row = null;
        if (version.Major != 1 || version.IsPrerelease) return false;
        row = rows.FirstOrDefault(r => r.Versions.Contains(version));
        return row is not null;
    }

    public KubeadmImageSet Get(KubernetesVersion version) =>
        TryGet(version, out var set) ? set : throw new UnknownKubernetesVersionException(version, Known, ExtensionFile);

    public BinaryVersions BinariesFor(KubernetesVersion kubernetes)
    {
        if (kubernetes.Major == 1 && binaries.TryGetValue(kubernetes.Minor, out var entry)) return entry.Versions;
        var minors = binaries.Keys.Order().ToList();
        throw new AirgapException(
            $"airgap has no default crictl/CNI/containerd/runc versions for Kubernetes {kubernetes} (it knows 1.{minors[0]}–1.{minors[^1]}); " +
            $"add a binaries entry for 1.{kubernetes.Minor} to {ExtensionFile}, or pass --crictl-version, --cni-plugins-version, --containerd-version and --runc-version, or --no-binaries");
    }

    /// <summary>Where the operator adds what airgap does not know yet; used in errors.</summary>
    private string ExtensionFile => SiteSource ?? $"{SiteFile} or the file ${PathVariable} names";

    private static List<KubeadmImage> ImagesOf(KubernetesVersion version, KubeadmImageRow row)
    {
        var tag = version.ToString();
        // kubeadm 1.21 followed CoreDNS's move to coredns/coredns upstream, but still asks a custom
        // --image-repository for a flat "coredns", which is what mirrors carry.
        var coreDns = new KubeadmImage(version.Minor >= 21 ? "coredns/coredns" : "coredns", "coredns", row.CoreDns);
        var pause = new KubeadmImage("pause", "pause", row.Pause);
        var etcd = new KubeadmImage("etcd", "etcd", row.Etcd);
        var images = new List<KubeadmImage>
        {
            new("kube-apiserver", "kube-apiserver", tag),
            new("kube-controller-manager", "kube-controller-manager", tag),
            new("kube-scheduler", "kube-scheduler", tag),
            new("kube-proxy", "kube-proxy", tag),
        };
        // kubeadm 1.29 moved CoreDNS ahead of pause and etcd when it made the addons skippable
        // (kubernetes PR #114534); earlier releases print it last. The v1beta4-era images.go keeps that order.
        if (version.Minor >= 29) images.AddRange([coreDns, pause, etcd]);
        else images.AddRange([pause, etcd, coreDns]);
        return images;
    }

    private static List<KubernetesVersionRange> MergeRuns(IEnumerable<KubeadmImageRow> rows)
    {
        var runs = new List<(int Minor, int First, int Last)>();
        foreach (var row in rows.OrderBy(r => r.Versions.First))
        {
            var (minor, first, last) = (row.Minor, row.Versions.First.Patch, row.Versions.Last.Patch);
            // Operator rows may overlap built-in ones, so runs join when they touch or overlap.
            if (runs.Count > 0 && runs[^1].Minor == minor && first <= runs[^1].Last + 1)
                runs[^1] = (minor, runs[^1].First, Math.Max(runs[^1].Last, last));
            else
                runs.Add((minor, first, last));
        }
        return runs
            .Select(r => new KubernetesVersionRange(KubernetesVersion.Create(1, r.Minor, r.First), KubernetesVersion.Create(1, r.Minor, r.Last)))
            .ToList();
    }

    private static string ReadBuiltIn()
    {
        const string resource = "kubernetes/releases.yaml";
        using var stream = typeof(ReleaseTable).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded resource {resource} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>The release table has no row for the version; a kubeadm binary of that version can still answer.</summary>
public sealed class UnknownKubernetesVersionException : AirgapException
{
    public KubernetesVersion Version { get; }

    public UnknownKubernetesVersionException(KubernetesVersion version, IReadOnlyList<KubernetesVersionRange> known, string releasesFile)
        : base($"Kubernetes {version} is not in airgap's release table (it knows {string.Join(", ", known)}); " +
               $"add a row for it to {releasesFile} (see README, \"The release table\"), or pass --kubeadm PATH to a kubeadm binary of that version to ask it instead")
    {
        Version = version;
    }
}
