namespace Airgap.IntegrationTests.Clusters;

/// <summary>Keeps what a component reports, for assertions.</summary>
public sealed class RecordingProgress : IProgressSink
{
    private readonly List<string> lines = [];
    private readonly List<string> warnings = [];

    public IReadOnlyList<string> Lines { get { lock (lines) return lines.ToArray(); } }
    public IReadOnlyList<string> Warnings { get { lock (warnings) return warnings.ToArray(); } }

    public void Info(string line) { lock (lines) lines.Add(line); }
    public void Warn(string line) { lock (warnings) warnings.Add(line); }
    public void TransferStarted(string id, string label, long size) { }
    public void TransferAdvanced(string id, long bytes) { }
    public void TransferFinished(string id, bool fromCache) { }
}
