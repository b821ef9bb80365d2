using System.CommandLine;
using System.Globalization;
using System.Net;
using Airgap.Oci;

namespace Airgap.Cli;

internal static class ServeCommand
{
    public static Command Create()
    {
        var bundle = new Argument<string>("BUNDLE") { Description = "the bundle .tar, or a split bundle's .parts index or first part (served in place, nothing unpacked or joined)" };
        var address = new Option<string>("--address") { Description = "[HOST]:PORT to listen on (:5000 is every address)", DefaultValueFactory = _ => ":5000" };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM certificate to serve HTTPS with (with --tls-key)" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key of --tls-cert" };
        var tlsSan = new Option<string[]>("--tls-san") { Description = "serve HTTPS with a self-signed certificate made for these names/addresses (repeat or comma-separate)" };
        var tlsOut = new Option<string>("--tls-ca-out") { Description = "where the made certificate goes, for the nodes to trust", DefaultValueFactory = _ => "airgap-serve-ca.crt" };
        var baseBundle = BaseOption.Create();
        var command = new Command("serve", "Serve a bundle as a read-only registry (distribution API v2) straight from the tar: nodes and containerd mirrors pull from it by tag or digest.")
        {
            bundle, baseBundle, address, tlsCert, tlsKey, tlsSan, tlsOut,
        };
        command.SetAction((result, ct) => AirgapCli.Guard(async () =>
        {
            var endpoint = ParseAddress(result.GetValue(address)!);
            var sans = (result.GetValue(tlsSan) ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            var (certFile, keyFile) = (result.GetValue(tlsCert), result.GetValue(tlsKey));
            if ((certFile is null) != (keyFile is null)) throw new AirgapException("--tls-cert and --tls-key go together");
            if (certFile is not null && sans.Count > 0) throw new AirgapException("--tls-san makes a certificate; it does not go with --tls-cert");
            using var source = await BundleImageSource.OpenAsync(new Airgap.Bundles.BundleSet(result.GetValue(bundle)!, result.GetValue(baseBundle)), ct);
            using var certificate = certFile is not null ? ServeCertificate.Load(certFile, keyFile!)
                : sans.Count > 0 ? ServeCertificate.Generate(sans, result.GetValue(tlsOut)!)
                : null;
            await using var view = await RegistryView.StartAsync(source, endpoint, certificate, line => Console.Error.WriteLine("error: " + line), ct);
            var scheme = certificate is null ? "http" : "https";
            Console.WriteLine($"serving {source.Images.Count} images of {Path.GetFileName(source.Path)} at {scheme}://{endpoint} (read-only); Ctrl-C stops");
            if (sans.Count > 0) Console.WriteLine($"certificate for {string.Join(", ", sans)}: nodes trust {Path.GetFullPath(result.GetValue(tlsOut)!)}");
            foreach (var image in source.Images) Console.WriteLine($"  {image.Name.Name}:{image.Name.Tag}  {image.Target.Digest}");
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, view.Stopping);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            return 0;
        }));
        return command;
    }

    private static IPEndPoint ParseAddress(string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new AirgapException($"--address {value}: give [HOST]:PORT, e.g. :5000 or 10.0.0.5:5000");
        var host = value[..colon].Trim('[', ']');
        if (host.Length == 0) return new IPEndPoint(IPAddress.Any, port);
        if (host == "localhost") return new IPEndPoint(IPAddress.Loopback, port);
        return IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port)
            : throw new AirgapException($"--address {value}: {host} is not an IP address of this host");
    }
}
