using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Airgap.Nodes;

/// <summary>CIDR checks shared by every config that carries the pod or service network, so they all reject the same inputs.</summary>
internal static class Cidr
{
    public static IPNetwork Parse(string value, string what)
    {
        var slash = value.IndexOf('/');
        if (slash <= 0 || !IPAddress.TryParse(value[..slash], out var address) ||
            // IPAddress also reads "10.244" and "10.1.1"; Go's ParseCIDR, which kubeadm and CNI use, does not.
            (address.AddressFamily == AddressFamily.InterNetwork && address.ToString() != value[..slash]) ||
            !int.TryParse(value[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) ||
            prefix > address.GetAddressBytes().Length * 8)
            throw new AirgapException($"{what} \"{value}\" is not a CIDR such as 10.244.0.0/16");
        // CNI's host-local and kubeadm refuse an address with bits set past the prefix; say so before they do.
        var network = Mask(address, prefix);
        if (!network.Equals(address))
            throw new AirgapException($"{what} {value} has host bits set; did you mean {network}/{prefix}?");
        return new IPNetwork(network, prefix);
    }

    public static bool IsIPv6(IPNetwork network) => network.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6;

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var bit = prefix; bit < bytes.Length * 8; bit++) bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }
}
