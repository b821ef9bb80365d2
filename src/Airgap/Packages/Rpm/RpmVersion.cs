using System.Globalization;

namespace Airgap.Packages.Rpm;

/// <summary>
/// An rpm epoch:version-release, ordered exactly as rpm orders them (rpmvercmp on each part), so the
/// package chosen here is the one yum/dnf would call newest. A null <see cref="Release"/> means "any
/// release": rpm compares only epoch and version when either side lacks one (a bare "kubelet >= 1.13").
/// </summary>
public sealed record RpmVersion(long Epoch, string Version, string? Release) : IComparable<RpmVersion>
{
    /// <summary>Parses "[epoch:]version[-release]"; the release is what follows the last '-'.</summary>
    public static RpmVersion Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        long epoch = 0;
        var rest = text.Trim();
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            if (!long.TryParse(rest.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out epoch))
                throw new AirgapException($"rpm version '{text}' has an epoch that is not a number");
            rest = rest[(colon + 1)..];
        }
        var dash = rest.LastIndexOf('-');
        return dash > 0
            ? new RpmVersion(epoch, rest[..dash], rest[(dash + 1)..])
            : new RpmVersion(epoch, rest, null);
    }

    /// <summary>From primary.xml's epoch/ver/rel attributes, where an absent or empty epoch means 0.</summary>
    public static RpmVersion FromParts(string? epoch, string version, string? release) =>
        new(string.IsNullOrEmpty(epoch) ? 0 : long.Parse(epoch, NumberStyles.None, CultureInfo.InvariantCulture),
            version, string.IsNullOrEmpty(release) ? null : release);

    public int CompareTo(RpmVersion? other)
    {
        if (other is null) return 1;
        var c = Epoch.CompareTo(other.Epoch);
        if (c != 0) return c;
        c = Compare(Version, other.Version);
        if (c != 0 || Release is null || other.Release is null) return c;
        return Compare(Release, other.Release);
    }

    /// <summary>"1.20.2-0", with "E:" in front only when the epoch is not 0 (how rpm -q prints it).</summary>
    public override string ToString() =>
        (Epoch != 0 ? Epoch.ToString(CultureInfo.InvariantCulture) + ":" : "") + Version + (Release is null ? "" : "-" + Release);

    /// <summary>
    /// rpmvercmp from rpm's lib/rpmvercmp.c, segment by segment: separators are anything not an ASCII
    /// letter or digit; '~' sorts before everything (even the end), '^' after the end but before
    /// anything else; digit runs compare as numbers (any length), and a digit run beats a letter run.
    /// </summary>
    public static int Compare(string a, string b)
    {
        if (string.Equals(a, b, StringComparison.Ordinal)) return 0;
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            while (i < a.Length && !IsAlnum(a[i]) && a[i] is not ('~' or '^')) i++;
            while (j < b.Length && !IsAlnum(b[j]) && b[j] is not ('~' or '^')) j++;
            var ca = i < a.Length ? a[i] : '\0';
            var cb = j < b.Length ? b[j] : '\0';

            if (ca == '~' || cb == '~')
            {
                if (ca != '~') return 1;
                if (cb != '~') return -1;
                i++;
                j++;
                continue;
            }

            if (ca == '^' || cb == '^')
            {
                if (ca == '\0') return -1;
                if (cb == '\0') return 1;
                if (ca != '^') return 1;
                if (cb != '^') return -1;
                i++;
                j++;
                continue;
            }

            if (ca == '\0' || cb == '\0') break;

            int ei = i, ej = j;
            bool numeric = char.IsAsciiDigit(ca);
            if (numeric)
            {
                while (ei < a.Length && char.IsAsciiDigit(a[ei])) ei++;
                while (ej < b.Length && char.IsAsciiDigit(b[ej])) ej++;
            }
            else
            {
                while (ei < a.Length && char.IsAsciiLetter(a[ei])) ei++;
                while (ej < b.Length && char.IsAsciiLetter(b[ej])) ej++;
            }

            // The other side has a segment of the other kind here: numbers are newer than letters.
            if (ej == j) return numeric ? 1 : -1;

            var sa = a.AsSpan(i, ei - i);
            var sb = b.AsSpan(j, ej - j);
            if (numeric)
            {
                sa = sa.TrimStart('0');
                sb = sb.TrimStart('0');
                if (sa.Length != sb.Length) return sa.Length > sb.Length ? 1 : -1;
            }
            var rc = sa.SequenceCompareTo(sb);
            if (rc != 0) return rc < 0 ? -1 : 1;
            i = ei;
            j = ej;
        }
        if (i >= a.Length && j >= b.Length) return 0;
        return i >= a.Length ? -1 : 1;
    }

    private static bool IsAlnum(char c) => char.IsAsciiLetterOrDigit(c);

    public static bool operator <(RpmVersion a, RpmVersion b) => a.CompareTo(b) < 0;
    public static bool operator >(RpmVersion a, RpmVersion b) => a.CompareTo(b) > 0;
    public static bool operator <=(RpmVersion a, RpmVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(RpmVersion a, RpmVersion b) => a.CompareTo(b) >= 0;
}
