using System.Globalization;
using System.Net;

namespace Swarm.Probing;

/// <summary>What the machine tells about the link its default route leaves by, read from <c>/proc</c> and <c>/sys</c>.</summary>
public sealed record LinkEvidence(string? Interface, string? Kind, int? Mtu, IPAddress? Gateway)
{
    /// <summary>Median RTT to the gateway, in ms (the first hop), when it answered.</summary>
    public double? GatewayMs { get; init; }

    /// <summary>Mean difference between consecutive RTTs to the gateway, in ms.</summary>
    public double? GatewayJitterMs { get; init; }
}

/// <summary>
/// Guesses a bee's connection type from local evidence only (the seeds' "Guess connection type"): the kind of the
/// interface the default route leaves by (ethernet, wlan, wwan, ppp), its MTU (1492 is PPPoE: DSL), and the RTT and
/// jitter of the first hop (a cellular radio link's gateway is tens of milliseconds away, a LAN's well under one).
/// The answer is one of <see cref="Kinds"/>; an operator's <c>Swarm:Bee:Connection</c> overrides it.
/// </summary>
public static class LinkGuess
{
    public static readonly IReadOnlyList<string> Kinds = ["ethernet", "wifi", "cellular", "dsl", "ppp", "unknown"];

    /// <summary>A first hop slower than this (median) is a radio link's, not a LAN's.</summary>
    public const double CellularGatewayMs = 20;

    /// <summary>Or one this jittery.</summary>
    public const double CellularJitterMs = 10;

    /// <summary>The connection type the evidence points to, and why, in words.</summary>
    public static (string Kind, string Why) Classify(LinkEvidence e)
    {
        var where = e.Interface is null ? "no default route" : $"{e.Interface} ({e.Kind ?? "unknown kind"}, MTU {e.Mtu?.ToString(CultureInfo.InvariantCulture) ?? "?"})";
        var hop = e.GatewayMs is { } ms
            ? $"; first hop {e.Gateway} at {ms.ToString("0.###", CultureInfo.InvariantCulture)} ms, jitter {(e.GatewayJitterMs ?? 0).ToString("0.###", CultureInfo.InvariantCulture)} ms"
            : e.Gateway is null ? "" : $"; first hop {e.Gateway} did not answer";
        var why = where + hop;
        if (e.Interface is null) return ("unknown", why);
        if (e.Kind == "wwan") return ("cellular", why);
        if (e.GatewayMs > CellularGatewayMs || e.GatewayJitterMs > CellularJitterMs) return ("cellular", why);
        if (e.Mtu == 1492) return ("dsl", why); // PPPoE's 8 bytes off Ethernet's 1500
        return e.Kind switch
        {
            "ppp" => ("ppp", why),
            "wlan" => ("wifi", why),
            "ethernet" => ("ethernet", why),
            _ => ("unknown", why),
        };
    }

    /// <summary>The interface of the default route (IPv4, else IPv6), its kind and MTU, and the gateway.</summary>
    public static LinkEvidence Read(string proc = "/proc", string sys = "/sys")
    {
        var (name, gateway) = DefaultRoute4(Path.Combine(proc, "net", "route")) ?? DefaultRoute6(Path.Combine(proc, "net", "ipv6_route")) ?? (null, null);
        if (name is null) return new LinkEvidence(null, null, null, null);
        var dir = Path.Combine(sys, "class", "net", name);
        return new LinkEvidence(name, KindOf(name, dir), ReadInt(Path.Combine(dir, "mtu")), gateway);
    }

    /// <summary>The gateway's RTTs (ms, null for a lost echo) as evidence: the median and the jitter of those answered.</summary>
    public static LinkEvidence WithGateway(LinkEvidence e, IReadOnlyList<double?> rtts)
    {
        var answered = rtts.Where(r => r is not null).Select(r => r!.Value).ToList();
        if (answered.Count == 0) return e;
        var sorted = answered.Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        var jitter = answered.Count < 2 ? 0 : answered.Zip(answered.Skip(1), (a, b) => Math.Abs(b - a)).Average();
        return e with { GatewayMs = median, GatewayJitterMs = jitter };
    }

    private static string KindOf(string name, string dir)
    {
        var devtype = ReadLines(Path.Combine(dir, "uevent")).FirstOrDefault(l => l.StartsWith("DEVTYPE=", StringComparison.Ordinal))?[8..];
        if (devtype is "wwan" || name.StartsWith("wwan", StringComparison.Ordinal) || name.StartsWith("rmnet", StringComparison.Ordinal)) return "wwan";
        if (devtype is "wlan" || Directory.Exists(Path.Combine(dir, "wireless")) || Directory.Exists(Path.Combine(dir, "phy80211"))) return "wlan";
        return ReadInt(Path.Combine(dir, "type")) switch
        {
            1 => "ethernet", // ARPHRD_ETHER (veth and bridges too)
            512 => "ppp", // ARPHRD_PPP
            _ => "other",
        };
    }

    private static (string?, IPAddress?)? DefaultRoute4(string file)
    {
        // Iface Destination Gateway Flags RefCnt Use Metric Mask ...: hex, little-endian; the default route has
        // destination and mask 0. The lowest metric wins.
        var best = ReadLines(file).Skip(1).Select(l => l.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Where(f => f.Length >= 8 && f[1] == "00000000" && f[7] == "00000000")
            .OrderBy(f => int.TryParse(f[6], out var metric) ? metric : int.MaxValue)
            .FirstOrDefault();
        if (best is null) return null;
        var gateway = uint.TryParse(best[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var g) && g != 0
            ? new IPAddress(g) // little-endian, as IPAddress(long) takes it
            : null;
        return (best[0], gateway);
    }

    private static (string?, IPAddress?)? DefaultRoute6(string file)
    {
        // dest prefix src prefix nexthop metric refcnt use flags iface: the default route is ::/0.
        var best = ReadLines(file).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 10 && f[0] == new string('0', 32) && f[1] == "00" && f[9] != "lo")
            .OrderBy(f => int.TryParse(f[5], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var metric) ? metric : int.MaxValue)
            .FirstOrDefault();
        if (best is null) return null;
        var hop = Convert.FromHexString(best[4]);
        return (best[9], hop.All(b => b == 0) ? null : new IPAddress(hop));
    }

    private static int? ReadInt(string file) => int.TryParse(ReadLines(file).FirstOrDefault(), out var n) ? n : null;

    private static IEnumerable<string> ReadLines(string file)
    {
        try { return File.ReadAllLines(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }
}

/// <summary>The whole guess, first hop included: what a bee does at start and <c>swarm link</c> prints.</summary>
public static class LinkProbe
{
    /// <summary>The evidence, with the gateway's RTTs when <paramref name="engine"/> may send ICMP, and the guess.</summary>
    public static async Task<(string Kind, string Why, LinkEvidence Evidence)> GuessAsync(IcmpEngine? engine, CancellationToken cancellationToken = default)
    {
        var evidence = LinkGuess.Read();
        if (engine is not null && evidence.Gateway is { } gateway)
        {
            var round = await engine.RoundAsync(gateway, 5, TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(1), cancellationToken);
            evidence = LinkGuess.WithGateway(evidence, round.Rtts);
        }
        var (kind, why) = LinkGuess.Classify(evidence);
        return (kind, why, evidence);
    }
}
