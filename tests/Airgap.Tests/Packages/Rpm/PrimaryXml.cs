using System.Text;
using System.Xml.Linq;
using Airgap.Packages;
using Airgap.Packages.Rpm;

namespace Airgap.Tests.Packages.Rpm;

/// <summary>Writes primary.xml the way createrepo_c lays it out, for tests that need metadata without a repository.</summary>
internal static class PrimaryXml
{
    private static readonly XNamespace C = RpmPrimaryReader.CommonNamespace;
    private static readonly XNamespace R = RpmPrimaryReader.RpmNamespace;

    /// <summary>
    /// One package. Dependencies are "name", "name &gt;= 1.2", "name = 1:1.2-3"; a leading "pre:" marks
    /// Requires(pre). The package's own "name = E:V-R" provide is added as createrepo_c does.
    /// </summary>
    public static XElement Package(string name, string evr, string arch = "x86_64",
        string[]? provides = null, string[]? requires = null, string[]? conflicts = null, string[]? files = null, string? sha256 = null)
    {
        var v = RpmVersion.Parse(evr);
        return new XElement(C + "package", new XAttribute("type", "rpm"),
            new XElement(C + "name", name),
            new XElement(C + "arch", arch),
            new XElement(C + "version", new XAttribute("epoch", v.Epoch), new XAttribute("ver", v.Version), new XAttribute("rel", v.Release ?? "")),
            new XElement(C + "checksum", new XAttribute("type", "sha256"), new XAttribute("pkgid", "YES"),
                sha256 ?? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"{name}-{evr}.{arch}")))),
            new XElement(C + "summary", $"{name} for tests"),
            new XElement(C + "description", $"{name}: a package\nwith a two-line description & an ampersand"),
            new XElement(C + "size", new XAttribute("package", 1234), new XAttribute("installed", 4096), new XAttribute("archive", 4400)),
            new XElement(C + "location", new XAttribute("href", $"Packages/{name}-{v.Version}-{v.Release}.{arch}.rpm")),
            new XElement(C + "format",
                new XElement(R + "license", "ASL 2.0"),
                Entries("provides", [$"{name} = {evr}", .. provides ?? []]),
                Entries("requires", requires ?? []),
                Entries("conflicts", conflicts ?? []),
                (files ?? []).Select(f => new XElement(C + "file", f))));
    }

    public static string Document(params XElement[] packages) =>
        new XElement(C + "metadata",
            new XAttribute("xmlns", C.NamespaceName), new XAttribute(XNamespace.Xmlns + "rpm", R.NamespaceName),
            new XAttribute("packages", packages.Length), packages).ToString();

    public static RpmRepositoryIndex Index(string name, params XElement[] packages)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(Document(packages)));
        var repo = new PackageRepository(name, RepositoryKind.Rpm, new Uri($"http://{name}.example/el7/x86_64/"), null, [], null);
        return new RpmRepositoryIndex(repo, RpmPrimaryReader.Read(stream, name).ToList(), null);
    }

    private static XElement? Entries(string kind, string[] deps)
    {
        if (deps.Length == 0) return null;
        return new XElement(R + kind, deps.Select(d =>
        {
            var pre = d.StartsWith("pre:", StringComparison.Ordinal);
            if (pre) d = d[4..];
            var parts = d.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var e = new XElement(R + "entry", new XAttribute("name", parts[0]));
            if (parts.Length == 3)
            {
                var v = RpmVersion.Parse(parts[2]);
                e.Add(new XAttribute("flags", parts[1] switch { "=" => "EQ", "<" => "LT", "<=" => "LE", ">" => "GT", _ => "GE" }),
                    new XAttribute("epoch", v.Epoch), new XAttribute("ver", v.Version));
                if (v.Release is not null) e.Add(new XAttribute("rel", v.Release));
            }
            if (pre) e.Add(new XAttribute("pre", "1"));
            return e;
        }));
    }
}
