using System.CommandLine;
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

    /// <summary>
    /// A workflow's verb with a `phase NAME` subcommand per phase (`airgap install phase preflight`), as
    /// kubeadm's are made: the same flags on each, read by a fresh flag set so each command owns its options.
    /// </summary>
    public static Command WithPhases<TFlags>(string verb, string summary, NodeWorkflow<IInstallPhase> workflow,
                                             Func<Command, bool, TFlags> flags, Func<TFlags, ParseResult, string?, CancellationToken, Task<int>> run)
    {
        var command = new Command(verb, Describe(summary, workflow, Selectable(verb)));
        var all = flags(command, true);
        command.SetAction((result, ct) => AirgapCli.Guard(() => run(all, result, null, ct)));
        var phase = new Command("phase", $"Run one {verb} phase on its own (its prerequisites are checked; it is journaled), as kubeadm's phases do ({verb switch { "install" => "kubeadm init phase", "join" => "kubeadm join phase", _ => "kubeadm upgrade node phase" }}).");
        foreach (var p in workflow.Phases)
        {
            var sub = new Command(p.Name, p.Description);
            var one = flags(sub, false);
            sub.SetAction((result, ct) => AirgapCli.Guard(() => run(one, result, p.Name, ct)));
            phase.Subcommands.Add(sub);
        }
        command.Subcommands.Add(phase);
        return command;
    }
}
