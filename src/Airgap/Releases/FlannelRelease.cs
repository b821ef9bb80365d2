using System.Diagnostics.CodeAnalysis;

namespace Airgap.Releases;

/// <summary>
/// A Flannel release and its kube-flannel.yml: where to download it and the SHA-256 it must have.
/// The manifest is the one in Flannel's repository at the release tag, because those bytes can be
/// hashed from the tag itself; the release asset of the same name is built separately and can differ.
/// </summary>
public sealed record FlannelRelease(string Version, string ManifestUrl, string ManifestSha256)
{
    private sealed record ManifestHash(string Version, string Sha256);

    // sha256 of Documentation/kube-flannel.yml at each release tag of github.com/flannel-io/flannel,
    // computed from the tagged blob (git show TAG:Documentation/kube-flannel.yml | sha256sum).
    // v0.12.0 is the first whose manifest uses apps/v1 DaemonSets, which Kubernetes 1.16+ requires.
    private static readonly ManifestHash[] Hashes =
    [
        new("v0.12.0", "c5b33d9bdf5b9bdb1eb8aca3d565748694077ed23770008a79b3c248a34f2432"),
        new("v0.13.0", "526baa6f631ce5cb452117f49207350db60612dfcce9e475fe5f94075e98fd4b"),
        new("v0.14.0", "adffe27e66ce9e39af59f313711bee5ea88ce161683da7a089a7301093736646"),
        new("v0.14.1", "adffe27e66ce9e39af59f313711bee5ea88ce161683da7a089a7301093736646"),
        new("v0.15.0", "91c4bdfb6b6c47297b34237fe95d920a6dff2f9140887f1b5e8462f3a10222a9"),
        new("v0.15.1", "dc3511bc75e10d0bdabf79dae4c4b6f6be145eaad6252b83ab4b5fc09188e4da"),
        new("v0.16.0", "dc3511bc75e10d0bdabf79dae4c4b6f6be145eaad6252b83ab4b5fc09188e4da"),
        new("v0.16.1", "dc3511bc75e10d0bdabf79dae4c4b6f6be145eaad6252b83ab4b5fc09188e4da"),
        new("v0.16.2", "c9c860d678d5b4734e393f4f18e6125dea9c308751eba803c4062092055f80e2"),
        new("v0.16.3", "c9c860d678d5b4734e393f4f18e6125dea9c308751eba803c4062092055f80e2"),
        new("v0.17.0", "d7771eba73d0d29a73e05efba89487f3f17de2ebbd9bc2ee76a242350216368a"),
        new("v0.18.0", "3e318f5ebc084207cfa133061c1c5ddf9769ca3a9a3083df5a12cac37f49459b"),
        new("v0.18.1", "366f892efa2ffc3f0b8e5cfa538e61b1e0079734bbcea2937f65142cd6a7ee06"),
        new("v0.19.0", "cc4d04f840b52d8f96a4cc3f141c250dfcc53cb1e355a873df57b320049632a8"),
        new("v0.19.1", "3b343b28723ea6ec924940e70d9b423e4e9e827bfc64a90bfb8e74cc428ee10f"),
        new("v0.19.2", "8e107b3b2b4a69c40d51bacc91fb7071913e85e128e6457878603c55e8c23587"),
        new("v0.20.0", "47fa627884a79316699cbcb6dea462b9808e86c68d52b32f96a33daad54959f1"),
        new("v0.20.1", "37fb5055c4a3ffd29f952e2d9dd9dfcf6ee1b254c3957710713a6fd66e51af4a"),
        new("v0.20.2", "f6ef2b47f01ce900f156d7acf728b983b6e12c0c52e4fbbc33687ef95e28e25b"),
        new("v0.21.0", "9f7d080c36c6f98444b30b92bfa9beabb12b2f7aa7c38de6bf6da5dee1f496b7"),
        new("v0.21.1", "9f7d080c36c6f98444b30b92bfa9beabb12b2f7aa7c38de6bf6da5dee1f496b7"),
        new("v0.21.2", "9f7d080c36c6f98444b30b92bfa9beabb12b2f7aa7c38de6bf6da5dee1f496b7"),
        new("v0.21.3", "0ace1572b8469eb46d12398773eed51d65d476b02a644a9c123429f6aa51cd2b"),
        new("v0.21.4", "9d04b270563773414778c5c7111fe8ae97076ab8513e713a90f87c620d802aa5"),
        new("v0.21.5", "d54c4d85c39cea3d4ec5fe9f066c3308c5ded96289df9c9935062e8cd1bdbc23"),
        new("v0.22.0", "6583e9607befbf3c46cd04eb6fd960c2a446453b83699d95904bace95f49c410"),
        new("v0.22.1", "b2aae05d9ae120082b5b1e12a6df8a8648c6e7b7d27f74578ad24f2d82a6382e"),
        new("v0.22.2", "f08c2e2c58b2415aa9ad8762f0cc6998804093010981e9a303242fb5c52b0390"),
        new("v0.22.3", "925b9ce96545f1bf2be71008a53de140360913eceb160d25b0a53fdd6d64ad1a"),
        new("v0.23.0", "925b9ce96545f1bf2be71008a53de140360913eceb160d25b0a53fdd6d64ad1a"),
        new("v0.24.0", "7d1b3805534638fb0ce3b166e53d2076e08b5e200d6fa8ee1203b064392f9bc2"),
        new("v0.24.1", "e5a84c4c552f4e7ac9c4a38bc1f32efa36af2396d12c589ee982c364fb94e996"),
        new("v0.24.2", "3e2092cb8990a5978c1ca3de48b7638ab45462c1b1665ecd05e436cc140dd2e0"),
        new("v0.24.3", "209b908ef3bc92e48da1c39fa9eaeeef78e48c788bbc643f143474dff00a08b3"),
        new("v0.24.4", "940d7e47f82a1c9057607eb862f8bacdc6090e54fd3c66286eeb8d62b159f0aa"),
        new("v0.25.0", "7cf96094d7821a45a08962221bd96ae7b836f9f193799d743c46247e78bc4fa5"),
        new("v0.25.1", "51cf28d53b85683d7c28290fa12bc3ecdbd82bbaf866df5e482251f5a748755b"),
        new("v0.25.2", "98c66bc96a262c6c7109da098800a514e3668162ce16f2c91b098b9ebfaf20ea"),
        new("v0.25.3", "510d33f962374f210585ed5273a3ad8ef130ce2b65486ec91ddde845ae679fd1"),
        new("v0.25.4", "ad8823eae58492c2bebfcad2a706e09a618ad1c2a83bef5015128b2de7bde273"),
        new("v0.25.5", "075ed7aa638d99d43e99eac7e274085b0f84f73ee43fb0404fdf6fbff443f825"),
        new("v0.25.6", "e6e1a291dad04625de6aee5ab4352a9652f376d02b5bce39c357892ec10dd1e5"),
        new("v0.25.7", "1f9d894f4cf6d3ff78b991341de02fefe64bfa88575bafc2a967eaeaa252a596"),
        new("v0.26.0", "d354ce28dd509b68aa8900652ec095c6825fa943e2dee20cea6358da0d3287bf"),
        new("v0.26.1", "7bc4fc42328f5a0d53b3f9a80bccaa618ec984b1e08539f5ebf66a950184fe42"),
        new("v0.26.2", "8dc9145865eac5ba710b6cc4be52518195548a8122ea56a4a7ee25d83a812a6f"),
        new("v0.26.3", "8dc9145865eac5ba710b6cc4be52518195548a8122ea56a4a7ee25d83a812a6f"),
        new("v0.26.4", "57e0d4adc3d4aa6842d98ff94bab4e2a66eb4e3a22046e5ca2d80783fda04903"),
        new("v0.26.5", "57e0d4adc3d4aa6842d98ff94bab4e2a66eb4e3a22046e5ca2d80783fda04903"),
        new("v0.26.6", "8b624fd8750ed0a94fd4adcc0379ef67fb1695d8bdf5d44483771fd4c81a1eb4"),
        new("v0.26.7", "d3f539ef073032bdbd2d32900719400e0050a8ae1d00a9fef75d9d0f079c7d54"),
        new("v0.27.0", "c5d2031c3bbf568480bb2baed8a4f051983417b56384b2bc6e3679abca4d9906"),
        new("v0.27.1", "e6a5d44e4a678a6e4247f9488995953f132b2d4c326f24fd32c927ac8af80dcd"),
        new("v0.27.2", "58fd1389c036893e7bb6dc6eb68c6c460d39953429b625cd7b5fad434d6fca80"),
        new("v0.27.3", "2797f01352f60d8ba3f176c80566a416cd2a67bca0730e088828638c0343c07a"),
        new("v0.27.4", "2242ee218f3c3e724e4efe5f31826a3e38cfdabf334de41aee2b12b48fd4818d"),
        new("v0.28.0", "2242ee218f3c3e724e4efe5f31826a3e38cfdabf334de41aee2b12b48fd4818d"),
        new("v0.28.1", "71746e943864ef4b9fa318ae46ae25b45095db9960a857f168e7b21561cecf16"),
        new("v0.28.2", "d833bdd130f016315fa52bd974aa5b69a08b39cf545fc63ef33dfdca1fa3726d"),
        new("v0.28.3", "baeb439f494c3329dc84d9f4fbd3a7b7cafb41e664e2bc0a80127b0348ab7012"),
        new("v0.28.4", "0bd380eb4954227c903bdea96dc9254650badd2d45ebe31978a47c3ffe2e9727"),
        new("v0.28.5", "8731070bca4303bbe7f7a0c7fbcab8d5fc6fb16a3f61629cbecea7bf6caab7ca"),
        new("v0.28.6", "36fdefbb805355c32a7b0f683ceb47e5085fa1b2b8c51e04ac8b981321e2c1cd"),
        new("v0.28.7", "9b886d8bf6c8f095d9dee07745c048f514a8800aa394968999d13d46cd0df8f6"),
        new("v0.28.8", "d5ec6500c8050667ef5e6c4dc59b750075db8cf32f45b12961349208c5f326da"),
        new("v0.28.9", "e875824be2f552b45711dbda91af81b17eb961d00025d914d9fef18fad8f09c0"),
    ];

    // The default per Kubernetes minor: the Flannel release current when that minor shipped. Where that
    // tag's manifest still deployed an older Flannel image (v0.17.0 -> v0.16.3, v0.19.1 -> v0.19.0,
    // v0.23.0 -> v0.22.3), the nearest release whose manifest deploys its own version instead, so the
    // version airgap reports is the version that runs.
    private static readonly (int Minor, string Flannel)[] Defaults =
    [
        (18, "v0.12.0"), (19, "v0.12.0"), (20, "v0.13.0"), (21, "v0.13.0"), (22, "v0.14.0"),
        (23, "v0.15.1"), (24, "v0.18.0"), (25, "v0.19.2"), (26, "v0.20.2"), (27, "v0.21.4"),
        (28, "v0.22.1"), (29, "v0.24.0"), (30, "v0.25.1"), (31, "v0.25.5"), (32, "v0.26.1"),
    ];

    /// <summary>Every release airgap has a manifest hash for, oldest first.</summary>
    public static IReadOnlyList<FlannelRelease> Known { get; } =
        Hashes.Select(h => new FlannelRelease(h.Version, ManifestUrlFor(h.Version), h.Sha256)).ToList();

    /// <summary>Where kube-flannel.yml of any Flannel tag can be downloaded (its hash is known only for <see cref="Known"/>).</summary>
    public static string ManifestUrlFor(string version) =>
        $"https://raw.githubusercontent.com/flannel-io/flannel/{Normalize(version)}/Documentation/kube-flannel.yml";

    public static bool TryGet(string version, [NotNullWhen(true)] out FlannelRelease? release)
    {
        var normalized = Normalize(version);
        release = Known.FirstOrDefault(r => r.Version == normalized);
        return release is not null;
    }

    public static FlannelRelease Get(string version) =>
        TryGet(version, out var release)
            ? release
            : throw new AirgapException(
                $"Flannel {Normalize(version)} is not one airgap knows the manifest hash of ({Known[0].Version}–{Known[^1].Version}); " +
                "pass --flannel-manifest URL with --flannel-manifest-sha256, or a local file");

    /// <summary>The Flannel release airgap uses for a Kubernetes version when none is asked for.</summary>
    public static FlannelRelease DefaultFor(KubernetesVersion kubernetes)
    {
        foreach (var (minor, flannel) in Defaults)
            if (kubernetes.Major == 1 && kubernetes.Minor == minor) return Get(flannel);
        throw new AirgapException(
            $"airgap has no default Flannel for Kubernetes {kubernetes} (it has one for 1.{Defaults[0].Minor}–1.{Defaults[^1].Minor}); " +
            "pick one with --cni flannel:VERSION");
    }

    private static string Normalize(string version)
    {
        var trimmed = version.Trim();
        return trimmed.StartsWith('v') ? trimmed : "v" + trimmed;
    }
}
