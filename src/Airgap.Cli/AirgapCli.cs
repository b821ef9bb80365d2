using System.CommandLine;
using System.CommandLine.Parsing;
using Airgap.Bundles;

namespace Airgap.Cli;

/// <summary>The verb tree. Each verb parses its flags, calls the library and prints; nothing else lives here.</summary>
internal static class AirgapCli
{
    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("airgap: build an offline Kubernetes bundle on a connected host, install it on isolated ones.")
        {
            ImagesCommand.Create(),
            BuildCommand.Create(),
            VerifyCommand.Create(),
            SplitCommand.Create(),
            PushCommand.Create(),
            ServeCommand.Create(),
            CacheCommand.Create(),
            InspectCommand.Create(),
            InstallCommand.Create(),
            JoinCommand.Create(),
            UpgradeCommand.Create(),
            ResetCommand.Create(),
            DoctorCommand.Create(),
            ClusterCommand.Create(),
            KeyCommand.Create(),
            ApiServerProxyCommand.Create(),
            VersionCommand.Create(),
        };
        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            var command = VerbPath(result);
            // An unknown word says more than the "required command" it causes (airgap join phase cni).
            var error = result.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? result.Errors[0];
            Console.Error.WriteLine($"error: {error.Message} (see airgap {command}{(command.Length > 0 ? " " : "")}--help)");
            return 2;
        }
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        try
        {
            return await result.InvokeAsync(cancellationToken: cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Console.Error.WriteLine("error: interrupted; nothing half-written was kept");
            return 130;
        }
    }

    /// <summary>"images list" for the verb the parse reached, "" for the root.</summary>
    private static string VerbPath(ParseResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result.CommandResult; r is CommandResult cr && cr.Command is not RootCommand; r = r.Parent)
            names.Insert(0, cr.Command.Name);
        return string.Join(' ', names);
    }

    /// <summary>Runs a verb body and turns operator-facing failures into one line and exit code 1.</summary>
    public static async Task<int> Guard(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (AirgapException e)
        {
            Console.Error.WriteLine("error: " + OneLine(e.Message));
            // The cause behind the one line, for a bug report.
            if (Environment.GetEnvironmentVariable("AIRGAP_DEBUG") == "1") Console.Error.WriteLine(e);
            return 1;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine("error: " + OneLine(e.Message.Split(" (Parameter")[0]));
            return 1;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine("error: " + OneLine(e.Message));
            return 1;
        }
        catch (UnauthorizedAccessException e)
        {
            Console.Error.WriteLine("error: " + OneLine(e.Message) + " (run as a user allowed to write there)");
            return 1;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Still one line: a stack trace helps nobody at 3 a.m.; AIRGAP_DEBUG=1 shows it.
            Console.Error.WriteLine($"error: unexpected {e.GetType().Name}: {OneLine(e.Message)} (please report it; AIRGAP_DEBUG=1 prints the stack)");
            if (Environment.GetEnvironmentVariable("AIRGAP_DEBUG") == "1") Console.Error.WriteLine(e);
            return 1;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    public static Option<OutputFormat> FormatOption(bool withLongName = true)
    {
        var option = withLongName
            ? new Option<OutputFormat>("--output", "-o")
            : new Option<OutputFormat>("--output-format", "-o");
        option.Description = "text (default) or json, for scripts";
        option.DefaultValueFactory = _ => OutputFormat.Text;
        return option;
    }
}
