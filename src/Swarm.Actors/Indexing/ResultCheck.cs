using Swarm.Mqtt;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Targets;

namespace Swarm.Indexing;

/// <summary>
/// What the indexer asks of a result from <c>ping/+</c> before it becomes a document: well-formed JSON is not enough,
/// since any broker client can publish there. Each check names the field and what was wrong with it.
/// </summary>
public static class ResultCheck
{
    private const int MaxEchoes = 100_000;
    private const int MaxText = 4096;

    /// <summary>An hour: no round takes longer, and larger figures would overflow what charts and documents keep.</summary>
    public const double MaxMs = 3_600_000;

    /// <summary>Why this result cannot become a document, or null when it can.</summary>
    public static string? Problem(ProbeResult? r, string topic) => Problem(r, topic, out _);

    /// <summary>Why this result cannot become a document, or null when it can, and then its target, parsed.</summary>
    public static string? Problem(ProbeResult? r, string topic, out ProbeTarget? parsed)
    {
        parsed = null;
        if (r is null) return "not a Swarm result: a JSON object with bee, seq, ts, target and kind is expected";
        if (!WatchPayload.IsBeeId(r.Bee))
            return $"bee {Quote(r.Bee)}: letters, digits, '.', '-' or '_' expected (at most 64)";
        if (r.Seq <= 0) return $"seq {r.Seq}: a whole number from 1 expected";
        if (r.Timestamp == default) return "ts: a UTC time expected";
        if (string.IsNullOrEmpty(r.Target)) return "target: missing";
        if (r.Target.Length > ProbeTarget.MaxLength) return $"target: {r.Target.Length} characters, at most {ProbeTarget.MaxLength}";
        var cached = Known.TryGetValue(r.Target, out var known);
        if ((cached ? known.Target : ProbeTarget.Parse(r.Target)) is not { } target) return $"target {Quote(r.Target)}: {ProbeTarget.Forms}";
        if (r.Kind != target.Kind) return $"kind {Quote(r.Kind)}: the target {Quote(r.Target)} is probed as {target.Kind}";
        var home = cached ? known.Topic : Topics.ForResult(r.Target);
        if (topic != home) return $"topic {Quote(topic)}: a result for {Quote(r.Target)} belongs on {home}";
        if (!cached) Remember(r.Target, (target, home));
        if (r.Sent is < 0 or > MaxEchoes || r.Received < 0 || r.Received > r.Sent)
            return $"sent {r.Sent}, received {r.Received}: 0 ≤ received ≤ sent ≤ {MaxEchoes} expected";
        if (r.LossPercent is < 0 or > 100 || double.IsNaN(r.LossPercent)) return $"loss {r.LossPercent}: a percentage expected";
        if (FigureProblem(r) is { } figure) return figure;
        if (r.Address is not null && !System.Net.IPAddress.TryParse(r.Address, out _)) return $"address {Quote(r.Address)}: an IP address expected";
        if (r.Family is not null && (r.Address is null || r.Family != (System.Net.IPAddress.Parse(r.Address).AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 6 : 4)))
            return $"family {r.Family}: 4 or 6, the family of the address";
        if (r.StatusCode is < 100 or > 599) return $"status {r.StatusCode}: an HTTP status from 100 to 599 expected";
        if ((TooLong("location", r.Location) ?? TooLong("geo", r.Geo) ?? TooLong("address", r.Address) ?? TooLong("error", r.Error)) is { } text) return text;
        if (r.Certificate is { } cert)
        {
            if (cert.Sha256 is not null && (cert.Sha256.Length != 64 || !cert.Sha256.All(char.IsAsciiHexDigitLower)))
                return $"tls_cert.sha256: 64 lowercase hex digits expected";
            if (cert.Subject is { Length: > 256 } || cert.Issuer is { Length: > 256 }) return "tls_cert: a subject or issuer of at most 256 characters expected";
        }
        if (r.Dns is { } dns && DnsProblem(dns, target) is { } dnsProblem) return dnsProblem;
        if (r.Path is { } path && PathProblem(path, target) is { } pathProblem) return pathProblem;
        if (r.Redirects is { } redirects && (target.Kind != ProbeTarget.Http || redirects.Count > 11
                || redirects.Any(x => x is null || x.Status is < 300 or > 399 || x.Url is not { Length: <= ProbeTarget.MaxLength } || !x.Url.StartsWith("http", StringComparison.Ordinal))))
            return "redirects: at most 11 of an http(s) URL and a 3xx status, on an http(s) result";
        if (r.Connection is not null && !WatchPayload.IsListName(r.Connection))
            return $"connection {Quote(r.Connection)}: one word of letters, digits, '-' or '_' expected (at most 64)";
        parsed = target;
        return null;
    }

    /// <summary>A path is a list of hops, numbered upward within what a trace can send, each with sane figures.</summary>
    private static string? PathProblem(PathInfo path, ProbeTarget target)
    {
        if (target.Kind != ProbeTarget.Trace) return "path: only a trace:// result carries one";
        if (path.Protocol is not ("icmp" or "udp")) return $"path.protocol {Quote(path.Protocol)}: icmp or udp expected";
        if (path.Hops is null || path.Hops.Count > ProbeTarget.MostHops) return $"path.hops: at most {ProbeTarget.MostHops} expected";
        var previous = 0;
        foreach (var h in path.Hops)
        {
            if (h is null || h.Hop <= previous || h.Hop > ProbeTarget.MostHops) return "path.hops: hop numbers from 1 to 64, rising, expected";
            previous = h.Hop;
            if (h.Address is not null && !System.Net.IPAddress.TryParse(h.Address, out _)) return $"path hop {h.Hop}: address {Quote(h.Address)} is not an IP address";
            if (h.Others is { } others && (others.Count > 16 || others.Any(o => !System.Net.IPAddress.TryParse(o, out _)))) return $"path hop {h.Hop}: at most 16 other IP addresses expected";
            if (h.Name is { Length: > 253 }) return $"path hop {h.Hop}: a name of at most 253 characters expected";
            if (h.Sent is < 0 or > MaxEchoes || h.Received < 0 || h.Received > h.Sent || h.LossPercent is < 0 or > 100 || double.IsNaN(h.LossPercent))
                return $"path hop {h.Hop}: 0 ≤ received ≤ sent and a loss percentage expected";
            foreach (var v in new[] { h.LastMs, h.AvgMs, h.BestMs, h.WorstMs, h.StddevMs })
                if (v is { } ms && (!double.IsFinite(ms) || ms < 0 || ms > MaxMs)) return $"path hop {h.Hop}: times from 0 to {MaxMs} ms expected";
        }
        if (path.LossFrom is < 1 or > ProbeTarget.MostHops || path.DelayFrom is < 1 or > ProbeTarget.MostHops) return "path: loss_from and delay_from are hop numbers";
        return null;
    }

    /// <summary>A DNS answer is the bee's report of what a resolver said: bounded, and about the target's question.</summary>
    private static string? DnsProblem(DnsInfo dns, ProbeTarget target)
    {
        if (target.Kind != ProbeTarget.Dns) return $"dns: only a dns:// result carries one";
        if (dns.Name != target.Name || dns.Type != target.RecordType) return $"dns: the question {Quote(dns.Name)} {Quote(dns.Type)} is not the target's";
        if (dns.Server is not { Length: <= 64 } || !System.Net.IPEndPoint.TryParse(dns.Server, out _)) return $"dns.server {Quote(dns.Server)}: address:port expected";
        if (dns.Rcode is { Length: > 16 } || dns.Transport is not (null or "udp" or "tcp")) return "dns: an rcode of at most 16 characters and a transport udp or tcp expected";
        if (dns.Answers is { } answers)
        {
            if (answers.Count > DnsWire.MaxAnswers) return $"dns.answers: {answers.Count}, at most {DnsWire.MaxAnswers}";
            foreach (var a in answers)
                if (a is null || a.Name is not { Length: <= 1024 } || a.Type is not { Length: <= 16 } || a.Data is not { Length: <= DnsWire.MaxData })
                    return $"dns.answers: each a name, a type of at most 16 characters and data of at most {DnsWire.MaxData}";
        }
        return null;
    }

    /// <summary>The first time figure that is not a time from 0 to an hour, told as a reason; one result after another, allocating nothing.</summary>
    private static string? FigureProblem(ProbeResult r) =>
        Time("resolve_ms", r.ResolveMs) ?? Time("rtt_min_ms", r.MinMs) ?? Time("rtt_avg_ms", r.AvgMs) ?? Time("rtt_max_ms", r.MaxMs)
        ?? Time("rtt_stddev_ms", r.StddevMs) ?? Time("rtt_median_ms", r.MedianMs) ?? Time("rtt_p95_ms", r.P95Ms) ?? Time("jitter_ms", r.JitterMs)
        ?? Time("connect_ms", r.ConnectMs) ?? Time("tls_ms", r.TlsMs) ?? Time("ttfb_ms", r.TtfbMs) ?? Time("total_ms", r.TotalMs)
        ?? Time("duration_ms", r.DurationMs);

    private static string? Time(string name, double? value) =>
        value is { } v && (!double.IsFinite(v) || v < 0 || v > MaxMs) ? $"{name} {v}: a time from 0 to {MaxMs} ms (an hour) expected" : null;

    private static string? TooLong(string name, string? text) => text is { Length: > MaxText } ? $"{name}: {text.Length} characters, at most {MaxText}" : null;

    /// <summary>
    /// Targets whose results came on their own topic, parsed, with that topic. A swarm's results name the same targets
    /// again and again: each is parsed once, not once a result. Only such targets, and only short ones, are kept, at
    /// most <see cref="MaxKnown"/> (then the cache starts again; past that many live targets, most are parsed each time,
    /// as before): anything may be published on <c>ping/+</c>, and a cache of what garbage names would grow without end.
    /// </summary>
    private static void Remember(string target, (ProbeTarget Target, string Topic) known)
    {
        if (target.Length > MaxKnownLength) return;
        if (Known.Count >= MaxKnown) Known.Clear(); // counted only here, when a target is new
        Known[target] = known;
    }

    private const int MaxKnownLength = 256;
    private const int MaxKnown = 4096;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (ProbeTarget Target, string Topic)> Known = new(StringComparer.Ordinal);

    /// <summary>A value as a reason may show it: control characters as '?' (no log injection), at most 64 characters.</summary>
    private static string Quote(string? value) => value is null ? "null" : $"'{ProbeTarget.Printable(value)}'";
}
