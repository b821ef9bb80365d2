using Airgap.TestKit;

namespace Airgap.IntegrationTests;

/// <summary>Runs the real airgap executable the way an operator does, with a private cache and no docker config.</summary>
public sealed class AirgapCli
{
    public static string Executable { get; } = FindExecutable();

    public required string Cache { get; init; }
    public string DockerConfig { get; init; } = Directory.CreateTempSubdirectory("airgap-dockercfg-").FullName;

    public async Task<ProcessResult> RunAsync(params string[] args)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        return await ProcessRunner.RunAsync("/usr/bin/env",
            new[] { "CI=1", $"AIRGAP_CACHE={Cache}", $"DOCKER_CONFIG={DockerConfig}", Executable }.Concat(args), cts.Token);
    }

    private static string FindExecutable()
    {
        // The tests run from tests/Airgap.IntegrationTests/bin/<Configuration>/net10.0/.
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = baseDir.Parent!.Name;
        var dir = baseDir;
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Airgap.sln"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
        var exe = Path.Combine(dir.FullName, "src", "Airgap.Cli", "bin", configuration, "net10.0", "airgap");
        if (!File.Exists(exe)) throw new InvalidOperationException($"{exe} is missing; build the solution first");
        return exe;
    }
}

/// <summary>A temporary directory removed at the end of a test.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("airgap-test-").FullName;

    public string Sub(string name)
    {
        var p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(p);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
