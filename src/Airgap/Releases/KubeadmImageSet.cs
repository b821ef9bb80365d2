namespace Airgap.Releases;

/// <summary>
/// One image kubeadm needs. <see cref="Path"/> is where it lives under kubeadm's default registry;
/// <see cref="FlatName"/> is what kubeadm asks for under any other --image-repository. They differ
/// only for CoreDNS from 1.21 on ("coredns/coredns" upstream, "coredns" in a mirror).
/// </summary>
public sealed record KubeadmImage(string Path, string FlatName, string Tag);

/// <summary>What <c>kubeadm config images list --kubernetes-version V</c> prints, in its order.</summary>
public sealed record KubeadmImageSet(KubernetesVersion Version, string DefaultRegistry, IReadOnlyList<KubeadmImage> Images)
{
    /// <summary>The name kubeadm expects inside the cluster, e.g. k8s.gcr.io/kube-apiserver:v1.20.2.</summary>
    public string Canonical(KubeadmImage image) => $"{DefaultRegistry}/{image.Path}:{image.Tag}";

    /// <summary>
    /// The name kubeadm prints with --image-repository R. kubeadm keeps the nested CoreDNS path when
    /// R is its own default registry, so that case equals <see cref="Canonical"/>.
    /// </summary>
    public string From(string imageRepository, KubeadmImage image)
    {
        var repository = imageRepository.TrimEnd('/');
        var name = repository == DefaultRegistry ? image.Path : image.FlatName;
        return $"{repository}/{name}:{image.Tag}";
    }

    public IReadOnlyList<string> CanonicalNames() => Images.Select(Canonical).ToList();
}
