using System.CommandLine;
using Airgap.Nodes;
using Airgap.Nodes.Phases;

namespace Airgap.Cli;

internal static class ResetCommand
{
    public static Command Create()
    {
        var command = new Command("reset", PhaseHelp.Describe(
            "Undo airgap install on this node: kubeadm reset, the files airgap wrote, and airgap's journal (packages stay installed and held).",
            NodeWorkflows.Reset, usage: null));
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            if (Environment.UserName != "root") throw new AirgapException("airgap reset changes the node: run it as root");
            var progress = new LineProgress(Console.Error);
            await new NodeReset(new LocalHost(), progress).ResetAsync(ct);
            Console.WriteLine("node reset: run airgap install again to rebuild it");
            return 0;
        }));
        return command;
    }
}
