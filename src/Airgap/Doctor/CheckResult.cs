using Airgap.Nodes;

namespace Airgap.Doctor;

public enum CheckStatus { Ok, Warn, Fail, Skip }

/// <summary>
/// What one check found on one node: the cause in <see cref="Message"/> (one line, the thing an
/// operator would search for), what it was read from in <see cref="Evidence"/> (the config line, the
/// log line, the pod), the command that repairs it by hand in <see cref="Fix"/>, and the repair
/// `airgap doctor --fix` applies in <see cref="Repair"/> when one is safe.
/// </summary>
public sealed record CheckResult(string Check, CheckStatus Status, string Message)
{
    public string Node { get; init; } = "";
    public IReadOnlyList<string> Evidence { get; init; } = [];
    public string? Fix { get; init; }
    public IReadOnlyList<FixStep> Repair { get; init; } = [];

    public bool Repairable => Repair.Count > 0;

    public static CheckResult Ok(string check, string message) => new(check, CheckStatus.Ok, message);
    public static CheckResult Skip(string check, string message) => new(check, CheckStatus.Skip, message);
    public static CheckResult Warn(string check, string message) => new(check, CheckStatus.Warn, message);
    public static CheckResult Fail(string check, string message) => new(check, CheckStatus.Fail, message);

    public CheckResult WithEvidence(params IEnumerable<string?> lines) =>
        this with { Evidence = [.. Evidence, .. lines.Where(l => !string.IsNullOrWhiteSpace(l)).Select(l => l!.Trim())] };
}

/// <summary>
/// One thing that goes wrong on Kubernetes nodes, diagnosed from the node itself. Checks are small
/// objects like the install phases, so each is tested alone on recorded evidence, and the same
/// object runs locally and over SSH (everything goes through <see cref="DoctorContext.Host"/>).
/// </summary>
public interface IDoctorCheck
{
    /// <summary>Lowercase name, as printed and as -o json has it.</summary>
    string Name { get; }

    /// <summary>What it looks at, for --help.</summary>
    string Description { get; }

    Task<CheckResult> RunAsync(DoctorContext context, CancellationToken ct);
}

/// <summary>A repair that runs several steps as one, with one line for the plan.</summary>
public sealed record CompositeFixStep(string Description, IReadOnlyList<FixStep> Steps) : FixStep
{
    public override string Text => Description;

    public override async Task ApplyAsync(IHost host, CancellationToken ct)
    {
        foreach (var step in Steps) await step.ApplyAsync(host, ct).ConfigureAwait(false);
    }
}

/// <summary>A config file rewritten with one setting changed; the plan shows the change, not the whole file.</summary>
public sealed record EditFixStep(string Path, string Change, string Content, UnixFileMode Mode) : FixStep
{
    public override string Text => $"edit {Path}: {Change}";

    public override Task ApplyAsync(IHost host, CancellationToken ct) => host.WriteTextAsync(Path, Content, Mode, ct);
}
