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
        CancellationToken cancellationToken)
    {
        var (address, ms, error) = await ResolveAsync(host, cancellationToken);
        if (address is not null && policy.Refusal(address, kind) is { } refusal) return (null, ms, $"not probed: {refusal}");
        return (address, ms, error);
    }

    public static async Task<(IPAddress? Address, double? ResolveMs, string? Error)> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (IPAddress.TryParse(literal, out var ip)) return (ip, null, null);
        var start = Stopwatch.GetTimestamp();
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
            var ms = Elapsed(start);
            var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
                         ?? addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6);
            return chosen is null ? (null, ms, $"{CannotResolve}{host}: it has no IP address") : (chosen, ms, null);
        }
        catch (SocketException e)
        {
            return (null, Elapsed(start), $"{CannotResolve}{host}: {e.Message}");
        }
    }

    internal static double Elapsed(long start) => Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 3);
}
