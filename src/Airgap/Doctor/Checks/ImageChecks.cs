using System.Globalization;
using System.Text.Json.Nodes;
using Airgap.Nodes;
using Airgap.Oci;

namespace Airgap.Doctor.Checks;

/// <summary>
/// Offline, an image the runtime lacks is never pulled: the pod waits in ErrImagePull or
/// ImagePullBackOff for ever. Says which images, whether the bundle has them (then import them) or
/// not (then which build flag adds them).
/// </summary>
public sealed class MissingImagesCheck : IDoctorCheck
{
    private static readonly HashSet<string> PullReasons = ["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull"];

    public string Name => "images";
    public string Description => "no pod on this node waits for an image containerd lacks (ErrImagePull, ImagePullBackOff); whether the bundle has it";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var pods = await c.PodsAsync(ct).ConfigureAwait(false);
        if (pods.Json is null) return CheckResult.Skip(Name, $"pods not readable: {pods.Error}");
        var name = await c.NodeNameAsync(ct).ConfigureAwait(false);
        var waiting = WaitingForImages(pods.Json, name);
        if (waiting.Count == 0) return CheckResult.Ok(Name, "no pod here waits for an image");
        var list = await c.RunAsync(new CommandSpec("ctr", "-n", "k8s.io", "images", "ls", "-q"), ct).ConfigureAwait(false);
        var present = list.Succeeded ? list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Normalize).ToHashSet() : [];
        var missing = waiting.Select(w => w.Image).Distinct().Where(i => !present.Contains(Normalize(i))).Order(StringComparer.Ordinal).ToList();
        var evidence = waiting.Select(w => $"pod {w.Namespace}/{w.Pod} container {w.Container}: {w.Reason} {w.Image}{(w.Message is null ? "" : $" ({w.Message})")}").Take(6).ToList();
        if (missing.Count == 0)
            return CheckResult.Warn(Name, $"{waiting.Count} container(s) still wait for images containerd now has: the kubelet retries after its back-off")
                .WithEvidence(evidence) with { Fix = "wait, or kubectl delete pod for a quicker retry" };
        var images = string.Join(", ", missing);
        var ownedPods = waiting.Where(w => missing.Contains(w.Image) && w.Owned).Select(w => (w.Namespace, w.Pod)).Distinct().ToList();
        if (c.Bundle is null)
            return CheckResult.Fail(Name, $"pods wait for images containerd does not have (offline nothing is pulled): {images}").WithEvidence(evidence) with
            {
                Fix = $"{c.FixCommand} imports them when the bundle has them (give --bundle to find out)",
            };
        var inBundle = c.Bundle.Document.Images.Select(i => Normalize(i.Name)).ToHashSet();
        var notInBundle = missing.Where(i => !inBundle.Contains(Normalize(i))).ToList();
        if (notInBundle.Count > 0)
            return CheckResult.Fail(Name, $"pods wait for images that neither containerd nor the bundle has: {string.Join(", ", notInBundle)}").WithEvidence(evidence) with
            {
                Fix = $"rebuild the bundle with {string.Join(" ", notInBundle.Select(i => "--image " + i))} (airgap build ...), then {c.FixCommand.Replace("BUNDLE", "NEW_BUNDLE", StringComparison.Ordinal)}; or push it to the registry the node pulls from",
            };
        var kubeconfig = await c.KubeconfigAsync(ct).ConfigureAwait(false) ?? DoctorContext.AdminKubeconfig;
        List<FixStep> repair = [new ImportImagesFixStep(c.Bundle.Path, missing)];
        // The kubelet would retry only after its back-off (up to 5 min); a pod its controller recreates starts at once.
        repair.AddRange(ownedPods.Select(p => new RunFixStep(DoctorContext.Kubectl(kubeconfig, "-n", p.Namespace, "delete", "pod", p.Pod, "--wait=false"))));
        return CheckResult.Fail(Name, $"pods wait for images containerd does not have (offline nothing is pulled); the bundle has them: {images}").WithEvidence(evidence) with
        {
            Fix = $"{c.FixCommand} (imports them from the bundle into containerd's k8s.io namespace)",
            Repair = repair,
        };
    }

    public sealed record WaitingContainer(string Namespace, string Pod, string Container, string Image, string Reason, string? Message, bool Owned);

    public static IReadOnlyList<WaitingContainer> WaitingForImages(JsonNode pods, string node)
    {
        var found = new List<WaitingContainer>();
        foreach (var pod in pods["items"]?.AsArray() ?? [])
        {
            // A pod being deleted (its replacement is on the way) waits for nothing any more.
            if (pod is null || (string?)pod["spec"]?["nodeName"] != node || pod["metadata"]?["deletionTimestamp"] is not null) continue;
            var owned = pod["metadata"]?["ownerReferences"]?.AsArray().Count > 0;
            var statuses = (pod["status"]?["containerStatuses"]?.AsArray() ?? []).Concat(pod["status"]?["initContainerStatuses"]?.AsArray() ?? []);
            foreach (var s in statuses)
            {
                var waiting = s?["state"]?["waiting"];
                if ((string?)waiting?["reason"] is not { } reason || !PullReasons.Contains(reason)) continue;
                found.Add(new WaitingContainer((string?)pod["metadata"]?["namespace"] ?? "", (string?)pod["metadata"]?["name"] ?? "",
                    (string?)s!["name"] ?? "", (string?)s["image"] ?? "", reason, FirstLine((string?)waiting!["message"]), owned));
            }
        }
        return found;
    }

    private static string? FirstLine(string? text) => text?.Split('\n')[0].Trim() is { Length: > 0 } line ? (line.Length > 200 ? line[..200] + "…" : line) : null;

    /// <summary>The fully qualified name (docker.io/library/x:tag), so "nginx:1.25" and ctr's name compare equal.</summary>
    internal static string Normalize(string image) => ImageReference.TryParse(image, out var r, out _) ? r.ToString() : image;
}

/// <summary>--fix for missing images: the bundle's images containerd lacks, streamed out of the bundle into ctr import.</summary>
public sealed record ImportImagesFixStep(string BundlePath, IReadOnlyList<string> Images) : FixStep
{
    public override string Text => $"import {string.Join(", ", Images)} (and any other image of the bundle containerd lacks) from {BundlePath}: ctr -n k8s.io images import -";

    public override async Task ApplyAsync(IHost host, CancellationToken ct)
    {
        var store = new ContainerdImageStore(host);
        await store.ImportAsync(BundlePath, await store.NamesAsync(ct).ConfigureAwait(false), ct).ConfigureAwait(false);
    }
}

/// <summary>
/// The kubelet starts evicting pods and deleting images when the image filesystem passes its
/// thresholds (imagefs.available below 15%, image GC from 85% used).
/// </summary>
public sealed class ImageDiskCheck : IDoctorCheck
{
    public const int WarnPercent = 80;
    public const int FailPercent = 85;

    public string Name => "image-disk";
    public string Description => $"the image filesystem (/var/lib/containerd) is below {FailPercent}% used and the node reports no DiskPressure";

    public async Task<CheckResult> RunAsync(DoctorContext c, CancellationToken ct)
    {
        var path = await c.Host.FileExistsAsync("/var/lib/containerd", ct).ConfigureAwait(false) ? "/var/lib/containerd" : "/var/lib";
        var df = await c.RunAsync(new CommandSpec("df", "-P", path), ct).ConfigureAwait(false);
        var usage = df.Succeeded ? ParseDf(df.Stdout) : null;
        var node = await c.OwnNodeAsync(ct).ConfigureAwait(false);
        var pressure = node is null ? null : NodeReadyCheck.Condition(node, "DiskPressure");
        var fix = $"free space on {usage?.Mount ?? path}: crictl rmi --prune removes images no container uses; move /var/lib/containerd to a larger disk";
        if ((string?)pressure?["status"] == "True")
            return CheckResult.Fail(Name, $"the node reports DiskPressure: {(string?)pressure["message"]}")
                .WithEvidence(usage is null ? null : $"df -P {path}: {usage.Percent}% used on {usage.Mount}") with { Fix = fix };
        if (usage is null) return CheckResult.Skip(Name, $"df -P {path} gave no answer");
        var evidence = $"df -P {path}: {usage.Percent}% used ({usage.AvailableKiB / 1024} MiB free) on {usage.Mount}";
        if (usage.Percent >= FailPercent)
            return CheckResult.Fail(Name, $"the image filesystem {usage.Mount} is {usage.Percent}% full: the kubelet deletes images from {FailPercent}% and evicts pods when it fills")
                .WithEvidence(evidence) with { Fix = fix };
        if (usage.Percent >= WarnPercent)
            return CheckResult.Warn(Name, $"the image filesystem {usage.Mount} is {usage.Percent}% full (the kubelet deletes images from {FailPercent}%)").WithEvidence(evidence) with { Fix = fix };
        return CheckResult.Ok(Name, $"image filesystem {usage.Mount} {usage.Percent}% used");
    }

    public sealed record DiskUsage(string Mount, int Percent, long AvailableKiB);

    public static DiskUsage? ParseDf(string output)
    {
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).FirstOrDefault();
        var f = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f is not { Length: >= 6 } || !f[4].EndsWith('%')) return null;
        return int.TryParse(f[4].TrimEnd('%'), NumberStyles.None, CultureInfo.InvariantCulture, out var percent) &&
               long.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var available)
            ? new DiskUsage(f[5], percent, available) : null;
    }
}
