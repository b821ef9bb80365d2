namespace Airgap.Bundles;

/// <summary>Rules for member names, shared by the writer and the reader so neither can drift from the other.</summary>
public static class BundlePaths
{
    public const string CacheHint = "~/.cache/airgap (or $AIRGAP_CACHE)";

    public static string FileName(string kubernetesVersion, string os, string arch) =>
        $"airgap-k8s-{kubernetesVersion}-{os}-{arch}.tar";

    /// <summary>Relative, forward slashes, no "..", no empty or "." components: nothing can escape the target directory.</summary>
    public static bool IsSafe(string path, out string why)
    {
        why = "";
        if (string.IsNullOrEmpty(path)) { why = "empty name"; return false; }
        if (path.StartsWith('/')) { why = "absolute path"; return false; }
        if (path.Contains('\\')) { why = "backslash in name"; return false; }
        if (path.Contains('\0')) { why = "NUL in name"; return false; }
        foreach (var part in path.TrimEnd('/').Split('/'))
        {
            if (part is "" or "." ) { why = "empty or '.' component"; return false; }
            if (part == "..") { why = "'..' component (path traversal)"; return false; }
        }
        return true;
    }

    public static void Validate(string path)
    {
        if (!IsSafe(path, out var why)) throw new AirgapException($"bundle member \"{path}\" is unsafe: {why}");
    }
}
