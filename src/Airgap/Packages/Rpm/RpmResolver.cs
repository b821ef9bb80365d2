namespace Airgap.Packages.Rpm;

/// <summary>
/// Computes the set of rpms a host needs to install the requested packages with no network: the
/// closure over Requires (names, versioned Provides and file paths), newest version that satisfies,
/// pinned where asked, minus what every base system already has.
/// </summary>
public sealed class RpmResolver(RpmRepositoryClient client)
{
    public async Task<PackageSet> ResolveAsync(
        IReadOnlyList<PackageRepository> repositories,
        IReadOnlyList<PackageRequest> requests,
        string arch,
        IReadOnlySet<string> baseSystem,
        CancellationToken ct)
    {
        var rpmArch = RpmArch(arch);
        // Repositories load in parallel; their order is kept because it breaks ties between equal packages.
        var indexes = await Task.WhenAll(repositories.Select(r => client.LoadAsync(r, ct))).ConfigureAwait(false);
        return Resolve(indexes, requests, rpmArch, baseSystem);
    }

    /// <summary>Debian/OCI architecture names to rpm's; rpm's own names are accepted as they are.</summary>
    public static string RpmArch(string arch) => arch switch
    {
        "amd64" or "x86_64" => "x86_64",
        "arm64" or "aarch64" => "aarch64",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        _ => throw new AirgapException($"architecture '{arch}' has no rpm equivalent here; use amd64 or arm64"),
    };

    /// <summary>
    /// Resolves against indexes already loaded. <paramref name="baseSystem"/> holds package names (or
    /// capabilities such as /bin/sh) that every target host has: they end the walk and are listed in
    /// <see cref="PackageSet.Excluded"/> instead of being carried.
    /// </summary>
    public static PackageSet Resolve(IReadOnlyList<RpmRepositoryIndex> indexes, IReadOnlyList<PackageRequest> requests, string arch, IReadOnlySet<string> baseSystem)
    {
        var rpmArch = RpmArch(arch);
        return new Closure(new CandidateIndex(indexes, rpmArch), baseSystem).Run(requests);
    }

    private sealed record Candidate(RpmPackage Package, RpmRepositoryIndex Index)
    {
        public override string ToString() => $"{Package.Name} {Package.Evr}";
    }

    private sealed record Chosen(Candidate Candidate, string Chain);

    /// <summary>Every installable package of the target architecture, looked up by name, Provides and file.</summary>
    private sealed class CandidateIndex
    {
        private readonly Dictionary<string, List<Candidate>> _byName = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<Candidate>> _byCapability = new(StringComparer.Ordinal);

        public string Repositories { get; }

        public CandidateIndex(IReadOnlyList<RpmRepositoryIndex> indexes, string rpmArch)
        {
            Repositories = string.Join(", ", indexes.Select(i => i.Repository.Name));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var index in indexes)
            {
                foreach (var p in index.Packages)
                {
                    if (p.Arch != rpmArch && p.Arch != "noarch") continue;
                    // The same build is often in several repositories (base and a mirror of it): the first one listed wins.
                    if (!seen.Add(p.Nevra)) continue;
                    var c = new Candidate(p, index);
                    Add(_byName, p.Name, c);
                    Add(_byCapability, p.Name, c);
                    foreach (var provide in p.Provides.Select(x => x.Name).Distinct(StringComparer.Ordinal))
                        if (provide != p.Name) Add(_byCapability, provide, c);
                    foreach (var file in p.Files.Distinct(StringComparer.Ordinal))
                        Add(_byCapability, file, c);
                }
            }
        }

        public IReadOnlyList<Candidate> Named(string name) => _byName.TryGetValue(name, out var l) ? l : [];

        public IEnumerable<Candidate> Providing(RpmDependency require) =>
            _byCapability.TryGetValue(require.Name, out var l) ? l.Where(c => c.Package.Satisfies(require)) : [];

        public IReadOnlyList<Candidate> ProvidingAnyVersion(string name) => _byCapability.TryGetValue(name, out var l) ? l : [];

        private static void Add(Dictionary<string, List<Candidate>> map, string key, Candidate c)
        {
            if (!map.TryGetValue(key, out var list)) map[key] = list = [];
            // One package's keys arrive together, so a repeat (a file also listed as a Provides) is the last entry.
            if (list.Count == 0 || !ReferenceEquals(list[^1], c)) list.Add(c);
        }
    }

    private sealed class Closure(CandidateIndex index, IReadOnlySet<string> baseSystem)
    {
        private readonly Dictionary<string, Chosen> _chosen = new(StringComparer.Ordinal);
        private readonly SortedSet<string> _excluded = new(StringComparer.Ordinal);
        private readonly Queue<Chosen> _queue = new();

        public PackageSet Run(IReadOnlyList<PackageRequest> requests)
        {
            foreach (var request in requests) Choose(Pick(request), "");
            while (_queue.TryDequeue(out var node))
            {
                var package = node.Candidate.Package;
                foreach (var require in package.Requires)
                {
                    if (require.IsRpmLib || package.Satisfies(require)) continue;
                    if (_chosen.Values.Any(c => c.Candidate.Package.Satisfies(require))) continue;
                    var providers = index.Providing(require).ToList();
                    if (baseSystem.Contains(require.Name) && providers.Count == 0)
                    {
                        _excluded.Add(require.Name);
                        continue;
                    }
                    var fromBase = providers.Select(p => p.Package.Name).Where(baseSystem.Contains).Order(StringComparer.Ordinal).FirstOrDefault();
                    if (fromBase is not null)
                    {
                        _excluded.Add(fromBase);
                        continue;
                    }
                    if (providers.Count == 0) throw Unsatisfiable(node, require);
                    Choose(Best(providers, require.Name), node.Chain + $"{node.Candidate} → ");
                }
            }
            CheckConflicts();
            var packages = _chosen.Values
                .Select(c => ToResolved(c.Candidate))
                .OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Architecture, StringComparer.Ordinal)
                .ToList();
            return new PackageSet(packages, _excluded.ToList());
        }

        private Candidate Pick(PackageRequest request)
        {
            var named = index.Named(request.Name);
            if (request.Version is null)
            {
                if (named.Count > 0) return Newest(named);
                // `yum install` accepts a capability too (a virtual name or a path).
                var providers = index.Providing(new RpmDependency(request.Name)).ToList();
                if (providers.Count > 0) return Best(providers, request.Name);
                throw new AirgapException($"{request.Name}: no package of that name in {index.Repositories}; check the name or add a repository that has it");
            }
            var pin = RpmVersion.Parse(request.Version);
            var pinnedEpoch = request.Version.Contains(':', StringComparison.Ordinal);
            var matching = named.Where(c => Matches(c.Package.Evr, pin, pinnedEpoch)).ToList();
            if (matching.Count > 0) return Newest(matching);
            var available = named.Select(c => c.Package.Evr).Distinct().OrderDescending().Take(5).ToList();
            throw new AirgapException(available.Count == 0
                ? $"{request.Name} {request.Version}: no package of that name in {index.Repositories}; check the name or add a repository that has it"
                : $"{request.Name} {request.Version}: not in {index.Repositories} (newest there: {string.Join(", ", available)}); pin a version the repository has");
        }

        /// <summary>"1.20.2-0" pins version and release, "1.20.2" the version (newest release of it).</summary>
        private static bool Matches(RpmVersion evr, RpmVersion pin, bool pinnedEpoch) =>
            (!pinnedEpoch || evr.Epoch == pin.Epoch)
            && RpmVersion.Compare(evr.Version, pin.Version) == 0
            && (pin.Release is null || (evr.Release is not null && RpmVersion.Compare(evr.Release, pin.Release) == 0));

        private void Choose(Candidate candidate, string chain)
        {
            var name = candidate.Package.Name;
            if (_chosen.TryGetValue(name, out var existing))
            {
                if (ReferenceEquals(existing.Candidate, candidate)) return;
                throw new AirgapException(
                    $"{chain}{candidate}: but {existing.Chain}{existing.Candidate} is already chosen; only one version of a package installs, so pin versions that agree");
            }
            var node = new Chosen(candidate, chain);
            _chosen[name] = node;
            _queue.Enqueue(node);
        }

        /// <summary>
        /// Among providers: the package named as the capability if there is one (what dnf does for
        /// "iptables" when an iptables package exists), else the alphabetically first name so the choice
        /// does not depend on repository order; then that name's newest version.
        /// </summary>
        private static Candidate Best(List<Candidate> providers, string capability)
        {
            var sameName = providers.Where(p => p.Package.Name == capability).ToList();
            if (sameName.Count > 0) return Newest(sameName);
            var name = providers.Select(p => p.Package.Name).Order(StringComparer.Ordinal).First();
            return Newest(providers.Where(p => p.Package.Name == name).ToList());
        }

        /// <summary>Highest EVR; between equal ones the first listed, i.e. from the first repository.</summary>
        private static Candidate Newest(IReadOnlyList<Candidate> list)
        {
            var best = list[0];
            foreach (var c in list.Skip(1))
                if (c.Package.Evr.CompareTo(best.Package.Evr) > 0) best = c;
            return best;
        }

        private AirgapException Unsatisfiable(Chosen node, RpmDependency require)
        {
            var chain = $"{node.Chain}{node.Candidate} → {require}";
            if (require.IsVersioned)
            {
                var other = index.ProvidingAnyVersion(require.Name).Select(c => c.ToString()).Distinct().Take(5).ToList();
                if (other.Count > 0)
                    return new AirgapException($"{chain}: nothing in {index.Repositories} provides a version that fits (there: {string.Join(", ", other)}); add a repository that has one");
            }
            return new AirgapException($"{chain}: nothing provides it in {index.Repositories}; add a repository that has it");
        }

        private void CheckConflicts()
        {
            foreach (var a in _chosen.Values)
            foreach (var conflict in a.Candidate.Package.Conflicts)
            foreach (var b in _chosen.Values)
            {
                if (ReferenceEquals(a, b)) continue;
                if (b.Candidate.Package.Satisfies(conflict))
                    throw new AirgapException(
                        $"{a.Chain}{a.Candidate} conflicts with {b.Chain}{b.Candidate} ({conflict}); they cannot be installed together, so pin other versions");
            }
        }

        private static ResolvedPackage ToResolved(Candidate c)
        {
            var p = c.Package;
            if (p.ChecksumType != "sha256")
                throw new AirgapException($"{p.Name} {p.Evr} in {c.Index.Repository.Name} has only a '{p.ChecksumType}' checksum in primary.xml; airgap verifies packages by sha256, so use a repository built with createrepo_c --checksum sha256");
            return new ResolvedPackage(p.Name, p.Evr.ToString(), p.Arch, c.Index.UrlOf(p), p.Checksum, p.Size,
                c.Index.Repository.Name, Path.GetFileName(p.LocationHref), p.Xml);
        }
    }
}
