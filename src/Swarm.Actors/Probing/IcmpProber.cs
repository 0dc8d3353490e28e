using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Swarm.Probing;

/// <summary>An ICMP echo round: resolve the target (timed apart), then send <c>Count</c> echoes at <c>Spacing</c>.</summary>
public sealed class IcmpProber(IcmpEngine engine) : IProber
{
    public const string Kind = "icmp";

    public async Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken)
    {
        var (address, resolveMs, error) = await ResolveAsync(target, cancellationToken);
        if (address is null) return ProbeOutcome.Failed(target, Kind, error!, resolveMs);

        var replies = await engine.RoundAsync(address, settings.Count, settings.Spacing, settings.Timeout, cancellationToken);
        var rtts = replies.Rtts.Where(r => r.HasValue).Select(r => r!.Value).ToArray();
        var stats = RoundStats.Of(settings.Count, rtts);
        var failure = stats.Received > 0 ? null
            : replies.Error ?? $"no reply from {address} to {settings.Count} echoes within {settings.Timeout.TotalMilliseconds:0} ms";
        return new ProbeOutcome(target, Kind, address.ToString(), resolveMs, stats, failure);
    }

    /// <summary>IP literals skip the resolver; names are resolved with the time measured apart from the RTT.</summary>
    internal static async Task<(IPAddress? Address, double? ResolveMs, string? Error)> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (IPAddress.TryParse(literal, out var ip)) return (ip, null, null);
        var start = Stopwatch.GetTimestamp();
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
            var ms = Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 3);
            var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
                         ?? addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6);
            return chosen is null
                ? (null, ms, $"{host} resolves to no IP address")
                : (chosen, ms, null);
        }
        catch (SocketException e)
        {
            var ms = Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 3);
            return (null, ms, $"cannot resolve {host}: {e.Message}");
        }
    }
}
