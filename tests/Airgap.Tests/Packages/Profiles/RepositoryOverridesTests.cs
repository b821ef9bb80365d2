using Airgap.Packages;
using Airgap.Packages.Profiles;

namespace Airgap.Tests.Packages.Profiles;

public sealed class RepositoryOverridesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("airgap-repos-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_repos_file_lists_apt_and_rpm_repositories_with_keys_relative_to_it()
    {
        Write("keys/k8s.asc", "key");
        var path = Write("repos.yaml", """
            - name: kubernetes
              kind: apt
              url: http://127.0.0.1:8080/k8s
              suite: kubernetes-xenial
              components: [main]
              key: keys/k8s.asc
            - name: flat
              kind: apt
              url: https://mirror.example/flat/
              suite: /
            - name: docker-ce
              kind: rpm
              url: https://mirror.example/docker-ce/linux/centos/7/x86_64/stable
            """);

        var repos = RepositoryOverrides.LoadReposFile(path);

        Assert.Equal(3, repos.Count);
        var k8s = repos[0];
        Assert.Equal(new PackageRepository("kubernetes", RepositoryKind.Apt, new Uri("http://127.0.0.1:8080/k8s/"), "kubernetes-xenial", k8s.Components, Path.Combine(_dir, "keys", "k8s.asc")), k8s);
        Assert.Equal(["main"], k8s.Components);
        Assert.Equal("/", repos[1].Suite);
        Assert.Null(repos[1].KeyFile);
        Assert.Equal(RepositoryKind.Rpm, repos[2].Kind);
        Assert.Equal("https://mirror.example/docker-ce/linux/centos/7/x86_64/stable/", repos[2].BaseUrl.AbsoluteUri);
    }

    [Theory]
    [InlineData("- {name: a, kind: zypper, url: http://x/}", "kind: apt or kind: rpm")]
    [InlineData("- {name: a, kind: apt, url: 'ftp://x/', suite: /}", "not an absolute http")]
    [InlineData("- {name: a, kind: apt, url: 'http://x/', suite: stable}", "needs components")]
    [InlineData("- {name: a, kind: apt, url: 'http://x/', suite: /, keyfile: k.gpg}", "keyfile")]
    [InlineData("- {name: a, kind: apt, url: 'http://x/', suite: /, key: missing.gpg}", "does not exist")]
    [InlineData("- {name: a, kind: rpm, url: 'http://x/'}\n- {name: a, kind: rpm, url: 'http://y/'}", "unique")]
    [InlineData("name: a", "not a list")]
    [InlineData("", "holds no repository")]
    public void Mistakes_in_a_repos_file_are_one_line_errors_naming_the_file(string yaml, string expected)
    {
        var path = Write("repos.yaml", yaml);
        var e = Assert.Throws<AirgapException>(() => RepositoryOverrides.LoadReposFile(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_missing_repos_file_is_an_error()
    {
        var e = Assert.Throws<AirgapException>(() => RepositoryOverrides.LoadReposFile(Path.Combine(_dir, "none.yaml")));
        Assert.StartsWith("--repos ", e.Message);
    }
}
