using System.Security.Cryptography;

namespace Airgap.Bundles;

/// <summary>
/// The rules of delta bundles, apart from any file: which members a base already carries, how a delta
/// names its base, and whether a given base is that one.
/// </summary>
public static class BundleDelta
{
    /// <summary>The reference a delta keeps to its base: the base's name and version for people, its bundle.yaml's sha256 for the check.</summary>
    public static BundleBase Reference(BundleDocument baseDocument, byte[] baseYaml) => new()
    {
        Name = baseDocument.Name,
        Kubernetes = baseDocument.Kubernetes,
        BundleYamlSha256 = Convert.ToHexStringLower(SHA256.HashData(baseYaml)),
    };

    /// <summary>
    /// Every member whose content (sha256 and size) the base lists is marked as carried by the base, under
    /// the base's path for it; content, not path, decides, since a binary keeps its path across versions and
    /// changes its bytes. The base must be a full bundle: a delta's own base members would need a chain.
    /// </summary>
    public static IReadOnlyList<BundleMember> Mark(IReadOnlyList<BundleMember> members, BundleDocument baseDocument, string basePath)
    {
        if (baseDocument.Base is { } deeper)
            throw new AirgapException($"--since {basePath} is itself a delta (of {deeper.Name}); give a full bundle as --since");
        var carried = new Dictionary<(string, long), string>();
        foreach (var file in baseDocument.Files) carried.TryAdd((file.Sha256, file.Size), file.Path);
        return members.Select(m => carried.TryGetValue((m.Sha256, m.Size), out var at) ? m with { FromBase = at } : m).ToList();
    }

    /// <summary>
    /// Refuses a base that is not the one the delta names (its bundle.yaml's sha256 differs), in one line
    /// naming the expected base and the given one.
    /// </summary>
    public static void CheckBase(string deltaPath, BundleDocument delta, string basePath, byte[] baseYaml)
    {
        var expected = delta.Base ?? throw BaseForFullBundle(deltaPath, delta, basePath);
        var actual = Convert.ToHexStringLower(SHA256.HashData(baseYaml));
        if (actual == expected.BundleYamlSha256) return;
        string given;
        try
        {
            var document = BundleDocument.Parse(System.Text.Encoding.UTF8.GetString(baseYaml), basePath);
            given = $"{document.Name} (Kubernetes {document.Kubernetes}, bundle.yaml sha256 {actual})";
        }
        catch (AirgapException)
        {
            given = $"a bundle.yaml with sha256 {actual}";
        }
        throw new AirgapException($"{deltaPath} is a delta of {expected}, but --base {basePath} is {given}; give the bundle the delta was built on");
    }

    /// <summary>The refusal of --base given with a full bundle: a mistake worth saying, not ignoring.</summary>
    public static AirgapException BaseForFullBundle(string bundlePath, BundleDocument document, string basePath) =>
        new($"--base {basePath} was given, but {bundlePath} is a full bundle ({document.Name}); leave --base out");

    /// <summary>The refusal of a delta read without its base.</summary>
    public static AirgapException BaseMissing(string deltaPath, BundleBase expected) =>
        new($"{deltaPath} is a delta of {expected}; give that bundle with --base (a delta carries only what its base lacks)");
}
