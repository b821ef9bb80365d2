using System.Text;

namespace Airgap.Packages.Apt;

/// <summary>
/// One paragraph of a Debian control file (a Packages entry, a Release file): "Field: value" lines,
/// continuation lines starting with a space or tab. Field names compare case-insensitively, as deb822 says.
/// Only the paragraph's text is kept and fields are found by scanning it: a distribution's index has
/// ~60,000 paragraphs of ~25 fields, of which a handful are ever read.
/// </summary>
public sealed class ControlStanza
{
    private ControlStanza(string text) => Text = text;

    /// <summary>The paragraph's lines joined with '\n', no trailing newline.</summary>
    public string Text { get; }

    /// <summary>
    /// A field's value (the first, if a broken file repeats it): a single-line value trimmed; a multi-line
    /// value keeps its continuation lines ('\n'-joined, leading white space of each removed) after the first line.
    /// </summary>
    public string? this[string field]
    {
        get
        {
            var text = Text.AsSpan();
            var at = 0;
            while (at < text.Length)
            {
                var line = NextLine(text, ref at);
                if (line.Length <= field.Length || line[field.Length] != ':' || IsContinuation(line[0])
                    || !line[..field.Length].Equals(field, StringComparison.OrdinalIgnoreCase))
                    continue;
                var first = line[(field.Length + 1)..].Trim();
                var next = at;
                if (next >= text.Length || !IsContinuation(text[next])) return first.ToString();
                var sb = new StringBuilder().Append(first);
                while (at < text.Length && IsContinuation(text[at]))
                    sb.Append('\n').Append(NextLine(text, ref at).TrimStart());
                return sb.ToString();
            }
            return null;
        }
    }

    public bool Has(string field) => this[field] is not null;

    /// <summary>Several single-line fields in one pass over the text (multi-line values keep only their first line).</summary>
    internal string?[] FirstLines(params string[] fields)
    {
        var values = new string?[fields.Length];
        var text = Text.AsSpan();
        var at = 0;
        while (at < text.Length)
        {
            var line = NextLine(text, ref at);
            if (line.Length == 0 || IsContinuation(line[0])) continue;
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var name = line[..colon];
            for (var i = 0; i < fields.Length; i++)
            {
                if (values[i] is null && name.Equals(fields[i], StringComparison.OrdinalIgnoreCase))
                {
                    values[i] = line[(colon + 1)..].Trim().ToString();
                    break;
                }
            }
        }
        return values;
    }

    /// <summary>The stanza text with one field's value replaced (or appended when absent).</summary>
    public string WithField(string field, string value)
    {
        var sb = new StringBuilder(Text.Length + value.Length);
        var replaced = false;
        var skipping = false;
        foreach (var line in Lines())
        {
            if (skipping && line.Length > 0 && IsContinuation(line[0])) continue;
            skipping = false;
            var colon = line.IndexOf(':');
            if (colon > 0 && !IsContinuation(line[0]) && line[..colon].Equals(field, StringComparison.OrdinalIgnoreCase))
            {
                if (!replaced) sb.Append(line[..colon]).Append(": ").Append(value).Append('\n');
                replaced = true;
                skipping = true;
                continue;
            }
            sb.Append(line).Append('\n');
        }
        if (!replaced) sb.Append(field).Append(": ").Append(value).Append('\n');
        return sb.ToString(0, sb.Length - 1);
    }

    /// <summary>Reads every paragraph; blank lines separate them, '#' comment lines are skipped.</summary>
    public static IEnumerable<ControlStanza> ReadAll(TextReader reader, string source)
    {
        var text = new StringBuilder();
        var lineNumber = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
            if (string.IsNullOrWhiteSpace(line))
            {
                if (text.Length > 0) yield return new ControlStanza(text.ToString(0, text.Length - 1));
                text.Clear();
                continue;
            }
            if (line[0] == '#') continue;
            if (IsContinuation(line[0]))
            {
                if (text.Length == 0)
                    throw new AirgapException($"{source}: a continuation line before any field at line {lineNumber}; the index is damaged");
            }
            else if (line.IndexOf(':', StringComparison.Ordinal) <= 0)
            {
                throw new AirgapException($"{source}: \"{Truncate(line)}\" is not a \"Field: value\" line (line {lineNumber}); the index is damaged");
            }
            text.Append(line).Append('\n');
        }
        if (text.Length > 0) yield return new ControlStanza(text.ToString(0, text.Length - 1));
    }

    public static IReadOnlyList<ControlStanza> ParseAll(string text, string source)
    {
        using var reader = new StringReader(text);
        return ReadAll(reader, source).ToList();
    }

    private IEnumerable<string> Lines() => Text.Split('\n');

    private static bool IsContinuation(char c) => c is ' ' or '\t';

    private static ReadOnlySpan<char> NextLine(ReadOnlySpan<char> text, ref int at)
    {
        var rest = text[at..];
        var end = rest.IndexOf('\n');
        if (end < 0)
        {
            at = text.Length;
            return rest;
        }
        at += end + 1;
        return rest[..end];
    }

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "…";
}
