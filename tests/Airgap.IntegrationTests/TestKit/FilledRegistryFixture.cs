using Airgap.TestKit;

namespace Airgap.IntegrationTests.TestKit;

/// <summary>One registry filled with the v1.20.2 set, shared by the read-only sanity tests of a class.</summary>
public sealed class FilledRegistryFixture : IAsyncLifetime
{
    private RegistryServer? _registry;
    private KubernetesImageSet? _set;

    public RegistryServer Registry => _registry ?? throw new InvalidOperationException("not started");

    public KubernetesImageSet Set => _set ?? throw new InvalidOperationException("not filled");

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _registry = await RegistryServer.StartAsync(cancellationToken: cts.Token);
        _set = await SampleImages.PushKubernetesSetAsync(_registry, cancellationToken: cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }
}
