using Airgap.Nodes.Phases;

namespace Airgap.Cli;

/// <summary>--help text for a workflow's verb, listed from the phase objects themselves so it cannot drift from what runs.</summary>
internal static class PhaseHelp
{
    /// <param name="usage">how to run or skip one, or null where the verb always runs them all</param>
    public static string Describe<TPhase>(string summary, NodeWorkflow<TPhase> workflow, string? usage) where TPhase : IPhase
    {
        var width = workflow.Names.Max(n => n.Length);
        var lines = workflow.Phases.Select(p => $"  {p.Name.PadRight(width)}  {p.Description}");
        return $"{summary}\n\nPhases, in order{(usage is null ? "" : $" ({usage})")}:\n{string.Join('\n', lines)}";
    }

    public static string Selectable(string verb) => $"airgap {verb} phase NAME runs one; --skip-phases a,b skips some";
}
