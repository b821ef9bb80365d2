namespace Airgap.Packages.Apt;

/// <summary>
/// Computes the set of .deb files an offline host needs to <c>apt-get install --no-install-recommends</c>
/// the requested packages: the closure over Depends and Pre-Depends. Recommends and Suggests are not
/// followed, so the node-side install must pass --no-install-recommends (with the bundle as its only
/// source, apt would otherwise fail on the first Recommends the bundle lacks).
///
/// The choices mirror apt's with default pins: for each name the highest version across all
/// repositories that satisfies the relation (exact pins for requests); an or-group is satisfied if any
/// alternative already is, else by its first alternative that can be; a virtual package by its
/// provider, preferring a real package of that name, then Essential, then higher Priority, then index
/// order (apt's CompareProviders). Packages every base system has (Essential: yes or Priority: required,
/// and what they depend on — what debootstrap --variant=minbase installs; the integration tests check
/// this against a real debootstrap) are left out and
/// named in <see cref="PackageSet.Excluded"/>. Like apt, it does not backtrack: a choice that later
/// proves wrong (a Conflicts, a version another package forbids) is an error naming both sides.
/// </summary>
public sealed class AptResolver(AptRepositoryClient client)
{
    public const string RepositoryAdvice = "add a repository that has it (--os-mirror / --repos)";

    /// <summary>Loads every repository's index for <paramref name="arch"/>, then resolves.</summary>
    public async Task<PackageSet> ResolveAsync(IReadOnlyList<PackageRepository> repos, IReadOnlyList<PackageRequest> requests, string arch, CancellationToken ct)
    {
        var indexes = await Task.WhenAll(repos.Select(r => client.LoadAsync(r, arch, ct))).ConfigureAwait(false);
        return Resolve(indexes, requests, arch);
    }

    /// <summary>Resolves over indexes already loaded (in repository order, which breaks ties between equal versions).</summary>
    public static PackageSet Resolve(IReadOnlyList<AptIndex> indexes, IReadOnlyList<PackageRequest> requests, string arch)
    {
        var universe = new Universe(indexes, arch);
        var baseSystem = new Selection(arch);
        new Closure(universe, baseSystem, fixedSet: null, lenient: true).Run(universe.BaseSeeds().Select(p => new Choice(p, null)).ToList());

        var chosen = new Selection(arch);
        var excluded = new SortedSet<string>(StringComparer.Ordinal);
        var roots = new List<Choice>();
        foreach (var request in requests)
        {
            var package = universe.ForRequest(request, out var why)
                ?? throw new AirgapException(why);
            if (request.Version is null && baseSystem.Get(package.Name) is { } present)
            {
                excluded.Add(present.Name);
                continue;
            }
            if (chosen.Get(package.Name) is { } earlier)
            {
                if (earlier.Version == package.Version) continue;
                throw new AirgapException($"{package.Name} is requested twice, as {earlier.Version} and {package.Version}; request one version");
            }
            var choice = new Choice(package, null);
            chosen.Add(choice);
            roots.Add(choice);
        }
        new Closure(universe, chosen, baseSystem, lenient: false) { Excluded = excluded }.Run(roots, alreadyAdded: true);
        CheckConflicts(chosen, baseSystem, arch);

        var packages = chosen.All
            .OrderBy(c => c.Package.Name, StringComparer.Ordinal)
            .Select(c => ToResolved(c.Package))
            .ToList();
        return new PackageSet(packages, excluded.ToList());
    }

    private static ResolvedPackage ToResolved(AptPackage p)
    {
        var version = p.Version.Text[(p.Version.Text.IndexOf(':', StringComparison.Ordinal) + 1)..];
        // dpkg-name's canonical name, epoch dropped as Debian's pool does: unique because one version per name is chosen.
        var fileName = $"{p.Name}_{version}_{p.Architecture}.deb";
        return new ResolvedPackage(p.Name, p.Version.Text, p.Architecture, p.Url(), p.Sha256 ?? "", p.Size, p.Repository, fileName, p.Control);
    }

    private static void CheckConflicts(Selection chosen, Selection baseSystem, string arch)
    {
        var everyone = chosen.All.Select(c => (c.Package, Base: false))
            .Concat(baseSystem.All.Where(b => chosen.Get(b.Package.Name) is null).Select(b => (b.Package, Base: true)))
            .ToList();
        var byName = everyone.ToDictionary(e => e.Package.Name, e => e, StringComparer.Ordinal);
        var providers = everyone.SelectMany(e => e.Package.Provides.Select(pr => (pr.Name, e))).ToLookup(x => x.Name, x => x.e, StringComparer.Ordinal);
        foreach (var (package, isBase) in everyone)
        {
            foreach (var (field, relations) in new[] { ("Conflicts", package.Conflicts), ("Breaks", package.Breaks) })
            {
                foreach (var relation in relations.Where(r => r.AppliesTo(arch)))
                {
                    var hits = new List<(AptPackage Package, bool Base)>();
                    if (byName.TryGetValue(relation.Name, out var named) && named.Package != package && Matches(named.Package, relation, arch)) hits.Add(named);
                    hits.AddRange(providers[relation.Name].Where(e => e.Package != package && e.Package.Name != package.Name && ProvidesMatch(e.Package, relation)));
                    foreach (var other in hits)
                    {
                        if (isBase && other.Base) continue; // the base system is consistent by definition
                        throw new AirgapException(
                            $"{package.Name} {package.Version} and {other.Package.Name} {other.Package.Version} cannot be installed together ({field}: {relation}); "
                            + "pin a different version of one of them");
                    }
                }
            }
        }
    }

    internal static bool Matches(AptPackage p, Relation r, string arch) =>
        p.Name == r.Name && r.AcceptsVersion(p.Version) && r.QualifierAllows(p.Architecture == "all" ? arch : p.Architecture);

    internal static bool ProvidesMatch(AptPackage p, Relation r) =>
        p.Provides.Any(pr => pr.Name == r.Name && r.AcceptsVersion(pr.Version));

    /// <summary>A chosen package and why: the package whose relation pulled it in (null for a request or a base seed).</summary>
    private sealed record Choice(AptPackage Package, Choice? Parent)
    {
        public string Chain()
        {
            var parts = new List<string>();
            for (var c = this; c is not null; c = c.Parent) parts.Add($"{c.Package.Name} {c.Package.Version}");
            parts.Reverse();
            return string.Join(" → ", parts);
        }
    }

    /// <summary>A consistent set of packages, one version per name, with what they provide.</summary>
    private sealed class Selection(string arch)
    {
        private readonly Dictionary<string, Choice> _byName = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<Choice>> _provided = new(StringComparer.Ordinal);
        private readonly List<Choice> _order = [];

        public string Arch => arch;

        public IReadOnlyList<Choice> All => _order;

        public AptPackage? Get(string name) => _byName.GetValueOrDefault(name)?.Package;

        public void Add(Choice c)
        {
            _byName.Add(c.Package.Name, c);
            _order.Add(c);
            foreach (var pr in c.Package.Provides)
            {
                if (!_provided.TryGetValue(pr.Name, out var list)) _provided[pr.Name] = list = [];
                list.Add(c);
            }
        }

        /// <summary>The package in this set that satisfies the relation, by name or by Provides.</summary>
        public AptPackage? Satisfier(Relation r)
        {
            if (_byName.TryGetValue(r.Name, out var named) && Matches(named.Package, r, arch)) return named.Package;
            if (_provided.TryGetValue(r.Name, out var providers))
                foreach (var p in providers)
                    if (ProvidesMatch(p.Package, r)) return p.Package;
            return null;
        }
    }

    /// <summary>Every package of every index, highest version first for each name.</summary>
    private sealed class Universe
    {
        private readonly Dictionary<string, List<AptPackage>> _byName = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<AptPackage>> _providers = new(StringComparer.Ordinal);
        private readonly Dictionary<AptPackage, int> _order = [];
        private readonly string _arch;

        public Universe(IReadOnlyList<AptIndex> indexes, string arch)
        {
            _arch = arch;
            RepositoryNames = string.Join(", ", indexes.Select(i => $"'{i.Repository.Name}'"));
            var seen = new HashSet<(string, DebianVersion, string)>();
            foreach (var index in indexes)
            {
                foreach (var p in index.Packages)
                {
                    // The same version in two repositories is one version to apt; the earlier repository serves it.
                    if (!seen.Add((p.Name, p.Version, p.Architecture))) continue;
                    _order[p] = _order.Count;
                    if (!_byName.TryGetValue(p.Name, out var versions)) _byName[p.Name] = versions = [];
                    versions.Add(p);
                    foreach (var pr in p.Provides)
                    {
                        if (!_providers.TryGetValue(pr.Name, out var list)) _providers[pr.Name] = list = [];
                        list.Add(p);
                    }
                }
            }
            foreach (var versions in _byName.Values)
                // Highest version first; for one version in both "all" and the target arch, the target's (apt prefers native).
                versions.Sort((a, b) => b.Version.CompareTo(a.Version) is var c && c != 0 ? c
                    : (a.Architecture == "all").CompareTo(b.Architecture == "all") is var d && d != 0 ? d : _order[a].CompareTo(_order[b]));
        }

        public string RepositoryNames { get; }

        /// <summary>The candidate (highest) version of every name that is Essential or Priority: required.</summary>
        public IEnumerable<AptPackage> BaseSeeds() =>
            _byName.Values.Select(v => v[0]).Where(p => p.IsBase).OrderBy(p => _order[p]);

        public IReadOnlyList<AptPackage> Versions(string name) => _byName.GetValueOrDefault(name) ?? [];

        public AptPackage? ForRequest(PackageRequest request, out string why)
        {
            why = "";
            var versions = Versions(request.Name);
            if (versions.Count > 0)
            {
                if (request.Version is null) return versions[0];
                if (!DebianVersion.TryParse(request.Version, out var wanted))
                {
                    why = $"\"{request.Version}\" (asked for {request.Name}) is not a Debian version";
                    return null;
                }
                // A pin without a revision ("1.28.0") means that upstream version, newest revision: pkgs.k8s.io
                // rebuilds packages as 1.28.0-1.1, -2.1, … and the profile cannot know which one a mirror has.
                var exact = versions.FirstOrDefault(v => v.Version == wanted)
                    ?? (request.Version.Contains('-') ? null
                        : versions.FirstOrDefault(v => v.Version.Epoch == wanted.Epoch && v.Version.Upstream == wanted.Upstream));
                if (exact is null)
                    why = $"{request.Name} {request.Version} is not in {RepositoryNames} (it has {string.Join(", ", versions.Take(8).Select(v => v.Version.Text))}{(versions.Count > 8 ? ", …" : "")}); "
                          + "request a version that exists or add a repository that has it (--k8s-repo / --repos)";
                return exact;
            }
            var providers = (_providers.GetValueOrDefault(request.Name) ?? []).Select(p => p.Name).Distinct().ToList();
            if (providers.Count == 1 && request.Version is null)
                return Versions(providers[0])[0]; // apt-get install does the same ("Note, selecting …")
            why = providers.Count > 1
                ? $"{request.Name} is a virtual package provided by {string.Join(", ", providers.Take(8))}; request one of them"
                : $"package {request.Name} is not in {RepositoryNames}; {RepositoryAdvice}";
            return null;
        }

        /// <summary>The best package not yet in either set that would satisfy the relation; null if none.</summary>
        public AptPackage? Candidate(Relation r, Func<string, bool> taken)
        {
            if (!taken(r.Name))
                foreach (var p in Versions(r.Name))
                    if (Matches(p, r, _arch)) return p;
            if (!_providers.TryGetValue(r.Name, out var providers)) return null;
            return providers
                .Where(p => !taken(p.Name) && ProvidesMatch(p, r))
                .OrderBy(p => p.Essential ? 0 : 1)
                .ThenBy(p => PriorityRank(p.Priority))
                .ThenByDescending(p => p.Version)
                .ThenBy(p => _order[p])
                .FirstOrDefault();
        }

        /// <summary>Why nothing satisfies a relation, in words for the operator.</summary>
        public string Explain(Relation r, Selection chosen, Selection? fixedSet)
        {
            var present = chosen.Get(r.Name) ?? fixedSet?.Get(r.Name);
            if (present is not null && !Matches(present, r, _arch))
                return $"{r.Name} {present.Version} is already chosen (by request, or for another package, or as part of the base system)";
            var versions = Versions(r.Name);
            if (versions.Count > 0)
                return $"only {r.Name} {string.Join(", ", versions.Take(5).Select(v => v.Version.Text))}{(versions.Count > 5 ? ", …" : "")} in {RepositoryNames}";
            return _providers.ContainsKey(r.Name)
                ? $"no provider of {r.Name} in {RepositoryNames} fits"
                : $"no package provides it in {RepositoryNames}";
        }

        private static int PriorityRank(string? priority) => priority?.ToLowerInvariant() switch
        {
            "required" => 0,
            "important" => 1,
            "standard" => 2,
            "optional" => 3,
            "extra" => 4,
            _ => 5,
        };
    }

    /// <summary>Walks Pre-Depends and Depends breadth first, adding to <c>target</c> what is not already satisfied.</summary>
    private sealed class Closure(Universe universe, Selection target, Selection? fixedSet, bool lenient)
    {
        public SortedSet<string>? Excluded { get; init; }

        public void Run(IReadOnlyList<Choice> roots, bool alreadyAdded = false)
        {
            var queue = new Queue<Choice>();
            foreach (var root in roots)
            {
                if (!alreadyAdded)
                {
                    if (target.Get(root.Package.Name) is not null) continue;
                    target.Add(root);
                }
                queue.Enqueue(root);
            }
            while (queue.Count > 0)
            {
                var current = queue.Dequeue();
                foreach (var group in current.Package.PreDepends.Concat(current.Package.Depends))
                {
                    var next = Satisfy(current, group);
                    if (next is not null)
                    {
                        target.Add(next);
                        queue.Enqueue(next);
                    }
                }
            }
        }

        /// <summary>Null when the group is already satisfied (or not for this architecture); else the new choice.</summary>
        private Choice? Satisfy(Choice from, RelationGroup group)
        {
            var alternatives = group.Alternatives.Where(a => a.AppliesTo(Arch)).ToList();
            if (alternatives.Count == 0) return null;
            foreach (var a in alternatives)
                if (target.Satisfier(a) is not null) return null;
            if (fixedSet is not null)
            {
                foreach (var a in alternatives)
                {
                    if (fixedSet.Satisfier(a) is { } present)
                    {
                        Excluded?.Add(present.Name);
                        return null;
                    }
                }
            }
            foreach (var a in alternatives)
            {
                var candidate = universe.Candidate(a, name => target.Get(name) is not null || fixedSet?.Get(name) is not null);
                if (candidate is not null) return new Choice(candidate, from);
            }
            if (lenient) return null;
            var reason = alternatives.Count == 1
                ? universe.Explain(alternatives[0], target, fixedSet)
                : string.Join("; ", alternatives.Select(a => $"{a.Name}: {universe.Explain(a, target, fixedSet)}"));
            throw new AirgapException($"{from.Chain()} → {group}: {reason}; {RepositoryAdvice}");
        }

        private string Arch => target.Arch;
    }
}
