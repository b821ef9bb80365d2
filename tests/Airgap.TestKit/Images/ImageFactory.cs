using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Airgap.TestKit;

/// <summary>
/// Builds images in memory, byte for byte reproducibly: fixed mtimes and owners, sorted tar members,
/// JSON written in a fixed property order. The same inputs always give the same digests.
/// </summary>
public static class ImageFactory
{
    public const string BusyboxPath = "/bin/busybox";

    // Any fixed instant works; 2000-01-01 avoids tools that treat mtime 0 as "unset".
    private static readonly DateTimeOffset FixedTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly JsonWriterOptions JsonOptions = new()
    {
        // The default encoder escapes '+' in media types as \u002B; valid, but unlike every real registry.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A gzip'd tar of the given entries, members sorted by name.</summary>
    public static Layer BuildLayer(IEnumerable<LayerEntry> entries, CompressionLevel compression = CompressionLevel.Optimal)
    {
        var sorted = entries.OrderBy(e => e.TarName, StringComparer.Ordinal).ToList();
        return WriteLayer(tar =>
        {
            foreach (var e in sorted)
            {
                var entry = new UstarTarEntry(
                    e.Kind switch
                    {
                        LayerEntryKind.Directory => TarEntryType.Directory,
                        LayerEntryKind.Symlink => TarEntryType.SymbolicLink,
                        _ => TarEntryType.RegularFile,
                    },
                    e.TarName);
                Normalise(entry, e.Mode);
                if (e.Kind == LayerEntryKind.Symlink)
                {
                    entry.LinkName = e.LinkTarget ?? throw new ArgumentException($"Symlink {e.Path} has no target");
                }
                else if (e.Kind == LayerEntryKind.File)
                {
                    entry.DataStream = new MemoryStream(e.Content, writable: false);
                }
                tar.WriteEntry(entry);
            }
        }, compression);
    }

    /// <summary>
    /// A layer holding one file of <paramref name="bytes"/> incompressible deterministic bytes, to give
    /// benchmark images real-world sizes. Stored uncompressed inside gzip since deflate could not shrink it anyway.
    /// </summary>
    public static Layer RandomLayer(string seed, long bytes, string path = "var/lib/airgap-filler.bin")
        => WriteLayer(tar =>
        {
            var dir = LayerEntry.Directory(Path.GetDirectoryName(path) ?? "var");
            var dirEntry = new UstarTarEntry(TarEntryType.Directory, dir.TarName);
            Normalise(dirEntry, dir.Mode);
            tar.WriteEntry(dirEntry);
            var entry = new UstarTarEntry(TarEntryType.RegularFile, path.TrimStart('/'))
            {
                DataStream = new PseudoRandomStream(seed, bytes),
            };
            Normalise(entry, LayerEntry.Regular);
            tar.WriteEntry(entry);
        }, CompressionLevel.NoCompression);

    /// <summary>
    /// A base layer with /bin/busybox and /bin/sh. For amd64 it is the host's static busybox (Debian
    /// busybox-static), so containers can run it; other arches get a non-runnable placeholder binary.
    /// </summary>
    public static Layer BaseLayer(string architecture)
    {
        byte[] busybox;
        if (architecture == "amd64")
        {
            if (!File.Exists(BusyboxPath))
            {
                throw new InvalidOperationException($"{BusyboxPath} is missing: apt-get install -y busybox-static");
            }
            busybox = File.ReadAllBytes(BusyboxPath);
        }
        else
        {
            busybox = System.Text.Encoding.UTF8.GetBytes($"#!placeholder busybox for linux/{architecture}; not runnable here\n");
        }
        return BuildLayer(
        [
            LayerEntry.Directory("bin"),
            LayerEntry.File("bin/busybox", busybox, LayerEntry.Executable),
            LayerEntry.Symlink("bin/sh", "busybox"),
            LayerEntry.Directory("etc"),
            LayerEntry.File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
            LayerEntry.File("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
            LayerEntry.Directory("tmp", LayerEntry.Executable | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit),
        ]);
    }

    /// <summary>An image config + manifest over the given layers (which may be shared with other images).</summary>
    public static Image BuildImage(Platform platform, IReadOnlyList<Layer> layers, ManifestFormat format = ManifestFormat.Docker,
        ImageRunConfig? run = null)
    {
        run ??= new ImageRunConfig();
        var config = new ContentBlob(Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("architecture", platform.Architecture);
            if (platform.Variant is not null)
            {
                w.WriteString("variant", platform.Variant);
            }
            w.WriteString("os", platform.Os);
            w.WriteString("created", FixedTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteStartObject("config");
            WriteStrings(w, "Env", run.Env);
            if (run.Entrypoint is not null)
            {
                WriteStrings(w, "Entrypoint", run.Entrypoint);
            }
            if (run.Cmd is not null)
            {
                WriteStrings(w, "Cmd", run.Cmd);
            }
            if (run.WorkingDir is not null)
            {
                w.WriteString("WorkingDir", run.WorkingDir);
            }
            if (run.Labels is not null)
            {
                w.WriteStartObject("Labels");
                foreach (var (k, v) in run.Labels.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    w.WriteString(k, v);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartObject("rootfs");
            w.WriteString("type", "layers");
            WriteStrings(w, "diff_ids", layers.Select(l => l.DiffId));
            w.WriteEndObject();
            w.WriteEndObject();
        }));

        var manifest = new ContentBlob(Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", MediaTypes.Manifest(format));
            w.WritePropertyName("config");
            WriteDescriptor(w, MediaTypes.Config(format), config.Digest, config.Size);
            w.WriteStartArray("layers");
            foreach (var layer in layers)
            {
                WriteDescriptor(w, MediaTypes.LayerGzip(format), layer.Digest, layer.Size);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }));
        return new Image(platform, format, config, layers, manifest);
    }

    /// <summary>A Docker manifest list or OCI index naming each image with its platform.</summary>
    public static ImageIndex BuildIndex(IReadOnlyList<Image> images, ManifestFormat format = ManifestFormat.Docker)
    {
        var body = new ContentBlob(Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", MediaTypes.Index(format));
            w.WriteStartArray("manifests");
            foreach (var image in images)
            {
                WriteDescriptor(w, image.MediaType, image.Digest, image.Manifest.Size, image.Platform);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }));
        return new ImageIndex(format, images, body);
    }

    private static Layer WriteLayer(Action<TarWriter> writeEntries, CompressionLevel compression)
    {
        var compressed = new MemoryStream();
        string diffId;
        long size;
        using (var gzip = new GZipStream(compressed, compression, leaveOpen: true))
        using (var hashing = new HashingWriteStream(gzip))
        {
            using (var tar = new TarWriter(hashing, TarEntryFormat.Ustar, leaveOpen: true))
            {
                writeEntries(tar);
            }
            diffId = hashing.Digest();
            size = hashing.BytesWritten;
        }
        // Read the blob only after the GZipStream is disposed: that is when it writes its trailer.
        return new Layer(new ContentBlob(compressed.ToArray()), diffId, size);
    }

    private static void Normalise(TarEntry entry, UnixFileMode mode)
    {
        entry.Mode = mode;
        entry.ModificationTime = FixedTime;
        entry.Uid = 0;
        entry.Gid = 0;
        if (entry is PosixTarEntry posix)
        {
            posix.UserName = "root";
            posix.GroupName = "root";
        }
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, JsonOptions))
        {
            write(w);
        }
        return buffer.ToArray();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }
        w.WriteEndArray();
    }

    private static void WriteDescriptor(Utf8JsonWriter w, string mediaType, string digest, long size, Platform? platform = null)
    {
        w.WriteStartObject();
        w.WriteString("mediaType", mediaType);
        w.WriteNumber("size", size);
        w.WriteString("digest", digest);
        if (platform is not null)
        {
            w.WriteStartObject("platform");
            w.WriteString("architecture", platform.Architecture);
            w.WriteString("os", platform.Os);
            if (platform.Variant is not null)
            {
                w.WriteString("variant", platform.Variant);
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
