using System.Globalization;

namespace Airgap.Packages.Apt;

/// <summary>One line of a Release file's SHA256 section: the file's checksum and size, by path relative to the Release file.</summary>
public sealed record ReleaseEntry(string Path, string Sha256, long Size);

/// <summary>
/// A repository's Release (the signed text of InRelease, or Release beside Release.gpg). Only SHA256
/// sums are used: apt has refused MD5- and SHA1-only repositories since 1.2, and so do we.
/// </summary>
public sealed class ReleaseFile
{
    private readonly Dictionary<string, ReleaseEntry> _sha256;

    private ReleaseFile(ControlStanza stanza, Dictionary<string, ReleaseEntry> sha256)
    {
        Stanza = stanza;
        _sha256 = sha256;
    }

    public ControlStanza Stanza { get; }

    public string? Suite => Stanza["Suite"];

    public string? Codename => Stanza["Codename"];

    public string? Origin => Stanza["Origin"];

    public IReadOnlyList<string> Architectures => Words(Stanza["Architectures"]);

    public IReadOnlyList<string> Components => Words(Stanza["Components"]);

    public DateTimeOffset? Date => ParseDate(Stanza["Date"]);

    public DateTimeOffset? ValidUntil => ParseDate(Stanza["Valid-Until"]);

    /// <summary>The mirror serves each index also under by-hash/SHA256/&lt;hex&gt;, immune to the mirror updating mid-fetch.</summary>
    public bool AcquireByHash => string.Equals(Stanza["Acquire-By-Hash"], "yes", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Debian's archive folds architecture "all" into each binary-&lt;arch&gt;/Packages and says so with
    /// "No-Support-for-Architecture-all: Packages"; without it, binary-all/Packages (when listed) must be read too.
    /// </summary>
    public bool ArchitectureAllInArchIndexes =>
        string.Equals(Stanza["No-Support-for-Architecture-all"], "Packages", StringComparison.Ordinal)
        || !Architectures.Contains("all");

    public IReadOnlyCollection<ReleaseEntry> Sha256Entries => _sha256.Values;

    public ReleaseEntry? Find(string path) => _sha256.GetValueOrDefault(path);

    public static ReleaseFile Parse(string text, string source)
    {
        var stanzas = ControlStanza.ParseAll(text, source);
        if (stanzas.Count == 0) throw new AirgapException($"{source} is empty; the mirror is broken or the URL is not an apt repository");
        var stanza = stanzas[0];
        var sums = new Dictionary<string, ReleaseEntry>(StringComparer.Ordinal);
        var section = stanza["SHA256"];
        if (section is not null)
        {
            foreach (var line in section.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 3 || parts[0].Length != 64 || !parts[0].All(Uri.IsHexDigit)
                    || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
                    throw new AirgapException($"{source}: \"{line}\" in its SHA256 section is not \"<sha256> <size> <path>\"; the Release file is damaged");
                sums[parts[2]] = new ReleaseEntry(parts[2], parts[0].ToLowerInvariant(), size);
            }
        }
        return new ReleaseFile(stanza, sums);
    }

    private static IReadOnlyList<string> Words(string? value) =>
        value?.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>Release dates are RFC 1123-like ("Sat, 11 Jul 2026 10:16:37 UTC"); apt also accepts "+0000" and numeric zones.</summary>
    internal static DateTimeOffset? ParseDate(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var v = value.Trim();
        if (v.EndsWith(" UTC", StringComparison.Ordinal) || v.EndsWith(" GMT", StringComparison.Ordinal)) v = v[..^4] + " +0000";
        string[] formats = ["ddd, dd MMM yyyy HH:mm:ss zzz", "ddd, d MMM yyyy HH:mm:ss zzz", "dd MMM yyyy HH:mm:ss zzz", "ddd, dd MMM yyyy HH:mm:ss"];
        var zoneFixed = v.Length > 5 && (v[^5] is '+' or '-') ? v[..^2] + ":" + v[^2..] : v;
        return DateTimeOffset.TryParseExact(zoneFixed, formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : null;
    }
}
