using System.Runtime.InteropServices;

namespace Airgap.Cli;

/// <summary>Finds the self-contained airgap binaries a bundle carries as bin/airgap.</summary>
internal static class Installers
{
    public static IReadOnlyDictionary<string, string> Find(string? directory, IReadOnlyList<string> arches)
    {
        var self = Environment.ProcessPath;
        directory ??= Path.GetDirectoryName(self) ?? ".";
        if (!Directory.Exists(directory)) throw new AirgapException($"--installer-dir {directory} does not exist");
        var found = new Dictionary<string, string>();
        foreach (var arch in arches)
        {
            var candidate = Path.Combine(directory, $"airgap-linux-{arch}");
            if (File.Exists(candidate)) found[arch] = candidate;
            else if (self is not null && IsSelfContainedFor(self, arch)) found[arch] = self;
        }
        return found;
    }

    /// <summary>A single-file publish has no airgap.dll beside it; a development build does.</summary>
    private static bool IsSelfContainedFor(string self, string arch)
    {
        var current = RuntimeInformation.ProcessArchitecture switch { Architecture.X64 => "amd64", Architecture.Arm64 => "arm64", _ => "" };
        return current == arch && !File.Exists(Path.Combine(Path.GetDirectoryName(self)!, "airgap.dll"));
    }
}
