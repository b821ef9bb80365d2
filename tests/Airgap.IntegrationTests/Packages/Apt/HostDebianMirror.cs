using Airgap.Packages;
using Airgap.Packages.Apt;

namespace Airgap.IntegrationTests.Packages.Apt;

/// <summary>
/// The Debian archive this machine's apt uses, read from its sources at run time: the tests may reach
/// that mirror and nothing else, and its address is deliberately not written anywhere in the repository.
/// </summary>
internal sealed record HostDebianMirror(Uri Url, string Codename, string KeyFile)
{
    private const string DefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

    public PackageRepository Repository(string name = "debian") =>
        new(name, RepositoryKind.Apt, Url, Codename, ["main"], KeyFile);

    public static HostDebianMirror Find()
    {
        var codename = File.ReadAllLines("/etc/os-release")
            .Select(l => l.Split('=', 2))
            .Where(p => p.Length == 2 && p[0] == "VERSION_CODENAME")
            .Select(p => p[1].Trim('"'))
            .FirstOrDefault() ?? throw new InvalidOperationException("/etc/os-release has no VERSION_CODENAME");

        foreach (var (uri, suites, components, signedBy) in Entries())
        {
            if (!suites.Contains(codename) || !components.Contains("main")) continue;
            var key = signedBy is not null && File.Exists(signedBy) ? signedBy : DefaultKeyring;
            if (!File.Exists(key)) throw new InvalidOperationException($"no key for the host's Debian mirror: {key} is missing (apt-get install debian-archive-keyring)");
            return new HostDebianMirror(new Uri(uri.TrimEnd('/') + "/"), codename, key);
        }
        throw new InvalidOperationException($"this host's apt sources have no '{codename} main' entry; the apt integration tests need the Debian mirror the host uses");
    }

    private static IEnumerable<(string Uri, string[] Suites, string[] Components, string? SignedBy)> Entries()
    {
        var dir = "/etc/apt/sources.list.d";
        if (Directory.Exists(dir))
        {
            foreach (var file in Directory.GetFiles(dir, "*.sources").Order(StringComparer.Ordinal))
            {
                foreach (var stanza in ControlStanza.ParseAll(File.ReadAllText(file), file))
                {
                    if (string.Equals(stanza["Enabled"], "no", StringComparison.OrdinalIgnoreCase)) continue;
                    if (!(stanza["Types"] ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("deb")) continue;
                    var suites = Words(stanza["Suites"]);
                    var components = Words(stanza["Components"]);
                    foreach (var uri in Words(stanza["URIs"]))
                        yield return (uri, suites, components, stanza["Signed-By"]?.Contains('\n') == true ? null : stanza["Signed-By"]);
                }
            }
        }
        var lists = new List<string> { "/etc/apt/sources.list" };
        if (Directory.Exists(dir)) lists.AddRange(Directory.GetFiles(dir, "*.list").Order(StringComparer.Ordinal));
        foreach (var file in lists.Where(File.Exists))
        {
            foreach (var raw in File.ReadAllLines(file))
            {
                var line = raw.Split('#')[0].Trim();
                if (!line.StartsWith("deb ", StringComparison.Ordinal)) continue;
                string? signedBy = null;
                var rest = line[4..].Trim();
                if (rest.StartsWith('['))
                {
                    var close = rest.IndexOf(']', StringComparison.Ordinal);
                    foreach (var option in rest[1..close].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                        if (option.StartsWith("signed-by=", StringComparison.Ordinal)) signedBy = option["signed-by=".Length..];
                    rest = rest[(close + 1)..].Trim();
                }
                var parts = Words(rest);
                if (parts.Length >= 3) yield return (parts[0], [parts[1]], parts[2..], signedBy);
            }
        }
    }

    private static string[] Words(string? s) => s?.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) ?? [];
}
