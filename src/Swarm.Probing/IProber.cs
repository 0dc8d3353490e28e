using Swarm.Protocol;

namespace Swarm.Probing;

/// <summary>Runs one probe round against one target; never throws for a network failure, reports it in the outcome.</summary>
public interface IProber
{
    Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken);
}

/// <summary>How one round runs: echoes (or connects) per round, spacing between them, and how long to wait for each reply.</summary>
public sealed record RoundSettings(int Count, TimeSpan Spacing, TimeSpan Timeout)
{
    /// <summary>How long one HTTP request may take, connect to last byte.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>What an HTTP round asks and expects (a list's <c>probe.http</c>); null: a GET, any status below 400.</summary>
    public HttpExpectations? Http { get; init; }
}

/// <summary>What one round against one target measured; TCP and HTTP rounds add their phase timings (ms).</summary>
public sealed record ProbeOutcome(
    string Target, string Kind, string? Address, double? ResolveMs, RoundStats Stats, string? Error)
{
    public double? ConnectMs { get; init; }
    public double? TlsMs { get; init; }
    public double? TtfbMs { get; init; }
    public double? TotalMs { get; init; }
    public int? StatusCode { get; init; }
    public TlsCertificateInfo? Certificate { get; init; }
    public DnsInfo? Dns { get; init; }
    public PathInfo? Path { get; init; }
    public IReadOnlyList<HttpRedirect>? Redirects { get; init; }

    /// <summary>For a <c>family=both</c> target: the same round over IPv6 (this outcome is the IPv4 one).</summary>
    public ProbeOutcome? OtherFamily { get; init; }

    /// <summary>The result as published: this outcome with the identity a bee gives it from birth.</summary>
    public ProbeResult ToResult(string bee, long seq, DateTime timestamp, string? location, string? geo = null) => new()
    {
        Bee = bee,
        Seq = seq,
        Timestamp = timestamp,
        Target = Target,
        Kind = Kind,
        Location = location,
        Geo = geo,
        Address = Address,
        Family = System.Net.IPAddress.TryParse(Address, out var ip) ? ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 6 : 4 : null,
        ResolveMs = ResolveMs,
        Sent = Stats.Sent,
        Received = Stats.Received,
        LossPercent = Stats.LossPercent,
        MinMs = Stats.MinMs,
        AvgMs = Stats.AvgMs,
        MaxMs = Stats.MaxMs,
        StddevMs = Stats.StddevMs,
        MedianMs = Stats.MedianMs,
        P95Ms = Stats.P95Ms,
        JitterMs = Stats.JitterMs,
        ConnectMs = ConnectMs,
        TlsMs = TlsMs,
        TtfbMs = TtfbMs,
        TotalMs = TotalMs,
        StatusCode = StatusCode,
        Error = Error,
        Certificate = Certificate,
        Dns = Dns,
        Path = Path,
        Redirects = Redirects,
    };

    /// <summary>A round that could not run (no address, no route): reported as total loss, because for the user it is.</summary>
    public static ProbeOutcome Failed(string target, string kind, string error, double? resolveMs = null) =>
        new(target, kind, null, resolveMs, RoundStats.Of(0, []) with { LossPercent = 100 }, error);
}
