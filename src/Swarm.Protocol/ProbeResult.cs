using System.Text.Json.Serialization;

namespace Swarm.Protocol;

/// <summary>
/// One probe round against one target, as published on <c>ping/&lt;target&gt;</c>.
/// Its identity from birth is <see cref="Bee"/> + <see cref="Seq"/>; RTT figures are milliseconds.
/// </summary>
public sealed record ProbeResult : ISwarmMessage
{
    [JsonPropertyName("bee")] public required string Bee { get; init; }
    [JsonPropertyName("seq")] public required long Seq { get; init; }
    [JsonPropertyName("ts")] public required DateTime Timestamp { get; init; }
    [JsonPropertyName("target")] public required string Target { get; init; }
    [JsonPropertyName("kind")] public required string Kind { get; init; }
    [JsonPropertyName("location")] public string? Location { get; init; }
    [JsonPropertyName("geo")] public string? Geo { get; init; }
    [JsonPropertyName("connection")] public string? Connection { get; init; }
    [JsonPropertyName("address")] public string? Address { get; init; }

    /// <summary>4 or 6: the IP family the round went over (absent when nothing was probed).</summary>
    [JsonPropertyName("family")] public int? Family { get; init; }
    [JsonPropertyName("resolve_ms")] public double? ResolveMs { get; init; }
    [JsonPropertyName("sent")] public int Sent { get; init; }
    [JsonPropertyName("received")] public int Received { get; init; }
    [JsonPropertyName("loss")] public double LossPercent { get; init; }
    [JsonPropertyName("rtt_min_ms")] public double? MinMs { get; init; }
    [JsonPropertyName("rtt_avg_ms")] public double? AvgMs { get; init; }
    [JsonPropertyName("rtt_max_ms")] public double? MaxMs { get; init; }
    [JsonPropertyName("rtt_stddev_ms")] public double? StddevMs { get; init; }
    [JsonPropertyName("rtt_median_ms")] public double? MedianMs { get; init; }
    [JsonPropertyName("rtt_p95_ms")] public double? P95Ms { get; init; }
    [JsonPropertyName("jitter_ms")] public double? JitterMs { get; init; }
    [JsonPropertyName("connect_ms")] public double? ConnectMs { get; init; }
    [JsonPropertyName("tls_ms")] public double? TlsMs { get; init; }
    [JsonPropertyName("ttfb_ms")] public double? TtfbMs { get; init; }
    [JsonPropertyName("total_ms")] public double? TotalMs { get; init; }
    [JsonPropertyName("status")] public int? StatusCode { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }

    /// <summary>The round's wall time, first packet (or name lookup) to last answer or timeout: Heartbeat's check duration.</summary>
    [JsonPropertyName("duration_ms")] public double? DurationMs { get; init; }

    /// <summary>The certificate an HTTPS target presented (also when it was not accepted).</summary>
    [JsonPropertyName("tls_cert")] public TlsCertificateInfo? Certificate { get; init; }

    /// <summary>The redirects an HTTP round followed (its list asked to), in order; the result's figures are the final answer's.</summary>
    [JsonPropertyName("redirects")] public IReadOnlyList<HttpRedirect>? Redirects { get; init; }

    /// <summary>A <c>trace://</c> round's path, hop by hop, as <c>mtr --report</c> shows it.</summary>
    [JsonPropertyName("path")] public PathInfo? Path { get; init; }

    /// <summary>What a <c>dns://</c> round asked and was answered (the last answer of the round).</summary>
    [JsonPropertyName("dns")] public DnsInfo? Dns { get; init; }
}

/// <summary>A DNS round's question and the reply it got: the resolver, the response code, the answers, UDP or TCP.</summary>
public sealed record DnsInfo
{
    /// <summary>The resolver asked, as address:port (the system's own when the target names none).</summary>
    [JsonPropertyName("server")] public required string Server { get; init; }
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("type")] public required string Type { get; init; }

    /// <summary>NOERROR, NXDOMAIN, SERVFAIL, …; null when no reply came.</summary>
    [JsonPropertyName("rcode")] public string? Rcode { get; init; }

    /// <summary><c>udp</c>, or <c>tcp</c> when the UDP reply was truncated and the question was asked again over TCP.</summary>
    [JsonPropertyName("transport")] public string? Transport { get; init; }
    [JsonPropertyName("answers")] public IReadOnlyList<DnsAnswer>? Answers { get; init; }
}

/// <summary>One answer record, its data as <c>dig</c> prints it.</summary>
public sealed record DnsAnswer
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("ttl")] public uint Ttl { get; init; }
    [JsonPropertyName("data")] public required string Data { get; init; }
}

/// <summary>What a result says of a server's certificate: enough for Kibana's certificates page and an expiry alert.</summary>
public sealed record TlsCertificateInfo
{
    [JsonPropertyName("subject")] public string? Subject { get; init; }
    [JsonPropertyName("issuer")] public string? Issuer { get; init; }
    [JsonPropertyName("not_before")] public DateTime NotBefore { get; init; }
    [JsonPropertyName("not_after")] public DateTime NotAfter { get; init; }

    /// <summary>SHA-256 of the certificate's DER bytes, lowercase hex.</summary>
    [JsonPropertyName("sha256")] public string? Sha256 { get; init; }
}

/// <summary>The path to a target: each hop's figures, whether the target answered, and where loss or delay starts.</summary>
public sealed record PathInfo
{
    /// <summary>icmp (TTL-limited echoes) or udp (TTL-limited datagrams to closed ports).</summary>
    [JsonPropertyName("protocol")] public required string Protocol { get; init; }

    [JsonPropertyName("reached")] public bool Reached { get; init; }
    [JsonPropertyName("hops")] public required IReadOnlyList<HopInfo> Hops { get; init; }

    /// <summary>The first hop from which loss lasts to the end of the path (loss at one router only is its ICMP rate limit, not the path's).</summary>
    [JsonPropertyName("loss_from")] public int? LossFrom { get; init; }

    /// <summary>The first hop from which the RTT stays well above the hops before it, to the end of the path.</summary>
    [JsonPropertyName("delay_from")] public int? DelayFrom { get; init; }
}

/// <summary>One hop: who answered at that TTL, and mtr's columns (Loss%, Snt, Last, Avg, Best, Wrst, StDev).</summary>
public sealed record HopInfo
{
    [JsonPropertyName("hop")] public int Hop { get; init; }

    /// <summary>The address that answered most at this TTL; null when none did (mtr's <c>???</c>).</summary>
    [JsonPropertyName("address")] public string? Address { get; init; }

    /// <summary>Every other address that answered at this TTL (load-balanced paths).</summary>
    [JsonPropertyName("others")] public IReadOnlyList<string>? Others { get; init; }

    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("sent")] public int Sent { get; init; }
    [JsonPropertyName("received")] public int Received { get; init; }
    [JsonPropertyName("loss")] public double LossPercent { get; init; }
    [JsonPropertyName("rtt_last_ms")] public double? LastMs { get; init; }
    [JsonPropertyName("rtt_avg_ms")] public double? AvgMs { get; init; }
    [JsonPropertyName("rtt_best_ms")] public double? BestMs { get; init; }
    [JsonPropertyName("rtt_worst_ms")] public double? WorstMs { get; init; }
    [JsonPropertyName("rtt_stddev_ms")] public double? StddevMs { get; init; }
}

/// <summary>One redirect followed: the URL asked and the status that sent the round on.</summary>
public sealed record HttpRedirect
{
    [JsonPropertyName("url")] public required string Url { get; init; }
    [JsonPropertyName("status")] public int Status { get; init; }
}
