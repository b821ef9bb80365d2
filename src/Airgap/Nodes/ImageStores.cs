using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Nodes;
using Airgap.Bundles;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Airgap.Nodes;

/// <summary>Where a node's runtime keeps images: the bundle's images go in, and it says which are there.</summary>
public interface IImageStore
{
    /// <summary>True when the runtime answers.</summary>
    Task<bool> AnswersAsync(CancellationToken ct);

    /// <summary>
    /// The bundle's images not named in <paramref name="present"/>, through the tarball end
    /// (<see cref="Oci.OciArchive"/>): read in place, checked, streamed in. Returns how many went in.
    /// </summary>
    Task<int> ImportAsync(Bundles.BundleSet bundle, IReadOnlySet<string> present, CancellationToken ct);

    /// <summary>The image names (as the bundle names them) the runtime holds.</summary>
    Task<IReadOnlySet<string>> NamesAsync(CancellationToken ct);
}

/// <summary>
/// Which of a bundle's images an import still has to bring. A runtime names an image only once all its
/// content is in (ctr and docker load both write content first, the name last), so an import cut by a
/// kill leaves whole images named and the rest unnamed: the next run sends just those.
/// </summary>
public static class ImageImport
{
    public static IReadOnlyList<Oci.NamedImage> Missing(IReadOnlyList<Oci.NamedImage> images, IReadOnlySet<string> present) =>
        images.Where(i => !present.Contains(i.Name.ToString())).ToList();
}

/// <summary>containerd's k8s.io namespace, the one the kubelet's CRI uses, through ctr.</summary>
public sealed class ContainerdImageStore(IHost host) : IImageStore
{
    public async Task<bool> AnswersAsync(CancellationToken ct) =>
        (await host.RunAsync(new CommandSpec("ctr", "version") { Timeout = TimeSpan.FromSeconds(10) }, ct).ConfigureAwait(false)).ExitCode == 0;

    public async Task<int> ImportAsync(Bundles.BundleSet bundle, IReadOnlySet<string> present, CancellationToken ct)
    {
        // Opened first, so a damaged bundle is named before ctr starts; then the archive streams into
        // ctr's stdin straight out of the bundle: no copy on disk beside it.
        using var source = await Oci.BundleImageSource.OpenAsync(bundle, ct).ConfigureAwait(false);
        var platform = Oci.Platform.Linux(source.Document.Arch);
        var missing = ImageImport.Missing(source.Images, present);
        if (missing.Count == 0) return 0;
        await host.RunCheckedAsync(new CommandSpec("ctr", "-n", "k8s.io", "images", "import", "-")
        {
            Timeout = TimeSpan.FromMinutes(20),
            StdinFrom = (stdin, token) => Oci.OciArchive.WriteAsync(source, missing, platform, stdin, token),
        }, ct).ConfigureAwait(false);
        return missing.Count;
    }

    public async Task<IReadOnlySet<string>> NamesAsync(CancellationToken ct)
    {
        var list = await host.RunCheckedAsync(new CommandSpec("ctr", "-n", "k8s.io", "images", "ls", "-q"), ct).ConfigureAwait(false);
        return list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
    }
}

/// <summary>
/// A Docker engine (the dockershim runtime of Kubernetes before 1.24), through its API. The bundle's
/// images/ subtree is a valid `docker load` archive (manifest.json beside the OCI layout), so it
/// streams from the bundle into the engine with no copy on disk.
/// </summary>
public sealed class DockerImageStore(Uri endpoint) : IImageStore, IDisposable
{
    public static readonly Uri DefaultEndpoint = new("unix:///var/run/docker.sock");

    private readonly DockerClient client = new DockerClientConfiguration(endpoint, defaultTimeout: TimeSpan.FromMinutes(30)).CreateClient();

    public Uri Endpoint { get; } = endpoint;

    /// <summary>The engine at DOCKER_HOST, as the docker CLI would use it, or the default socket.</summary>
    public static DockerImageStore ForNode() =>
        new(Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } configured ? new Uri(configured) : DefaultEndpoint);

    public async Task<string?> VersionAsync(CancellationToken ct)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            return (await client.System.GetVersionAsync(timeout.Token).ConfigureAwait(false)).Version;
        }
        catch (Exception e) when (e is HttpRequestException or DockerApiException or IOException or TimeoutException or
                                       System.Net.Sockets.SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    public async Task<bool> AnswersAsync(CancellationToken ct) => await VersionAsync(ct).ConfigureAwait(false) is not null;

    public async Task<int> ImportAsync(Bundles.BundleSet bundle, IReadOnlySet<string> present, CancellationToken ct)
    {
        using var source = await Oci.BundleImageSource.OpenAsync(bundle, ct).ConfigureAwait(false);
        var platform = Oci.Platform.Linux(source.Document.Arch);
        var missing = ImageImport.Missing(source.Images, present);
        if (missing.Count == 0) return 0;
        // Bounded pipe: the bundle is read only as fast as the engine takes it.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 4 << 20, resumeWriterThreshold: 2 << 20));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var writer = Task.Run(async () =>
        {
            try
            {
                await using var output = pipe.Writer.AsStream();
                await Oci.OciArchive.WriteAsync(source, missing, platform, output, stop.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                throw;
            }
        }, stop.Token);
        var messages = new LoadMessages();
        try
        {
            await using var input = pipe.Reader.AsStream();
            await client.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, input, messages, stop.Token).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            throw new AirgapException($"the Docker engine at {Endpoint} refused the bundle's images ({e.StatusCode}: {FirstLine(e.ResponseBody)}); check `docker info`");
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            // The writer's own error (a damaged bundle) explains more than a broken pipe does.
            if (writer.IsFaulted && writer.Exception?.InnerException is AirgapException cause) throw cause;
            throw new AirgapException($"loading the bundle's images into the Docker engine at {Endpoint} failed: {FirstLine(e.Message)}");
        }
        await writer.ConfigureAwait(false);
        if (messages.Error is { } error)
            throw new AirgapException($"the Docker engine at {Endpoint} could not load the bundle's images: {error}");
        return missing.Count;
    }

    public async Task<IReadOnlySet<string>> NamesAsync(CancellationToken ct)
    {
        var images = await client.Images.ListImagesAsync(new ImagesListParameters { All = true }, ct).ConfigureAwait(false);
        // The engine shows Docker Hub images by their short name (busybox:1.36); the bundle names them fully.
        return images.SelectMany(i => i.RepoTags ?? []).SelectMany(t => new[] { t, Oci.ImageReference.Parse(t).ToString() })
            .ToHashSet(StringComparer.Ordinal);
    }

    public void Dispose() => client.Dispose();

    private static string FirstLine(string? text) => (text ?? "").Split('\n')[0].Trim();

    /// <summary>Collects the engine's answers synchronously (Progress&lt;T&gt; would post them after the call returned).</summary>
    private sealed class LoadMessages : IProgress<JSONMessage>
    {
        public string? Error { get; private set; }

        public void Report(JSONMessage value)
        {
            var error = value.Error?.Message ?? value.ErrorMessage;
            if (!string.IsNullOrWhiteSpace(error)) Error ??= error.Trim();
        }
    }
}

/// <summary>/etc/docker/daemon.json for a kubelet: the cgroup driver the kubelet uses, other settings kept.</summary>
public static class DockerDaemonConfig
{
    public const string DefaultPath = "/etc/docker/daemon.json";

    /// <summary>The CRI socket kubeadm and the kubelet use for Docker before 1.24 (the kubelet's built-in dockershim).</summary>
    public const string DockershimSocket = "unix:///var/run/dockershim.sock";

    public static string Render(string? existing, CgroupDriver driver, bool restrictOomScoreAdj)
    {
        JsonObject root;
        try
        {
            root = string.IsNullOrWhiteSpace(existing) ? new JsonObject() : JsonNode.Parse(existing) as JsonObject
                ?? throw new AirgapException($"{DefaultPath} is not a JSON object; fix or remove it, then run airgap install again");
        }
        catch (JsonException e)
        {
            throw new AirgapException($"{DefaultPath} is not valid JSON ({e.Message.Split('\n')[0]}); fix or remove it, then run airgap install again");
        }
        var options = (root["exec-opts"] as JsonArray ?? [])
            .Select(n => n?.GetValue<string>())
            .Where(o => o is not null && !o.StartsWith("native.cgroupdriver=", StringComparison.Ordinal))
            .Append($"native.cgroupdriver={driver.ToConfigValue()}")
            .Select(o => (JsonNode?)JsonValue.Create(o))
            .ToArray();
        root["exec-opts"] = new JsonArray(options);
        // dockerd lowers its own OOM score to -500 by default, which needs CAP_SYS_RESOURCE.
        if (restrictOomScoreAdj) root["oom-score-adjust"] = 0;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
