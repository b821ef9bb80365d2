using System.CommandLine;
using Airgap.Bundles;

namespace Airgap.Cli;

internal static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print airgap's version.");
        command.SetAction(_ => Console.WriteLine("airgap " + BundleBuilder.ToolVersion));
        return command;
    }
}
