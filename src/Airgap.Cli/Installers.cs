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

    /// <summary>
    /// Only a single-file publish is a program a node can run alone. A framework-dependent run
    /// (`dotnet airgap.dll`, `dotnet run`) has the dotnet host as its process, which dies on the node
    /// as "cannot execute dotnet when renamed to airgap"; a single-file app's assemblies have no
    /// location on disk, which is how .NET itself tells the two apart.
    /// </summary>
    private static bool IsSelfContainedFor(string self, string arch)
    {
        var current = RuntimeInformation.ProcessArchitecture switch { Architecture.X64 => "amd64", Architecture.Arm64 => "arm64", _ => "" };
        return current == arch && IsSingleFile && Path.GetFileNameWithoutExtension(self) != "dotnet";
    }

#pragma warning disable IL3000 // Location is read precisely to learn whether this is a single-file app.
    private static bool IsSingleFile => string.IsNullOrEmpty(typeof(Installers).Assembly.Location);
#pragma warning restore IL3000
}
