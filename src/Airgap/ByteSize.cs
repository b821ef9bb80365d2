using System.Globalization;

namespace Airgap;

/// <summary>Sizes as operators write them on a command line: 65536, 64K, 8M, 4G (binary units; a trailing B or iB is allowed).</summary>
public static class ByteSize
{
    public static long Parse(string option, string text)
    {
        var t = text.Trim().ToUpperInvariant();
        if (t.EndsWith("IB", StringComparison.Ordinal)) t = t[..^2];
        else if (t.EndsWith('B')) t = t[..^1];
        var shift = t.Length > 0 ? t[^1] switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 } : 0;
        if (shift > 0) t = t[..^1];
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0 || n > long.MaxValue >> shift)
            throw new AirgapException($"{option} {text} is not a size; write it as bytes or with K, M or G (e.g. 8M)");
        return n << shift;
    }
}
