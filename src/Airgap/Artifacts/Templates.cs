namespace Airgap.Artifacts;

/// <summary>Files from manifests/ that are embedded in the assembly and copied into bundles.</summary>
public static class Templates
{
    public static byte[] Read(string logicalName)
    {
        using var stream = typeof(Templates).Assembly.GetManifestResourceStream(logicalName)
            ?? throw new InvalidOperationException($"embedded template {logicalName} is missing from the build");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    /// <summary>The kubelet unit and kubeadm drop-in for the binary install path, by bundle path.</summary>
    public static IReadOnlyList<(string BundlePath, byte[] Content)> Systemd() =>
    [
        ("manifests/systemd/kubelet.service", Read("systemd/kubelet.service")),
        ("manifests/systemd/10-kubeadm.conf", Read("systemd/10-kubeadm.conf")),
    ];
}
