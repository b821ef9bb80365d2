namespace Airgap.Oci;

/// <summary>One image as pushed: its canonical name, where it went, and the digest the tag points at there (upstream's).</summary>
public sealed record PushedImage(string Name, string Target, string Digest);

public sealed record PushReport(IReadOnlyList<PushedImage> Images, CopyReport Copy);

/// <summary>`airgap push`: the bundle read in place as the source, the site's registry as the sink, one copier between.</summary>
public static class BundlePush
{
    public static async Task<PushReport> RunAsync(Airgap.Bundles.BundleSet bundle, RegistryMapping mapping, RegistryClient client, IProgressSink progress, CancellationToken ct)
    {
        using var source = await BundleImageSource.OpenAsync(bundle, ct).ConfigureAwait(false);
        var copies = mapping.Plan(source.Images.Select(i => i.Name));
        progress.Info($"pushing {copies.Count} images of {Path.GetFileName(bundle.Path)} to {mapping}{(mapping.Flat ? " (flat names)" : "")}");
        var copier = new ImageCopier(source, new RegistryImageSink(client), progress)
        {
            Verb = "push",
            Copied = c => progress.Info($"{c.To}: {c.Digest}"),
        };
        var report = await copier.CopyAsync(copies, ct).ConfigureAwait(false);
        return new PushReport(report.Images.Select(c => new PushedImage(c.From.ToString(), c.To.ToString(), c.Digest)).ToList(), report);
    }
}
