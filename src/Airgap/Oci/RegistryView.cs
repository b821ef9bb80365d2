using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Airgap.Oci;

/// <summary>
/// A bundle seen as a read-only registry (distribution API v2): /v2/, the catalog, tag lists,
/// manifests by tag and digest, blobs with HEAD and Range. Everything is read out of the tar in
/// place (<see cref="BundleImageSource"/>), so memory stays flat however many clients pull and
/// however big the bundle. Repositories are the images' full names (k8s.gcr.io/kube-apiserver);
/// the registry part may be left out when that is unambiguous (kube-apiserver), which is what a
/// containerd mirror without path rewriting asks for.
/// </summary>
public sealed class RegistryView : IAsyncDisposable
{
    private readonly BundleImageSource source;
    private readonly WebApplication app;
    private readonly Dictionary<string, List<NamedImage>> repositories;
    private readonly Dictionary<string, List<NamedImage>> spelled;
    private readonly Action<string> log;

    private RegistryView(BundleImageSource source, WebApplication app, Action<string> log)
    {
        this.source = source;
        this.app = app;
        this.log = log;
        repositories = source.Images.GroupBy(i => i.Name.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        // The same images under push's spelling of a registry with a port (10.0.0.5-5000/app), which mirrors ask for.
        spelled = repositories.Values.ToDictionary(images => $"{RegistryMapping.PathElement(images[0].Name.Registry)}/{images[0].Name.Repository}", images => images, StringComparer.Ordinal);
    }

    /// <summary>The addresses it listens on, as URLs.</summary>
    public IReadOnlyList<string> Urls => [.. app.Urls];

    public IReadOnlyCollection<string> Repositories => repositories.Keys;

    /// <summary>Fires when the server is told to stop (SIGTERM, as systemd stops a unit).</summary>
    public CancellationToken Stopping => app.Lifetime.ApplicationStopping;

    /// <summary>Starts serving <paramref name="source"/>; with a certificate, over TLS only.</summary>
    public static async Task<RegistryView> StartAsync(BundleImageSource source, IPEndPoint endpoint, X509Certificate2? certificate,
        Action<string> log, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = 1024;
            kestrel.Listen(endpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                if (certificate is not null) listen.UseHttps(certificate);
            });
        });
        var app = builder.Build();
        var view = new RegistryView(source, app, log);
        app.Map("/v2/{**path}", view.HandleAsync);
        app.Map("/v2", view.HandleAsync);
        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new AirgapException($"cannot listen on {endpoint}: the address is already in use; stop what listens there or pick another --address");
        }
        catch (Exception e) when (e is IOException or SocketException or UnauthorizedAccessException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new AirgapException($"cannot listen on {endpoint}: {e.Message.Split('\n')[0]}");
        }
        return view;
    }

    private async Task HandleAsync(HttpContext http)
    {
        var response = http.Response;
        response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        var method = http.Request.Method;
        if (method is not ("GET" or "HEAD"))
        {
            await ErrorAsync(http, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED", "this registry serves a bundle and is read-only").ConfigureAwait(false);
            return;
        }
        var path = (http.Request.RouteValues["path"] as string ?? "").Trim('/');
        try
        {
            if (path.Length == 0)
                await JsonAsync(http, new { }).ConfigureAwait(false);
            else if (path == "_catalog")
                await JsonAsync(http, new { repositories = repositories.Keys.Order(StringComparer.Ordinal).ToArray() }).ConfigureAwait(false);
            else if (Split(path, "/tags/list") is { } tagsOf)
                await TagsAsync(http, tagsOf).ConfigureAwait(false);
            else if (SplitLast(path, "/manifests/") is { } manifest)
                await ManifestAsync(http, manifest.Name, manifest.Reference).ConfigureAwait(false);
            else if (SplitLast(path, "/blobs/") is { } blob)
                await BlobAsync(http, blob.Name, blob.Reference).ConfigureAwait(false);
            else
                await ErrorAsync(http, HttpStatusCode.NotFound, "NAME_UNKNOWN", $"no such endpoint: /v2/{path}").ConfigureAwait(false);
        }
        catch (AirgapException e)
        {
            // A damaged blob or document: refused, named, and the server goes on serving the rest.
            log(e.Message);
            if (!response.HasStarted) await ErrorAsync(http, HttpStatusCode.InternalServerError, "BLOB_UNKNOWN", e.Message).ConfigureAwait(false);
            else http.Abort();
        }
    }

    private static string? Split(string path, string suffix) => path.EndsWith(suffix, StringComparison.Ordinal) ? path[..^suffix.Length] : null;

    private static (string Name, string Reference)? SplitLast(string path, string marker)
    {
        var at = path.LastIndexOf(marker, StringComparison.Ordinal);
        return at <= 0 ? null : (path[..at], path[(at + marker.Length)..]);
    }

    /// <summary>The images of a repository: by full name, or by the path without the registry when only one registry has it.</summary>
    private List<NamedImage>? Repository(string name)
    {
        if (repositories.TryGetValue(name, out var exact) || spelled.TryGetValue(name, out exact)) return exact;
        var matches = repositories.Where(r => r.Value[0].Name.Repository == name || (r.Value[0].Name.Registry == ImageReference.DockerHub && r.Value[0].Name.Repository == "library/" + name)).ToList();
        return matches.Count == 1 ? matches[0].Value : null;
    }

    private async Task TagsAsync(HttpContext http, string name)
    {
        if (Repository(name) is not { } images)
        {
            await ErrorAsync(http, HttpStatusCode.NotFound, "NAME_UNKNOWN", $"repository {name} is not in the bundle").ConfigureAwait(false);
            return;
        }
        await JsonAsync(http, new { name, tags = images.Where(i => i.Name.Tag is not null).Select(i => i.Name.Tag!).Order(StringComparer.Ordinal).ToArray() }).ConfigureAwait(false);
    }

    private async Task ManifestAsync(HttpContext http, string name, string reference)
    {
        if (Repository(name) is not { } images)
        {
            await ErrorAsync(http, HttpStatusCode.NotFound, "NAME_UNKNOWN", $"repository {name} is not in the bundle").ConfigureAwait(false);
            return;
        }
        Descriptor? descriptor;
        if (Digest.TryParse(reference, out var digest))
        {
            descriptor = await source.ResolveAsync(images[0].Name with { Tag = null, Digest = digest }, http.RequestAborted).ConfigureAwait(false);
            if (descriptor is not null && source.MediaTypeOf(digest) is null) descriptor = null; // a layer is not a manifest
        }
        else
        {
            descriptor = images.FirstOrDefault(i => i.Name.Tag == reference)?.Target;
        }
        if (descriptor is null)
        {
            await ErrorAsync(http, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN", $"{name}:{reference} is not in the bundle").ConfigureAwait(false);
            return;
        }
        var content = await source.ReadDocumentAsync(descriptor, http.RequestAborted).ConfigureAwait(false);
        var response = http.Response;
        response.ContentType = descriptor.MediaType;
        response.ContentLength = content.Length;
        response.Headers["Docker-Content-Digest"] = descriptor.Digest;
        response.Headers.ETag = $"\"{descriptor.Digest}\"";
        if (http.Request.Method == "GET") await response.Body.WriteAsync(content, http.RequestAborted).ConfigureAwait(false);
    }

    private async Task BlobAsync(HttpContext http, string name, string reference)
    {
        if (Repository(name) is null || !Digest.TryParse(reference, out var digest) || source.Member(digest) is not { } member)
        {
            await ErrorAsync(http, HttpStatusCode.NotFound, "BLOB_UNKNOWN", $"blob {reference} is not in the bundle").ConfigureAwait(false);
            return;
        }
        await source.VerifyAsync(digest, member, http.RequestAborted).ConfigureAwait(false);
        var response = http.Response;
        response.Headers["Docker-Content-Digest"] = digest.ToString();
        response.Headers.ETag = $"\"{digest}\"";
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = "application/octet-stream";
        long start = 0, end = member.Size - 1;
        if (http.Request.Headers.Range.ToString() is { Length: > 0 } range)
        {
            if (!TryRange(range, member.Size, out start, out end))
            {
                response.StatusCode = (int)HttpStatusCode.RequestedRangeNotSatisfiable;
                response.Headers.ContentRange = $"bytes */{member.Size}";
                return;
            }
            response.StatusCode = (int)HttpStatusCode.PartialContent;
            response.Headers.ContentRange = $"bytes {start}-{end}/{member.Size}";
        }
        response.ContentLength = end - start + 1;
        if (http.Request.Method != "GET") return;
        await using var stream = source.Open(member, start, end + 1);
        await stream.CopyToAsync(response.Body, 256 * 1024, http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>One byte range, "bytes=a-b", "bytes=a-" or "bytes=-n", as registry clients resume with.</summary>
    internal static bool TryRange(string header, long size, out long start, out long end)
    {
        start = 0;
        end = size - 1;
        if (!header.StartsWith("bytes=", StringComparison.Ordinal) || header.Contains(',', StringComparison.Ordinal)) return false;
        var spec = header["bytes=".Length..].Split('-');
        if (spec.Length != 2) return false;
        if (spec[0].Length == 0)
        {
            if (!long.TryParse(spec[1], out var suffix) || suffix <= 0) return false;
            start = Math.Max(0, size - suffix);
            return size > 0;
        }
        if (!long.TryParse(spec[0], out start) || start >= size) return false;
        if (spec[1].Length > 0 && (!long.TryParse(spec[1], out end) || end < start)) return false;
        end = Math.Min(end, size - 1);
        return true;
    }

    private static async Task JsonAsync(HttpContext http, object body)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = bytes.Length;
        if (http.Request.Method != "HEAD") await http.Response.Body.WriteAsync(bytes, http.RequestAborted).ConfigureAwait(false);
    }

    private static Task ErrorAsync(HttpContext http, HttpStatusCode status, string code, string message)
    {
        http.Response.StatusCode = (int)status;
        return JsonAsync(http, new { errors = new[] { new { code, message } } });
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
}
