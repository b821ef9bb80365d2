using System.Text.RegularExpressions;

namespace Airgap.Nodes;

/// <summary>
/// Reads the line `kubeadm token create --print-join-command` prints (what airgap writes to
/// /var/lib/airgap/join.txt) into join settings, so an operator copies one file, not three secrets.
/// </summary>
public static partial class JoinCommandLine
{
    public static (KubeadmJoinSettings Settings, string? CertificateKey) Parse(string text, string where)
    {
        var tokens = text.Replace("\\\n", " ", StringComparison.Ordinal).Split((char[])[' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
        var start = Array.FindIndex(tokens, t => t == "join");
        if (start < 0 || start + 1 >= tokens.Length)
            throw new AirgapException($"{where} does not hold a `kubeadm join` line; make it with `kubeadm token create --print-join-command` on a control plane");
        string? endpoint = null, token = null, certificateKey = null;
        var hashes = new List<string>();
        var controlPlane = false;
        for (var i = start + 1; i < tokens.Length; i++)
        {
            var (name, value) = Split(tokens, ref i);
            switch (name)
            {
                case null: endpoint ??= value; break;
                case "--token": token = value; break;
                case "--discovery-token-ca-cert-hash": hashes.Add(value ?? ""); break;
                case "--control-plane": controlPlane = true; break;
                case "--certificate-key": certificateKey = value; break;
                default: break; // flags kubeadm accepts that change nothing airgap decides (e.g. --v)
            }
        }
        if (endpoint is null || !EndpointPattern().IsMatch(endpoint))
            throw new AirgapException($"{where}: the join line has no API server HOST:PORT");
        if (token is null || !TokenPattern().IsMatch(token))
            throw new AirgapException($"{where}: the join line has no valid --token (abcdef.0123456789abcdef)");
        if (hashes.Count == 0 || hashes.Any(h => !HashPattern().IsMatch(h)))
            throw new AirgapException($"{where}: the join line needs --discovery-token-ca-cert-hash sha256:<64 hex>; airgap does not join without pinning the cluster CA");
        return (new KubeadmJoinSettings { ApiServerEndpoint = endpoint, Token = token, CaCertHashes = hashes, ControlPlane = controlPlane }, certificateKey);
    }

    private static (string? Name, string? Value) Split(string[] tokens, ref int i)
    {
        var t = tokens[i];
        if (!t.StartsWith("--", StringComparison.Ordinal)) return (null, t);
        var eq = t.IndexOf('=');
        if (eq > 0) return (t[..eq], t[(eq + 1)..]);
        if (t == "--control-plane") return (t, null);
        return i + 1 < tokens.Length ? (t, tokens[++i]) : (t, null);
    }

    [GeneratedRegex(@"^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}$")]
    private static partial Regex EndpointPattern();

    [GeneratedRegex(@"^[a-z0-9]{6}\.[a-z0-9]{16}$")]
    private static partial Regex TokenPattern();

    [GeneratedRegex(@"^sha256:[a-f0-9]{64}$")]
    private static partial Regex HashPattern();
}
