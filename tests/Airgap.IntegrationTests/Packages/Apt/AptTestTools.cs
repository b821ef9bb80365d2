using Airgap.TestKit;

namespace Airgap.IntegrationTests.Packages.Apt;

/// <summary>Runs the Debian tools the apt tests build and check with, installing them first when absent.</summary>
internal static class AptTestTools
{
    private static readonly SemaphoreSlim AptLock = new(1, 1);

    /// <summary>Installs the Debian packages whose marker file is missing (make deps normally has).</summary>
    public static async Task EnsureInstalledAsync(CancellationToken ct, params (string Package, string File)[] tools)
    {
        var missing = tools.Where(t => !File.Exists(t.File)).Select(t => t.Package).Distinct().ToList();
        if (missing.Count == 0) return;
        await AptLock.WaitAsync(ct);
        try
        {
            missing = tools.Where(t => !File.Exists(t.File)).Select(t => t.Package).Distinct().ToList();
            if (missing.Count == 0) return;
            await RunAsync(["apt-get", "update", "-qq"], ct);
            await RunAsync(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "--no-install-recommends", .. missing], ct);
        }
        finally
        {
            AptLock.Release();
        }
    }

    /// <summary>Runs a command (argv[0] looked up on PATH) and returns stdout; throws with both outputs if it fails.</summary>
    public static async Task<string> RunAsync(string[] argv, CancellationToken ct, string? workingDirectory = null)
    {
        var result = await ProcessRunner.RunAsync(argv[0], argv[1..], ct, workingDirectory: workingDirectory);
        if (!result.Succeeded)
            throw new InvalidOperationException($"{string.Join(' ', argv)} failed with exit {result.ExitCode}:\n{result.Stdout}\n{result.Stderr}");
        return result.Stdout;
    }

    public static Task<string> ShAsync(string script, CancellationToken ct, string? workingDirectory = null) =>
        RunAsync(["/bin/sh", "-ec", script], ct, workingDirectory);
}
