using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Swarm.Probing;

/// <summary>Resolves a target's host, timing resolution apart from the RTT; a failure is a reason, never an exception.</summary>
public static class HostResolver
{
    /// <summary>How a failed lookup's reason begins (documents mark it as Heartbeat's DNS_LOOKUP_FAILED).</summary>
    public const string CannotResolve = "cannot resolve ";

    /// <summary>Resolves <paramref name="host"/>, then asks <paramref name="policy"/> whether <paramref name="kind"/> may probe where it points.</summary>
    public static async Task<(IPAddress? Address, double? ResolveMs, string? Error)> ResolveAsync(string host, string kind, AddressPolicy policy,
        CancellationToken cancellationToken, IpFamily family = IpFamily.Any)
    {
        var (address, ms, error) = await ResolveAsync(host, cancellationToken, family);
        if (address is not null && policy.Refusal(address, kind) is { } refusal) return (null, ms, $"not probed: {refusal}");
        return (address, ms, error);
    }

    /// <summary>
    /// Resolves <paramref name="host"/> in <paramref name="family"/> (only that family's addresses are asked for);
    /// <see cref="IpFamily.Any"/> takes IPv4 when the name has both.
    /// </summary>
    public static async Task<(IPAddress? Address, double? ResolveMs, string? Error)> ResolveAsync(string host, CancellationToken cancellationToken,
        IpFamily family = IpFamily.Any)
    {
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        var wanted = family switch { IpFamily.V4 => AddressFamily.InterNetwork, IpFamily.V6 => AddressFamily.InterNetworkV6, _ => AddressFamily.Unspecified };
        if (IPAddress.TryParse(literal, out var ip))
            return wanted == AddressFamily.Unspecified || ip.AddressFamily == wanted ? (ip, null, null) : (null, null, $"{ip} is not an {Name(wanted)} address");
        var start = Stopwatch.GetTimestamp();
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, wanted, cancellationToken);
            var ms = Elapsed(start);
            var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && wanted != AddressFamily.InterNetworkV6)
                         // An IPv4-mapped address (::ffff:a.b.c.d) is IPv4 in disguise: no answer to "is it only IPv6?".
                         ?? addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6 && !a.IsIPv4MappedToIPv6 && wanted != AddressFamily.InterNetwork);
            var what = wanted == AddressFamily.Unspecified ? "IP" : Name(wanted);
            return chosen is null ? (null, ms, $"{CannotResolve}{host}: it has no {what} address") : (chosen, ms, null);
        }
        catch (SocketException e)
        {
            var ms = Elapsed(start);
            // getaddrinfo says "not known" when the name has only the other family's addresses: say which.
            if (wanted != AddressFamily.Unspecified && await HasAnyAddressAsync(host, cancellationToken))
                return (null, ms, $"{CannotResolve}{host}: it has no {Name(wanted)} address");
            return (null, ms, $"{CannotResolve}{host}: {e.Message}");
        }
    }

    private static async Task<bool> HasAnyAddressAsync(string host, CancellationToken cancellationToken)
    {
        try { return (await Dns.GetHostAddressesAsync(host, cancellationToken)).Length > 0; }
        catch (SocketException) { return false; }
    }

    private static string Name(AddressFamily family) => family == AddressFamily.InterNetwork ? "IPv4" : "IPv6";

    internal static double Elapsed(long start) => Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 3);
}
