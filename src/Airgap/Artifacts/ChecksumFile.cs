namespace Airgap.Artifacts;

/// <summary>
/// Reads published checksum files in the forms release pages use: a bare hex digest (dl.k8s.io's
/// .sha256), or sha256sum lines "HASH  NAME" / "HASH *NAME", possibly for several files at once.
/// </summary>
public static class ChecksumFile
{
    public static string? FindSha256(string content, string fileName)
    {
        var lines = content.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 1 && IsSha256(lines[0])) return lines[0].ToLowerInvariant();
        foreach (var line in lines)
        {
            var parts = line.Split([' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2 || !IsSha256(parts[0])) continue;
            var name = parts[1].Trim().TrimStart('*');
            // Some releases list paths ("bin/x" or "./x"); the file name is what identifies the asset.
            if (name == fileName || Path.GetFileName(name) == fileName) return parts[0].ToLowerInvariant();
        }
        return null;
    }

    private static bool IsSha256(string s) => s.Length == 64 && s.All(Uri.IsHexDigit);
}
