using Airgap.Oci;

namespace Airgap.Tests.Oci;

public sealed class UploadSessionsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("airgap-uploads-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static readonly ImageReference Repo = ImageReference.Parse("harbor.site/k8s/kube-apiserver:v1.20.2");
    private static readonly Digest Blob = Digest.Of("layer"u8.ToArray());

    [Fact]
    public void An_upload_is_remembered_per_registry_repository_and_blob_until_forgotten()
    {
        var sessions = new UploadSessions(dir);
        var location = new Uri("https://harbor.site/v2/k8s/kube-apiserver/blobs/uploads/5e1c?_state=abc");
        sessions.Save(Repo, Blob, location);

        Assert.Equal(location, new UploadSessions(dir).Find(Repo, Blob));
        Assert.Null(sessions.Find(ImageReference.Parse("harbor.site/k8s/etcd:3.4.13-0"), Blob));
        Assert.Null(sessions.Find(Repo, Digest.Of("other"u8.ToArray())));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Directory.GetFiles(dir, "*.json").Single()));

        sessions.Forget(Repo, Blob);
        Assert.Null(sessions.Find(Repo, Blob));
        sessions.Forget(Repo, Blob);
    }

    [Fact]
    public void A_session_older_than_registries_keep_uploads_is_dropped_and_a_dead_save_s_leftover_swept()
    {
        var sessions = new UploadSessions(dir);
        sessions.Save(Repo, Blob, new Uri("https://harbor.site/v2/x/blobs/uploads/1"));
        var file = Directory.GetFiles(dir, "*.json").Single();
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow - UploadSessions.MaxAge - TimeSpan.FromHours(1));
        Assert.Null(sessions.Find(Repo, Blob));
        Assert.False(File.Exists(file));

        // A save killed between write and rename, by a process that is gone (pid 2^22 + 1 is beyond pid_max).
        var leftover = Path.Combine(dir, $"{new string('a', 32)}.json.4194305.tmp");
        File.WriteAllText(leftover, "{");
        _ = new UploadSessions(dir);
        Assert.False(File.Exists(leftover));
    }
}
