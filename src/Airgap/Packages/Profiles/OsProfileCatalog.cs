using System.Collections.Concurrent;
using System.Reflection;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace Airgap.Packages.Profiles;

/// <summary>
/// The OS profiles and signing keys built into airgap. They are embedded resources (<c>os/NAME.yaml</c>,
/// <c>keys/FILE</c>) rather than files beside the binary, so the single-file build carries them.
/// </summary>
public static class OsProfileCatalog
{
    private const string ProfilePrefix = "os/";
    private const string ProfileSuffix = ".yaml";
    private const string KeyPrefix = "keys/";

    private static readonly Assembly Resources = typeof(OsProfileCatalog).Assembly;
    private static readonly ConcurrentDictionary<string, OsProfile> Loaded = new(StringComparer.Ordinal);

    /// <summary>Every built-in profile name, sorted.</summary>
    public static IReadOnlyList<string> Known { get; } = Resources.GetManifestResourceNames()
        .Where(n => n.StartsWith(ProfilePrefix, StringComparison.Ordinal) && n.EndsWith(ProfileSuffix, StringComparison.Ordinal))
        .Select(n => n[ProfilePrefix.Length..^ProfileSuffix.Length])
        .Order(StringComparer.Ordinal)
        .ToList();

    /// <summary>Every built-in key file name, sorted.</summary>
    public static IReadOnlyList<string> KnownKeys { get; } = Resources.GetManifestResourceNames()
        .Where(n => n.StartsWith(KeyPrefix, StringComparison.Ordinal))
        .Select(n => n[KeyPrefix.Length..])
        .Order(StringComparer.Ordinal)
        .ToList();

    /// <summary>The profile named <paramref name="name"/> (e.g. ubuntu-20.04); an unknown name is an error listing the known ones.</summary>
    public static OsProfile Get(string name)
    {
        var key = name.Trim().ToLowerInvariant();
        if (!Known.Contains(key))
            throw new AirgapException($"unknown OS profile '{name}'; known profiles: {string.Join(", ", Known)}");
        return Loaded.GetOrAdd(key, k => OsProfileDocument.Parse(ReadText(ProfilePrefix + k + ProfileSuffix), $"profile {k}", k));
    }

    /// <summary>The YAML text of a built-in profile, as shipped.</summary>
    public static string ProfileText(string name) =>
        Known.Contains(name) ? ReadText(ProfilePrefix + name + ProfileSuffix) : throw new AirgapException($"unknown OS profile '{name}'; known profiles: {string.Join(", ", Known)}");

    /// <summary>The bytes of a built-in key file (binary OpenPGP keyring).</summary>
    public static byte[] KeyBytes(string keyName)
    {
        using var stream = KeyName(keyName) is { } resource ? Resources.GetManifestResourceStream(resource) : null;
        if (stream is null)
            throw new AirgapException($"no built-in key named '{keyName}'; known keys: {string.Join(", ", KnownKeys)}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// Writes the built-in key <paramref name="keyName"/> to <paramref name="directory"/> (the resolvers read
    /// keys from files) and returns its path. An existing file with other bytes is replaced, atomically, so a
    /// stale or tampered copy in the cache is never what a repository is checked against.
    /// </summary>
    public static string KeyPath(string keyName, string directory)
    {
        var bytes = KeyBytes(keyName);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, keyName);
        if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes)) return path;
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw new AirgapException($"cannot write key {keyName} to {directory}: {e.Message}; check --cache-dir", e);
        }
        return path;
    }

    /// <summary>The fingerprints (40 upper-case hex digits) of the primary keys in a built-in key file.</summary>
    public static IReadOnlyList<string> KeyFingerprints(string keyName)
    {
        var bundle = new PgpPublicKeyRingBundle(KeyBytes(keyName));
        return bundle.GetKeyRings()
            .Select(ring => Convert.ToHexString(ring.GetPublicKey().GetFingerprint()))
            .ToList();
    }

    /// <summary>
    /// Whether <paramref name="path"/> is a copy of a key shipped with airgap (its name and bytes), so
    /// messages can say "shipped with airgap" rather than a cache path. <paramref name="bytes"/> may be
    /// given when already read.
    /// </summary>
    public static bool IsShipped(string path, byte[]? bytes)
    {
        var name = Path.GetFileName(path);
        if (!KnownKeys.Contains(name)) return false;
        try
        {
            return (bytes ?? File.ReadAllBytes(path)).AsSpan().SequenceEqual(KeyBytes(name));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Every shipped key file with the primary keys in it, for `airgap key list`.</summary>
    public static IReadOnlyList<(string File, IReadOnlyList<OpenPgpKeyInfo> Keys)> ShippedKeys() =>
        KnownKeys.Select(name => (name, OpenPgpKeyInfo.Read(KeyBytes(name), $"built-in key {name}"))).ToList();

    private static string? KeyName(string keyName) =>
        KnownKeys.Contains(keyName) ? KeyPrefix + keyName : null;

    private static string ReadText(string resource)
    {
        using var stream = Resources.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded resource {resource} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
