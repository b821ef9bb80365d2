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

    public const string KubeletUnit = "manifests/systemd/kubelet.service";
    public const string KubeadmDropIn = "manifests/systemd/10-kubeadm.conf";
    public const string ContainerdUnit = "manifests/systemd/containerd.service";

    /// <summary>The kubelet unit, kubeadm drop-in and containerd unit for the binary install path, by bundle path.</summary>
    public static IReadOnlyList<(string BundlePath, byte[] Content)> Systemd() =>
    [
        (KubeletUnit, Read("systemd/kubelet.service")),
        (KubeadmDropIn, Read("systemd/10-kubeadm.conf")),
        (ContainerdUnit, Read("systemd/containerd.service")),
    ];
}
