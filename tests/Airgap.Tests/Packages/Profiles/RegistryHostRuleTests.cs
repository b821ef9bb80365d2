using System.Text.RegularExpressions;
using Airgap.Packages.Profiles;

namespace Airgap.Tests.Packages.Profiles;

/// <summary>
/// The package registry this machine is given must never be written into the repository. Its hosts are
/// read from the apt sources at run time (never written here) and looked for in everything the profiles ship.
/// </summary>
public sealed partial class RegistryHostRuleTests
{
    [GeneratedRegex(@"(?:URIs:|deb(?:-src)?)\s+(?:\[[^\]]*\]\s+)?https?://([^/\s:]+)", RegexOptions.Multiline)]
    private static partial Regex SourceHost();

    private static IReadOnlyList<string> MachineRegistryHosts()
    {
        var files = new List<string>();
        if (File.Exists("/etc/apt/sources.list")) files.Add("/etc/apt/sources.list");
        if (Directory.Exists("/etc/apt/sources.list.d")) files.AddRange(Directory.GetFiles("/etc/apt/sources.list.d"));
        return files
            .SelectMany(f => SourceHost().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value.ToLowerInvariant()))
            .Distinct()
            .ToList();
    }

    [Fact]
    public void No_profile_names_a_host_of_this_machines_package_registry()
    {
        var hosts = MachineRegistryHosts();
        foreach (var name in OsProfileCatalog.Known)
        {
            var text = OsProfileCatalog.ProfileText(name).ToLowerInvariant();
            Assert.All(hosts, host => Assert.False(text.Contains(host, StringComparison.Ordinal), $"profile {name} names a registry host of this machine"));
        }
        foreach (var key in OsProfileCatalog.KnownKeys)
        {
            var text = System.Text.Encoding.Latin1.GetString(OsProfileCatalog.KeyBytes(key)).ToLowerInvariant();
            Assert.All(hosts, host => Assert.False(text.Contains(host, StringComparison.Ordinal), $"key {key} names a registry host of this machine"));
        }
    }

    [Fact]
    public void The_source_reader_finds_hosts_in_both_apt_formats()
    {
        const string text = "deb [arch=amd64] http://one.example/debian bookworm main\nTypes: deb\nURIs: https://two.example:8443/x\n";
        Assert.Equal(["one.example", "two.example"], SourceHost().Matches(text).Select(m => m.Groups[1].Value));
    }
}
