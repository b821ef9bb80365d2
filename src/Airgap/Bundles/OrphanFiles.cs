namespace Airgap.Bundles;

/// <summary>
/// Temporary files named after the process that writes them (a bundle's .NAME.PID.partial, the cache's
/// HEX.PID.GUID): what a killed build leaves. Removed once that process is gone; a live one's stay.
/// </summary>
internal static class OrphanFiles
{
    /// <summary>Linux's view: a live process has /proc/PID (a reused PID keeps a file, which is the safe mistake).</summary>
    public static bool ProcessAlive(int pid) => pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}");

    /// <summary>Deletes each file whose owner <paramref name="ownerOf"/> names (null: not such a file) is dead; returns the bytes freed.</summary>
    public static long Remove(IEnumerable<string> files, Func<string, string?> ownerOf)
    {
        long freed = 0;
        foreach (var file in files)
        {
            if (!int.TryParse(ownerOf(Path.GetFileName(file)), out var pid) || ProcessAlive(pid)) continue;
            try
            {
                var size = new FileInfo(file).Length;
                File.Delete(file);
                freed += size;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return freed;
    }
}
