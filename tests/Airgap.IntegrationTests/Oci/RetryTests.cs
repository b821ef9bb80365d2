using System.Diagnostics;
using Airgap.IntegrationTests.TestKit;
using Airgap.TestKit;
using Xunit.Abstractions;

namespace Airgap.IntegrationTests.Oci;

/// <summary>
/// Rate limits and flaky mirrors, against a real registry behind a <see cref="FaultProxy"/>: 429 with
/// Retry-After is waited out, passing 5xx are retried with backoff, a registry that keeps failing is one line.
/// </summary>
public sealed class RetryTests(FilledRegistryFixture fixture, ITestOutputHelper output) : IClassFixture<FilledRegistryFixture>
{
    private static string[] BuildArgs(string host, string directory) =>
        ["build", "--k8s", "v1.20.2", "--image-repository", $"{host}/google_containers", "--cni", "none", "--no-binaries", "--output", directory];

    private static bool IsManifestGet(string method, string target) =>
        method == "GET" && target.Contains("/manifests/", StringComparison.Ordinal);

    private static bool IsBlobGet(string method, string target) =>
        method == "GET" && target.Contains("/blobs/sha256:", StringComparison.Ordinal);

    /// <summary>For each injected fault, the next request for the same thing and how long after it came.</summary>
    private List<(ProxiedRequest Fault, ProxiedRequest Retry)> Retries(FaultProxy proxy)
    {
        var log = proxy.Requests;
        var pairs = new List<(ProxiedRequest, ProxiedRequest)>();
        for (var i = 0; i < log.Count; i++)
        {
            if (!log[i].Injected) continue;
            var retry = log.Skip(i + 1).FirstOrDefault(r => r.Method == log[i].Method && r.Target == log[i].Target);
            Assert.True(retry is not null, $"{log[i].Method} {log[i].Target} was never retried:\n{string.Join('\n', log)}");
            pairs.Add((log[i], retry));
            output.WriteLine($"{log[i].Status} {log[i].Method} {log[i].Target} retried after {(retry.At - log[i].At).TotalSeconds:0.000} s -> {retry.Status}");
        }
        return pairs;
    }

    [Fact]
    public async Task Rate_limited_manifests_are_retried_after_retry_after()
    {
        await using var proxy = FaultProxy.Start(fixture.Registry.Host, IsManifestGet, count: 3, status: 429, retryAfter: "1");
        using var dir = new TempDir();
        var bundles = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(BuildArgs(proxy.Host, bundles));
        Assert.True(result.Succeeded, result.ToString());
        Assert.True(File.Exists(Path.Combine(bundles, "airgap-k8s-v1.20.2-linux-amd64.tar")));

        Assert.Equal(3, proxy.FaultsDone);
        var retries = Retries(proxy);
        Assert.Equal(3, retries.Count);
        Assert.All(retries, p =>
        {
            Assert.Equal(429, p.Fault.Status);
            Assert.True(p.Retry.At - p.Fault.At >= TimeSpan.FromSeconds(0.9),
                $"{p.Fault.Target} retried {(p.Retry.At - p.Fault.At).TotalSeconds:0.000} s after a 429 with Retry-After: 1");
        });
        // Every retry got through in the end.
        Assert.All(proxy.Requests.Where(r => !r.Injected), r => Assert.InRange(r.Status, 200, 299));
    }

    [Fact]
    public async Task Rate_limited_blobs_are_retried_after_retry_after()
    {
        await using var proxy = FaultProxy.Start(fixture.Registry.Host, IsBlobGet, count: 2, status: 429, retryAfter: "1");
        using var dir = new TempDir();
        var bundles = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(BuildArgs(proxy.Host, bundles));
        Assert.True(result.Succeeded, result.ToString());

        var retries = Retries(proxy);
        Assert.Equal(2, retries.Count);
        Assert.All(retries, p => Assert.True(p.Retry.At - p.Fault.At >= TimeSpan.FromSeconds(0.9),
            $"{p.Fault.Target} retried {(p.Retry.At - p.Fault.At).TotalSeconds:0.000} s after a 429 with Retry-After: 1"));
    }

    [Fact]
    public async Task Passing_503s_are_retried_with_backoff()
    {
        // No Retry-After: the client's own backoff (0.4 s, jittered ±25 %) applies.
        await using var proxy = FaultProxy.Start(fixture.Registry.Host, (m, t) => IsManifestGet(m, t) || IsBlobGet(m, t), count: 2, status: 503,
            retryAfter: null);
        using var dir = new TempDir();
        var bundles = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(BuildArgs(proxy.Host, bundles));
        Assert.True(result.Succeeded, result.ToString());

        var retries = Retries(proxy);
        Assert.Equal(2, retries.Count);
        Assert.All(retries, p => Assert.True(p.Retry.At - p.Fault.At >= TimeSpan.FromSeconds(0.25),
            $"{p.Fault.Target} retried {(p.Retry.At - p.Fault.At).TotalSeconds:0.000} s after a 503"));
    }

    [Fact]
    public async Task A_registry_answering_503_forever_is_one_line_naming_it()
    {
        await using var proxy = FaultProxy.Start(fixture.Registry.Host, (_, _) => true, count: int.MaxValue, status: 503, retryAfter: null);
        using var dir = new TempDir();
        var bundles = Path.Combine(dir.Path, "out");
        var clock = Stopwatch.StartNew();
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(BuildArgs(proxy.Host, bundles));
        clock.Stop();

        Assert.NotEqual(0, result.ExitCode);
        var errors = result.Stderr.Split('\n').Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 1, "expected exactly one error line: " + result);
        Assert.Equal(errors[0], result.Stderr.TrimEnd('\n').Split('\n')[^1]);
        output.WriteLine(errors[0]);
        output.WriteLine($"gave up after {clock.Elapsed.TotalSeconds:0.0} s, {proxy.Requests.Count} requests");
        Assert.Contains(proxy.Host, errors[0]);
        Assert.Contains("503", errors[0]);
        Assert.Empty(Directory.Exists(bundles) ? Directory.GetFileSystemEntries(bundles) : []);

        // Each request was tried a bounded number of times with growing pauses, then given up on.
        var byTarget = proxy.Requests.GroupBy(r => (r.Method, r.Target)).ToList();
        Assert.All(byTarget, g => Assert.InRange(g.Count(), 1, 4));
        var longest = byTarget.MaxBy(g => g.Count())!.ToList();
        Assert.Equal(4, longest.Count);
        for (var i = 1; i < longest.Count; i++)
        {
            Assert.True(longest[i].At - longest[i - 1].At >= TimeSpan.FromSeconds(0.4 * Math.Pow(2, i - 1) * 0.7),
                $"attempt {i + 1} came too soon: {string.Join(", ", longest.Select(r => r.At.TotalSeconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)))}");
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"gave up only after {clock.Elapsed.TotalSeconds:0.0} s");
    }
}

/// <summary>The token service of a token-auth registry can be rate limited or overloaded too.</summary>
public sealed class TokenServiceRetryTests(ITestOutputHelper output)
{
    private static async Task<RegistryServer> StartPublicTokenRegistryAsync()
    {
        var registry = await RegistryServer.StartAsync(new RegistryOptions { TokenAuth = new TokenAuthOptions { AnonymousPull = true } });
        await SampleImages.PushKubernetesSetAsync(registry, arches: ["amd64"]);
        return registry;
    }

    [Fact]
    public async Task A_rate_limited_token_service_is_retried_after_retry_after()
    {
        await using var registry = await StartPublicTokenRegistryAsync();
        var tokens = registry.TokenServer!;
        var before = tokens.Requests.Count;
        tokens.InjectFaults(2, status: 429, retryAfter: "1");
        using var dir = new TempDir();
        var bundles = Path.Combine(dir.Path, "out");
        var result = await new AirgapCli { Cache = dir.Sub("c") }.RunAsync(
            "build", "--k8s", "v1.20.2", "--image-repository", $"{registry.Host}/google_containers", "--cni", "none", "--no-binaries", "--output", bundles);
        Assert.True(result.Succeeded, result.ToString());

        var log = tokens.Requests.Skip(before).ToList();
        var faults = log.Where(r => r.Status == 429).ToList();
        Assert.Equal(2, faults.Count);
        foreach (var fault in faults)
        {
            var retry = log.SkipWhile(r => r != fault).Skip(1).FirstOrDefault(r => r.Scopes.SequenceEqual(fault.Scopes));
            Assert.True(retry is not null, $"{string.Join(' ', fault.Scopes)} was never asked for again");
            output.WriteLine($"token for {string.Join(' ', fault.Scopes)} asked again {(retry.At - fault.At).TotalSeconds:0.000} s after a 429 -> {retry.Status}");
            Assert.True(retry.At - fault.At >= TimeSpan.FromSeconds(0.9), $"retried {(retry.At - fault.At).TotalSeconds:0.000} s after Retry-After: 1");
        }
    }

    /// <summary>
    /// A token service's Retry-After is capped at the client's RetryMaxDelay (20 s), like a registry's:
    /// a token service saying "Retry-After: 60" (or 3600) must not stall the build for that long.
    /// </summary>
    [Fact]
    public async Task A_token_service_retry_after_is_capped_like_a_registrys()
    {
        await using var registry = await StartPublicTokenRegistryAsync();
        registry.TokenServer!.InjectFaults(1, status: 429, retryAfter: "60");
        using var dir = new TempDir();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        var clock = Stopwatch.StartNew();
        ProcessResult? result = null;
        try
        {
            result = await ProcessRunner.RunAsync("/usr/bin/env",
                ["CI=1", $"AIRGAP_CACHE={dir.Sub("c")}", $"DOCKER_CONFIG={dir.Sub("docker")}", AirgapCli.Executable,
                 "build", "--k8s", "v1.20.2", "--image-repository", $"{registry.Host}/google_containers", "--cni", "none", "--no-binaries",
                 "--output", Path.Combine(dir.Path, "out")], deadline.Token);
        }
        catch (OperationCanceledException)
        {
        }
        Assert.True(result is not null, $"build still waiting after {clock.Elapsed.TotalSeconds:0} s on a token service's Retry-After: 60 (RetryMaxDelay is 20 s)");
        Assert.True(result.Succeeded, result.ToString());
    }
}
