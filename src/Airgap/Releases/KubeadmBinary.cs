using System.Diagnostics;

namespace Airgap.Releases;

/// <summary>
/// A kubeadm executable asked about the images of a release. kubeadm is the authority on that list:
/// the built-in table only stands in for it when no kubeadm of the right version is at hand.
/// </summary>
public sealed class KubeadmBinary
{
    public string ExecutablePath { get; }

    public KubeadmBinary(string executablePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(executablePath);
        ExecutablePath = executablePath;
    }

    /// <summary>The first executable "kubeadm" on PATH (or on <paramref name="searchPath"/>), or null.</summary>
    public static KubeadmBinary? FindOnPath(string? searchPath = null)
    {
        searchPath ??= Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in searchPath.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, OperatingSystem.IsWindows() ? "kubeadm.exe" : "kubeadm");
            if (IsExecutableFile(candidate)) return new KubeadmBinary(candidate);
        }
        return null;
    }

    /// <summary>
    /// Runs <c>kubeadm version -o short</c>. Null when it ran but printed no version, which is what
    /// something that is not kubeadm tends to do.
    /// </summary>
    public async Task<KubernetesVersion?> GetVersionAsync(CancellationToken ct = default)
    {
        var lines = await RunAsync(["version", "-o", "short"], ct).ConfigureAwait(false);
        return lines.Count > 0 && KubernetesVersion.TryParse(lines[^1], out var version) ? version : null;
    }

    /// <summary>Runs <c>kubeadm config images list --kubernetes-version V [--image-repository R]</c>; one image per line.</summary>
    public Task<IReadOnlyList<string>> ListImagesAsync(KubernetesVersion version, string? imageRepository, CancellationToken ct = default)
    {
        var args = new List<string> { "config", "images", "list", "--kubernetes-version", version.ToString() };
        if (imageRepository is not null) args.AddRange(["--image-repository", imageRepository]);
        return RunAsync(args, ct);
    }

    private async Task<IReadOnlyList<string>> RunAsync(IReadOnlyList<string> args, CancellationToken ct)
    {
        var command = string.Join(' ', [ExecutablePath, .. args]);
        var start = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new KubeadmException($"could not run \"{command}\": {e.Message}", e);
        }
        process.StandardInput.Close();

        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
            await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // A kubeadm left running would outlive the cancelled build.
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw;
        }

        if (process.ExitCode != 0)
        {
            var last = Lines(stderr.Result).LastOrDefault() ?? "(nothing on stderr)";
            throw new KubeadmException($"\"{command}\" exited with code {process.ExitCode}: {last}");
        }
        return Lines(stdout.Result);
    }

    private static List<string> Lines(string text) =>
        text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();

    private static bool IsExecutableFile(string path)
    {
        if (!File.Exists(path)) return false;
        if (OperatingSystem.IsWindows()) return true;
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }
}

/// <summary>A kubeadm run failed or answered something airgap cannot use.</summary>
public sealed class KubeadmException : AirgapException
{
    public KubeadmException(string message) : base(message) { }
    public KubeadmException(string message, Exception inner) : base(message, inner) { }
}
