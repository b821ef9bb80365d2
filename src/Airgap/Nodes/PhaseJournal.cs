using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airgap.Nodes;

public enum PhaseState { Started, Done, Failed }

/// <summary>
/// One phase's last run. <see cref="Fingerprint"/> identifies what the phase was run with (the
/// bundle's bundle.yaml sha256, plus the settings that shape the phase), so a change in input
/// makes a finished phase run again instead of being skipped.
/// </summary>
public sealed record PhaseEntry(string Phase, PhaseState State, string Fingerprint, DateTimeOffset StartedAt)
{
    public DateTimeOffset? FinishedAt { get; init; }
    public string? Error { get; init; }
}

/// <summary>
/// What the install has done on a node, kept on the node (via its <see cref="IHost"/>) so a re-run
/// after a failure continues where it stopped and a finished phase is checked, not redone.
/// Saved after every change with an atomic write, so a crash leaves the previous state, never half
/// of one. Not thread-safe: one install runs its phases one at a time.
/// </summary>
public sealed class PhaseJournal
{
    public const string DefaultPath = "/var/lib/airgap/journal.json";
    private const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly IHost host;
    private readonly TimeProvider clock;
    private readonly List<PhaseEntry> entries;

    private PhaseJournal(IHost host, string path, TimeProvider clock, List<PhaseEntry> entries)
    {
        this.host = host;
        Path = path;
        this.clock = clock;
        this.entries = entries;
    }

    public string Path { get; }

    public IReadOnlyList<PhaseEntry> Entries => entries.ToArray();

    /// <summary>Reads the journal at <paramref name="path"/>, or starts an empty one when there is none.</summary>
    public static async Task<PhaseJournal> LoadAsync(IHost host, CancellationToken ct, string path = DefaultPath, TimeProvider? clock = null)
    {
        var bytes = await host.ReadFileAsync(path, ct).ConfigureAwait(false);
        var entries = new List<PhaseEntry>();
        if (bytes is not null)
        {
            JournalFile? file;
            try
            {
                file = JsonSerializer.Deserialize<JournalFile>(bytes, Json);
            }
            catch (JsonException e)
            {
                throw new AirgapException($"{host.Name}: the install journal {path} is damaged ({e.Message}); run airgap reset, or delete it to start over", e);
            }
            if (file is null || file.Version != FormatVersion)
                throw new AirgapException($"{host.Name}: the install journal {path} is format {file?.Version}, this airgap reads {FormatVersion}; use the airgap that wrote it or run airgap reset");
            entries.AddRange(file.Phases);
        }
        return new PhaseJournal(host, path, clock ?? TimeProvider.System, entries);
    }

    public PhaseEntry? Get(string phase) => entries.FirstOrDefault(e => e.Phase == phase);

    /// <summary>True when the phase finished with exactly this input.</summary>
    public bool IsDone(string phase, string fingerprint) =>
        Get(phase) is { State: PhaseState.Done } entry && entry.Fingerprint == fingerprint;

    public Task StartAsync(string phase, string fingerprint, CancellationToken ct) =>
        SaveAsync(new PhaseEntry(phase, PhaseState.Started, fingerprint, clock.GetUtcNow()), ct);

    public Task DoneAsync(string phase, CancellationToken ct)
    {
        var entry = Started(phase);
        return SaveAsync(entry with { State = PhaseState.Done, FinishedAt = clock.GetUtcNow(), Error = null }, ct);
    }

    /// <summary>Records the failure; the message is redacted, as journals get attached to bug reports.</summary>
    public Task FailAsync(string phase, string error, CancellationToken ct)
    {
        var entry = Started(phase);
        return SaveAsync(entry with { State = PhaseState.Failed, FinishedAt = clock.GetUtcNow(), Error = Redactor.Redact(error) }, ct);
    }

    /// <summary>Forgets everything (airgap reset).</summary>
    public async Task ClearAsync(CancellationToken ct)
    {
        entries.Clear();
        await host.DeleteFileAsync(Path, ct).ConfigureAwait(false);
    }

    /// <summary>A fingerprint over several inputs (bundle digest, settings), order-sensitive and unambiguous.</summary>
    public static string Fingerprint(params IEnumerable<string> parts)
    {
        var text = new StringBuilder();
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        foreach (var part in parts) text.Append(part.Length).Append(':').Append(part).Append('\n');
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private PhaseEntry Started(string phase) =>
        Get(phase) ?? throw new InvalidOperationException($"phase {phase} was never started in {Path}");

    private async Task SaveAsync(PhaseEntry entry, CancellationToken ct)
    {
        var index = entries.FindIndex(e => e.Phase == entry.Phase);
        if (index >= 0) entries[index] = entry; else entries.Add(entry);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new JournalFile(FormatVersion, entries), Json);
        await host.WriteFileAsync(Path, [.. bytes, (byte)'\n'], HostExtensions.Mode0600, ct).ConfigureAwait(false);
    }

    private sealed record JournalFile(int Version, IReadOnlyList<PhaseEntry> Phases);
}
