using System.Text;

namespace Airgap.Packages.Apt;

/// <summary>
/// A Debian package version, [epoch:]upstream[-revision], ordered exactly as dpkg orders it
/// (lib/dpkg/version.c): '~' sorts before everything, even the end of the string; letters sort
/// before other characters; digit runs compare numerically. Versions dpkg considers equal
/// ("1.0" and "1.00", "1.0" and "1.0-0") are equal here too.
/// </summary>
public sealed class DebianVersion : IComparable<DebianVersion>, IEquatable<DebianVersion>
{
    private DebianVersion(string text, long epoch, string upstream, string revision)
    {
        Text = text;
        Epoch = epoch;
        Upstream = upstream;
        Revision = revision;
    }

    /// <summary>The version as written in the index, for messages and for pins.</summary>
    public string Text { get; }

    public long Epoch { get; }

    public string Upstream { get; }

    /// <summary>The Debian revision; empty when the version has none (dpkg treats that as "0").</summary>
    public string Revision { get; }

    public override string ToString() => Text;

    public static DebianVersion Parse(string text) =>
        TryParse(text, out var version, out var why)
            ? version
            : throw new AirgapException($"\"{text}\" is not a Debian version: {why}");

    public static bool TryParse(string? text, out DebianVersion version) => TryParse(text, out version, out _);

    private static bool TryParse(string? text, out DebianVersion version, out string why)
    {
        version = null!;
        var s = text?.Trim() ?? "";
        if (s.Length == 0) { why = "it is empty"; return false; }
        if (s.Any(char.IsWhiteSpace)) { why = "it contains white space"; return false; }

        long epoch = 0;
        var rest = s;
        var colon = s.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            var e = s[..colon];
            if (e.Length == 0 || !e.All(char.IsAsciiDigit) || !long.TryParse(e, out epoch))
            {
                why = "the epoch before ':' is not a number";
                return false;
            }
            rest = s[(colon + 1)..];
        }
        var dash = rest.LastIndexOf('-');
        var upstream = dash >= 0 ? rest[..dash] : rest;
        var revision = dash >= 0 ? rest[(dash + 1)..] : "";
        if (upstream.Length == 0) { why = "the upstream part is empty"; return false; }
        if (dash >= 0 && revision.Length == 0) { why = "the revision after '-' is empty"; return false; }
        // dpkg only warns about a leading non-digit or odd characters in old packages; resolving must not fail on them.
        version = new DebianVersion(s, epoch, upstream, revision);
        why = "";
        return true;
    }

    public int CompareTo(DebianVersion? other)
    {
        if (other is null) return 1;
        if (Epoch != other.Epoch) return Epoch.CompareTo(other.Epoch);
        var c = CompareFragment(Upstream, other.Upstream);
        return c != 0 ? c : CompareFragment(Revision, other.Revision);
    }

    public bool Equals(DebianVersion? other) => other is not null && CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is DebianVersion v && Equals(v);

    /// <summary>Hashes the canonical form, so that versions dpkg calls equal hash alike.</summary>
    public override int GetHashCode() => HashCode.Combine(Epoch, Canonical(Upstream), Canonical(Revision));

    public static bool operator ==(DebianVersion? a, DebianVersion? b) => a is null ? b is null : a.Equals(b);
    public static bool operator !=(DebianVersion? a, DebianVersion? b) => !(a == b);
    public static bool operator <(DebianVersion a, DebianVersion b) => a.CompareTo(b) < 0;
    public static bool operator >(DebianVersion a, DebianVersion b) => a.CompareTo(b) > 0;
    public static bool operator <=(DebianVersion a, DebianVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(DebianVersion a, DebianVersion b) => a.CompareTo(b) >= 0;

    /// <summary>dpkg's verrevcmp: alternating non-digit and digit runs.</summary>
    internal static int CompareFragment(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            while ((i < a.Length && !char.IsAsciiDigit(a[i])) || (j < b.Length && !char.IsAsciiDigit(b[j])))
            {
                var ac = Order(a, i);
                var bc = Order(b, j);
                if (ac != bc) return ac.CompareTo(bc);
                i++;
                j++;
            }
            while (i < a.Length && a[i] == '0') i++;
            while (j < b.Length && b[j] == '0') j++;
            var firstDiff = 0;
            while (i < a.Length && j < b.Length && char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
            {
                if (firstDiff == 0) firstDiff = a[i] - b[j];
                i++;
                j++;
            }
            // A longer run of digits (leading zeros gone) is the bigger number, whatever its first digits.
            if (i < a.Length && char.IsAsciiDigit(a[i])) return 1;
            if (j < b.Length && char.IsAsciiDigit(b[j])) return -1;
            if (firstDiff != 0) return Math.Sign(firstDiff);
        }
        return 0;
    }

    private static int Order(string s, int i)
    {
        if (i >= s.Length) return 0;
        var c = s[i];
        if (char.IsAsciiDigit(c)) return 0;
        if (char.IsAsciiLetter(c)) return c;
        if (c == '~') return -1;
        return c + 256;
    }

    /// <summary>
    /// A form in which versions that compare equal are identical: digit runs lose leading zeros, and a
    /// zero run vanishes (verrevcmp treats a missing run as 0, so "1a" equals "1a0").
    /// </summary>
    private static string Canonical(string fragment)
    {
        var sb = new StringBuilder(fragment.Length);
        var i = 0;
        while (i < fragment.Length)
        {
            if (!char.IsAsciiDigit(fragment[i])) { sb.Append(fragment[i++]); continue; }
            var start = i;
            while (i < fragment.Length && char.IsAsciiDigit(fragment[i])) i++;
            sb.Append(fragment.AsSpan(start, i - start).TrimStart('0'));
        }
        return sb.ToString();
    }
}
