using System.Text;

namespace Airgap.TestKit;

public enum LayerEntryKind
{
    File,
    Directory,
    Symlink,
}

/// <summary>One member of a layer tar, described in memory.</summary>
public sealed record LayerEntry(string Path, LayerEntryKind Kind, UnixFileMode Mode, byte[] Content, string? LinkTarget = null)
{
    public const UnixFileMode Regular = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public const UnixFileMode Executable = Regular | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    public static LayerEntry File(string path, byte[] content, UnixFileMode mode = Regular) => new(path, LayerEntryKind.File, mode, content);

    public static LayerEntry File(string path, string text, UnixFileMode mode = Regular) => File(path, Encoding.UTF8.GetBytes(text), mode);

    public static LayerEntry Directory(string path, UnixFileMode mode = Executable) => new(path, LayerEntryKind.Directory, mode, []);

    public static LayerEntry Symlink(string path, string target) => new(path, LayerEntryKind.Symlink, Executable, [], target);

    /// <summary>The tar member name: relative, no leading "./" or "/", directories end with '/'.</summary>
    internal string TarName
    {
        get
        {
            var p = Path.Replace('\\', '/');
            while (p.StartsWith("./", StringComparison.Ordinal))
            {
                p = p[2..];
            }
            p = p.TrimStart('/').TrimEnd('/');
            return Kind == LayerEntryKind.Directory ? p + "/" : p;
        }
    }
}
