namespace Airgap;

/// <summary>
/// What long-running work reports. The CLI turns it into a live display on a terminal and plain
/// lines elsewhere; the library never writes to the console itself.
/// </summary>
public interface IProgressSink
{
    void Info(string line);
    void Warn(string line);
    void TransferStarted(string id, string label, long size);
    void TransferAdvanced(string id, long bytes);
    void TransferFinished(string id, bool fromCache);
}

public sealed class NullProgress : IProgressSink
{
    public static NullProgress Instance { get; } = new();
    public void Info(string line) { }
    public void Warn(string line) { }
    public void TransferStarted(string id, string label, long size) { }
    public void TransferAdvanced(string id, long bytes) { }
    public void TransferFinished(string id, bool fromCache) { }
}
