using System.Net;
using System.Net.Sockets;

namespace Swarm.Probing;

/// <summary>
/// Which addresses a bee may probe, checked after resolution at probe time, so a name that resolves somewhere else
/// tomorrow (DNS rebinding) is judged by where it points now. Unspecified, link-local (cloud metadata lives at
/// 169.254.169.254), multicast and broadcast addresses are never probed. Loopback and private ranges may be pinged,
/// but TCP and HTTP probes reach them only inside <see cref="Allow"/>: a target list must not turn a bee into a
/// scanner of the network it stands in. <see cref="Deny"/> is never probed by any kind.
/// </summary>
public sealed record AddressPolicy(IReadOnlyList<IPNetwork> Allow, IReadOnlyList<IPNetwork> Deny)
{
    private static readonly (IPNetwork Network, string What)[] Never =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "an unspecified address"),
        (IPNetwork.Parse("::/128"), "an unspecified address"),
        (IPNetwork.Parse("169.254.0.0/16"), "link-local (cloud metadata lives there)"),
        (IPNetwork.Parse("fe80::/10"), "link-local"),
        (IPNetwork.Parse("224.0.0.0/4"), "multicast"),
        (IPNetwork.Parse("ff00::/8"), "multicast"),
        (IPNetwork.Parse("255.255.255.255/32"), "broadcast"),
    ];

    private static readonly IPNetwork[] Internal =
    [
        IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.168.0.0/16"), IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("fc00::/7"),
    ];

    /// <summary>The defaults: nothing allowed beyond the rules, nothing denied beyond them.</summary>
    public static readonly AddressPolicy Default = new([], []);

    /// <summary>For the operator's own <c>swarm probe</c>: the person at the keyboard may probe what their machine can reach.</summary>
    public static readonly AddressPolicy Operator = new([IPNetwork.Parse("0.0.0.0/0"), IPNetwork.Parse("::/0")], []) { Unrestricted = true };

    private bool Unrestricted { get; init; }

    /// <summary>Why <paramref name="address"/> may not be probed by <paramref name="kind"/>, or null when it may.</summary>
    public string? Refusal(IPAddress address, string kind)
    {
        if (Unrestricted) return null;
        var a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var denied in Deny)
            if (denied.Contains(a)) return $"{a} is in {denied}, which Swarm:Probe:DenyNetworks denies";
        foreach (var (network, what) in Never)
            if (network.Contains(a)) return $"{a} is {what}: never probed";
        if (kind != ProbeTarget.Icmp && Internal.Any(n => n.Contains(a)) && !Allow.Any(n => n.Contains(a)))
            return $"{a} is a loopback or private address: {kind} probes reach it only if Swarm:Probe:AllowNetworks lists it";
        return null;
    }

    /// <summary>
    /// Why a target can never be probed, judged from its text alone (an IP literal in a class never probed, or in
    /// <see cref="Deny"/>); null when it may be, or when only resolution will tell.
    /// </summary>
    public string? LiteralRefusal(ProbeTarget target)
    {
        // Judged as ICMP: the rule for TCP and HTTP on private ranges depends on AllowNetworks, so it is not "never".
        return IPAddress.TryParse(target.Host, out var literal) ? Refusal(literal, ProbeTarget.Icmp) : null;
    }

    /// <summary>Parses CIDR lists as configuration gives them; each bad entry is reported with the key and an example.</summary>
    public static IReadOnlyList<IPNetwork> ParseNetworks(string key, IEnumerable<string> entries, List<string> errors)
    {
        var networks = new List<IPNetwork>();
        foreach (var entry in entries)
        {
            if (IPNetwork.TryParse(entry.Trim(), out var network)) networks.Add(network);
            else if (IPAddress.TryParse(entry.Trim(), out var single))
                networks.Add(new IPNetwork(single, single.AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            else errors.Add($"{key}: '{entry}' is not a network in CIDR form, e.g. 10.20.0.0/16 or fd00::/8");
        }
        return networks;
    }
}
