using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Airgap.Oci;

/// <summary>
/// The open upload of each blob a chunked push was sending, kept on disk (one small file per
/// registry, repository and digest) so a push killed halfway — Ctrl-C, a dropped SSH session, a power
/// cut — continues that blob from the registry's last chunk on the next run instead of from zero.
/// Registries drop abandoned uploads after a while (distribution purges them after a week), so an
/// entry is only a hint: the registry is asked how far it got, and a session it no longer knows is
/// forgotten and the blob sent again.
/// </summary>
public sealed class UploadSessions
{
    /// <summary>Older than distribution's default purge age: not worth asking about.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(7);

    private readonly string directory;

    public UploadSessions(string directory)
    {
        this.directory = directory;
        Directory.CreateDirectory(directory);
        // HEX.json.PID.tmp: a save killed between write and rename.
        Bundles.OrphanFiles.Remove(Directory.EnumerateFiles(directory, "*.tmp"), name => name.Split('.') is [_, "json", var pid, "tmp"] ? pid : null);
    }

    /// <summary>Under the blob cache (~/.cache/airgap/uploads), beside the partial downloads.</summary>
    public static UploadSessions Default() => For(BlobCache.DefaultRoot());

    public static UploadSessions For(string cacheRoot) => new(Path.Combine(cacheRoot, "uploads"));

    public Uri? Find(ImageReference repository, Digest digest)
    {
        var path = PathOf(repository, digest);
        try
        {
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(path) > MaxAge)
            {
                File.Delete(path);
                return null;
            }
            var saved = JsonSerializer.Deserialize<Saved>(File.ReadAllText(path));
            // The key is a hash: check the entry really is this blob's, not a collision or a hand-edited file.
            return saved is not null && saved.Blob == Key(repository, digest) && Uri.TryCreate(saved.Location, UriKind.Absolute, out var location) ? location : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Written to a private name and renamed, so a kill mid-write leaves the old entry or the new one, never half of one.</summary>
    public void Save(ImageReference repository, Digest digest, Uri location)
    {
        var path = PathOf(repository, digest);
        var tmp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(new Saved(Key(repository, digest), location.ToString())));
        // The location carries the registry's upload state (and Harbor's signed _state): owner-only.
        File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(tmp, path, overwrite: true);
    }

    public void Forget(ImageReference repository, Digest digest) => File.Delete(PathOf(repository, digest));

    /// <summary>How many uploads are waiting to be continued (for `airgap cache`).</summary>
    public int Count => Directory.EnumerateFiles(directory, "*.json").Count();

    /// <summary>Forgets every remembered upload (the registry purges its side on its own); returns how many.</summary>
    public int Clear()
    {
        var files = Directory.EnumerateFiles(directory, "*.json").ToList();
        foreach (var file in files) File.Delete(file);
        return files.Count;
    }

    private static string Key(ImageReference repository, Digest digest) => $"{repository.ApiHost}/{repository.Repository}@{digest}";

    private string PathOf(ImageReference repository, Digest digest) =>
        Path.Combine(directory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key(repository, digest))))[..32] + ".json");

    private sealed record Saved(string Blob, string Location);
}
