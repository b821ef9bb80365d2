namespace Airgap.TestKit;

/// <summary>
/// A throwaway GnuPG home for signing test repositories: keys made on the spot with no passphrase,
/// gpg run non-interactively, and the agent it starts stopped again on dispose.
/// </summary>
public sealed class GpgKeyring(string home) : IAsyncDisposable
{
    public string Home { get; } = home;

    /// <summary>Runs gpg against this home and returns its stdout; a failure throws with gpg's output.</summary>
    public async Task<string> RunAsync(CancellationToken ct, params string[] args)
    {
        Directory.CreateDirectory(Home);
        var result = await ProcessRunner.RunAsync("/usr/bin/env",
            [$"GNUPGHOME={Home}", "gpg", "--batch", "--quiet", "--passphrase", "", "--pinentry-mode", "loopback", .. args], ct).ConfigureAwait(false);
        if (!result.Succeeded) throw new InvalidOperationException($"gpg {string.Join(' ', args)} failed: {result}");
        return result.Stdout;
    }

    /// <summary>A signing key for "Name &lt;email&gt;" (rsa2048 or ed25519), never expiring.</summary>
    public Task GenerateAsync(string userId, string algorithm, CancellationToken ct) =>
        RunAsync(ct, "--quick-gen-key", userId, algorithm, "sign", "never");

    public Task<string> ExportArmoredAsync(string user, CancellationToken ct) => RunAsync(ct, "--export", "--armor", user);

    /// <summary>The public key as a binary keyring file, as apt's signed-by and airgap's --k8s-repo-key take it.</summary>
    public async Task ExportBinaryAsync(string user, string path, CancellationToken ct)
    {
        await RunAsync(ct, "--output", path, "--export", user).ConfigureAwait(false);
        if (new FileInfo(path).Length == 0) throw new InvalidOperationException($"gpg exported no key for {user}");
    }

    public async ValueTask DisposeAsync()
    {
        // gpg started an agent for this GNUPGHOME; stop exactly that one.
        if (Directory.Exists(Home))
            await ProcessRunner.RunAsync("/usr/bin/env", [$"GNUPGHOME={Home}", "gpgconf", "--kill", "gpg-agent"]).ConfigureAwait(false);
    }
}
