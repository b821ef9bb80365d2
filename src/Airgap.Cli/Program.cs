using System.CommandLine;
using Airgap.Cli;

return await AirgapCli.RunAsync(args);
