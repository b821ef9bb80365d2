using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Airgap.TestKit;

/// <summary>
/// Command line for demos and benchmarks: starts lab servers outside a test run and keeps them up
/// until SIGTERM/SIGINT, then removes everything it created.
/// </summary>
public static class Program
{
    private const string Usage = """
        usage:
          airgap-testkit registry [--fill k8s-v1.20.2] [--extra-layer-mb N] [--arches amd64,arm64] [--auth user:pass] [--env-file PATH]
              Starts docker-registry on a free loopback port; --fill pushes the kubeadm v1.20.2 image set
              (google_containers/...) and coreos/flannel:v0.13.0, with N MiB of incompressible data per
              image and arch. Writes REGISTRY, IMAGE_REPOSITORY, FLANNEL_MANIFEST, UNIQUE_BLOB_BYTES...
              to the env file (or stdout), prints "ready", runs until SIGTERM/Ctrl-C. --arches: the platforms
              filled (default amd64,arm64).
          airgap-testkit containerd [--env-file PATH]
              Starts a private containerd (its own root, state and socket); writes CONTAINERD_ADDRESS, which ctr
              reads, so `CONTAINERD_ADDRESS=… airgap install phase images` imports into it.
          airgap-testkit http --root DIR [--env-file PATH]
              Serves DIR over HTTP (GET/HEAD/Range) on a free loopback port; writes HTTP_BASE.
          airgap-testkit shape --target HOST:PORT[,HOST:PORT...] [--request-delay-ms N] [--connect-delay-ms N]
                               [--per-connection-mb-s X] [--total-mb-s X] [--tcp true] [--env-file PATH]
              A shaping proxy on a free loopback port per target: N ms before each HTTP request is passed on,
              N ms per new connection (default: the request delay), caps in MB/s (10^6 bytes) per connection
              and in total, shared by all targets (one link), each direction on its own. --tcp true forwards
              raw bytes (SSH). Writes PROXY (first target's) and PROXIES (all, in order).
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.Error.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            var options = ParseOptions(args.Skip(1).ToArray());
            return args[0] switch
            {
                "registry" => await RegistryAsync(options).ConfigureAwait(false),
                "http" => await HttpAsync(options).ConfigureAwait(false),
                "shape" => await ShapeAsync(options).ConfigureAwait(false),
                "containerd" => await ContainerdAsync(options).ConfigureAwait(false),
                _ => Fail($"unknown command '{args[0]}'"),
            };
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message);
        }
        catch (OperationCanceledException)
        {
            // Stopped while still starting or filling; the servers were already cleaned up by their disposers.
            Console.Error.WriteLine("stopped");
            return 130;
        }
    }

    private static async Task<int> RegistryAsync(Dictionary<string, string> options)
    {
        var fill = options.GetValueOrDefault("fill");
        if (fill is not null and not "k8s-v1.20.2")
        {
            return Fail($"unknown fill set '{fill}' (known: k8s-v1.20.2)");
        }
        var extraMb = options.TryGetValue("extra-layer-mb", out var mb) ? long.Parse(mb, CultureInfo.InvariantCulture) : 0;
        var credentials = options.TryGetValue("auth", out var auth) ? RegistryCredentials.Parse(auth) : null;

        using var stop = new StopSignal();
        await using var registry = await RegistryServer.StartAsync(new RegistryOptions { Credentials = credentials }, stop.Token)
            .ConfigureAwait(false);
        var env = new List<(string, string)>
        {
            ("REGISTRY", registry.Host),
            ("IMAGE_REPOSITORY", $"{registry.Host}/google_containers"),
            ("REGISTRY_STORAGE", registry.StorageRoot),
        };
        if (credentials is not null)
        {
            env.Add(("REGISTRY_USER", credentials.Username));
            env.Add(("REGISTRY_PASSWORD", credentials.Password));
        }
        if (fill is not null)
        {
            var started = DateTime.UtcNow;
            var arches = options.TryGetValue("arches", out var a) ? a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;
            var set = await SampleImages.PushKubernetesSetAsync(registry, arches: arches, extraLayerBytes: extraMb * 1024 * 1024,
                cancellationToken: stop.Token).ConfigureAwait(false);
            // The demo maps quay.io to this registry with a mirror flag, so the manifest names the upstream image.
            var flannelManifest = Path.Combine(registry.WorkDirectory, "kube-flannel.yml");
            await File.WriteAllTextAsync(flannelManifest, SampleImages.FlannelLikeManifest($"quay.io/{set.Flannel.Reference}"), stop.Token)
                .ConfigureAwait(false);
            env.Add(("FLANNEL_MANIFEST", flannelManifest));
            env.Add(("FLANNEL_IMAGE", $"quay.io/{set.Flannel.Reference}"));
            env.Add(("UNIQUE_BLOB_BYTES", set.UniqueBlobBytes.ToString(CultureInfo.InvariantCulture)));
            env.Add(("UNIQUE_BLOB_BYTES_AMD64", set.BlobsFor("amd64").Values.Sum().ToString(CultureInfo.InvariantCulture)));
            Console.Error.WriteLine(
                $"pushed {set.All.Count()} images, {set.UniqueBlobs.Count} blobs, {set.UniqueBlobBytes} bytes in {(DateTime.UtcNow - started).TotalSeconds:0.0}s");
        }
        await WriteEnvAsync(options.GetValueOrDefault("env-file"), env, stop.Token).ConfigureAwait(false);
        return await ServeUntilStoppedAsync(stop).ConfigureAwait(false);
    }

    private static async Task<int> HttpAsync(Dictionary<string, string> options)
    {
        var root = options.GetValueOrDefault("root") ?? throw new ArgumentException("--root DIR is required");
        using var stop = new StopSignal();
        await using var server = StaticHttpServer.Start(root);
        await WriteEnvAsync(options.GetValueOrDefault("env-file"), [("HTTP_BASE", server.BaseUri.ToString().TrimEnd('/'))], stop.Token)
            .ConfigureAwait(false);
        return await ServeUntilStoppedAsync(stop).ConfigureAwait(false);
    }

    private static async Task<int> ContainerdAsync(Dictionary<string, string> options)
    {
        using var stop = new StopSignal();
        await using var containerd = await ContainerdServer.StartAsync(stop.Token).ConfigureAwait(false);
        await WriteEnvAsync(options.GetValueOrDefault("env-file"), [("CONTAINERD_ADDRESS", containerd.Address)], stop.Token).ConfigureAwait(false);
        return await ServeUntilStoppedAsync(stop).ConfigureAwait(false);
    }

    private static async Task<int> ShapeAsync(Dictionary<string, string> options)
    {
        var targets = (options.GetValueOrDefault("target") ?? throw new ArgumentException("--target HOST:PORT is required"))
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        double Number(string name) => options.TryGetValue(name, out var v)
            ? double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture) is var d && d >= 0 ? d : throw new ArgumentException($"--{name} must be 0 or more")
            : 0;
        var requestDelay = TimeSpan.FromMilliseconds(Number("request-delay-ms"));
        var shaping = new ShapingOptions
        {
            RequestDelay = requestDelay,
            ConnectDelay = options.ContainsKey("connect-delay-ms") ? TimeSpan.FromMilliseconds(Number("connect-delay-ms")) : requestDelay,
            PerConnectionBytesPerSecond = (long)(Number("per-connection-mb-s") * 1e6),
            TotalBytesPerSecond = (long)(Number("total-mb-s") * 1e6),
            Http = options.GetValueOrDefault("tcp") is not ("true" or "1"),
        };
        var link = shaping.TotalBytesPerSecond > 0 ? new ShapedLink(shaping.TotalBytesPerSecond) : null;
        using var stop = new StopSignal();
        var proxies = targets.Select(t => ShapingProxy.Start(t, shaping, link)).ToList();
        try
        {
            await WriteEnvAsync(options.GetValueOrDefault("env-file"),
                [("PROXY", proxies[0].Host), ("PROXIES", string.Join(' ', proxies.Select(p => p.Host)))], stop.Token).ConfigureAwait(false);
            var code = await ServeUntilStoppedAsync(stop).ConfigureAwait(false);
            foreach (var p in proxies)
            {
                Console.Error.WriteLine($"{p.Host}: {p.Connections} connections, {p.Requests} requests, {p.BytesDown} bytes down, {p.BytesUp} up");
            }
            return code;
        }
        finally
        {
            foreach (var p in proxies)
            {
                await p.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<int> ServeUntilStoppedAsync(StopSignal stop)
    {
        Console.Out.WriteLine("ready");
        await Console.Out.FlushAsync().ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        Console.Error.WriteLine("stopping");
        return 0;
    }

    private static async Task WriteEnvAsync(string? path, IEnumerable<(string Key, string Value)> values, CancellationToken ct)
    {
        var text = new StringBuilder();
        foreach (var (k, v) in values)
        {
            text.Append(k).Append('=').Append(v).Append('\n');
        }
        if (path is null)
        {
            await Console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return;
        }
        // Write-then-rename so a script polling for the file never reads half of it.
        var temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, text.ToString(), ct).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }

    private static Dictionary<string, string> ParseOptions(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{args[i]}'");
            }
            var name = args[i][2..];
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                options[name[..eq]] = name[(eq + 1)..];
            }
            else if (i + 1 < args.Length)
            {
                options[name] = args[++i];
            }
            else
            {
                throw new ArgumentException($"--{name} needs a value");
            }
        }
        return options;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"airgap-testkit: {message}");
        Console.Error.WriteLine(Usage);
        return 2;
    }

    /// <summary>Turns SIGTERM and SIGINT into cancellation so `await using` cleanup runs instead of the process dying.</summary>
    private sealed class StopSignal : IDisposable
    {
        private readonly CancellationTokenSource _cts = new();
        private readonly PosixSignalRegistration _term;
        private readonly PosixSignalRegistration _int;

        public StopSignal()
        {
            _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
            _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        }

        public CancellationToken Token => _cts.Token;

        public void Dispose()
        {
            _term.Dispose();
            _int.Dispose();
            _cts.Dispose();
        }

        private void Handle(PosixSignalContext context)
        {
            context.Cancel = true;
            _cts.Cancel();
        }
    }
}
