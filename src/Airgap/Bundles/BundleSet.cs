using System.Text;

namespace Airgap.Bundles;

/// <summary>
/// The bundle a command reads, as members: one full bundle, or a delta over the base it was built on.
/// Every reader (verify, extract, install, the image source of push, serve and import) asks this where a
/// member is, so base + delta reads as the whole new bundle everywhere, always checked against the
/// new bundle.yaml. A path converts to a set without a base; a delta read that way is refused by name.
/// </summary>
public sealed class BundleSet(string path, string? basePath = null)
{
    private readonly Lazy<Task<BundleLayout>> layout = new(() => LoadAsync(path, basePath));

    /// <summary>The bundle itself: a full bundle or the delta.</summary>
    public string Path { get; } = path;

    /// <summary>The delta's base (--base), or null.</summary>
    public string? BasePath { get; } = basePath;

    public static implicit operator BundleSet(string path) => new(path);

    public override string ToString() => Path;

    /// <summary>
    /// bundle.yaml and where each member lies. The first call reads bundle.yaml (and the base's) and
    /// refuses a delta without its base, a base the delta does not name, and a base given for a full bundle.
    /// </summary>
    public Task<BundleLayout> LayoutAsync(CancellationToken ct) => layout.Value.WaitAsync(ct);

    private static async Task<BundleLayout> LoadAsync(string path, string? basePath)
    {
        // Not the caller's token: the layout is shared by every later reader of the set.
        var (yaml, _) = await BundleReader.ReadSignedDocumentAsync(path, CancellationToken.None).ConfigureAwait(false);
        var document = BundleDocument.Parse(Encoding.UTF8.GetString(yaml), path);
        if (basePath is null)
        {
            if (document.Base is { } expected) throw BundleDelta.BaseMissing(path, expected);
            return new BundleLayout(path, null, document);
        }
        var (baseYaml, _) = await BundleReader.ReadSignedDocumentAsync(basePath, CancellationToken.None).ConfigureAwait(false);
        BundleDelta.CheckBase(path, document, basePath, baseYaml);
        return new BundleLayout(path, basePath, document);
    }
}

/// <summary>Where a member lies: in the bundle (or delta) under its own name, or in the base under the name the delta gives.</summary>
public sealed record MemberLocation(string BundlePath, string Member, bool InBase);

/// <summary>A bundle's (new) bundle.yaml and, for a delta, which members its base carries.</summary>
public sealed class BundleLayout
{
    private readonly Dictionary<string, BundleFile> fromBase;
    private readonly Dictionary<string, BundleFile> files = new(StringComparer.Ordinal);

    public BundleLayout(string path, string? basePath, BundleDocument document)
    {
        Path = path;
        BasePath = basePath;
        Document = document;
        foreach (var f in document.Files) files.TryAdd(f.Path, f);
        fromBase = document.Files.Where(f => f.Base is not null).ToDictionary(f => f.Path, StringComparer.Ordinal);
        if (basePath is null && (document.Base is not null || fromBase.Count > 0))
            throw BundleDelta.BaseMissing(path, document.Base ?? new BundleBase { Name = "an unnamed bundle" });
        foreach (var f in fromBase.Values) BundlePaths.Validate(f.Base!);
    }

    public string Path { get; }
    public string? BasePath { get; }
    public BundleDocument Document { get; }

    /// <summary>The members the base carries, by their name in the new bundle.</summary>
    public IReadOnlyCollection<BundleFile> FromBase => fromBase.Values;

    public MemberLocation Locate(string member) =>
        fromBase.TryGetValue(member, out var file) ? new MemberLocation(BasePath!, file.Base!, true) : new MemberLocation(Path, member, false);

    /// <summary>The new bundle.yaml's entry for a member, which its bytes must match wherever they lie.</summary>
    public BundleFile? File(string member) => files.GetValueOrDefault(member);
}
