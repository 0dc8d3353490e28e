using System.Buffers;
using System.Text;
using System.Text.Json;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Indexing;

/// <summary>
/// A result as Elastic Heartbeat writes a check (ECS: <c>monitor.*</c>, <c>summary.*</c>, <c>icmp.rtt.us</c>, …), so
/// Kibana's Uptime views read it unchanged, plus <c>swarm.*</c> with what Heartbeat lacks (loss, spread, jitter).
/// Absent figures are left out, not written as null: that is how Heartbeat writes them.
/// </summary>
public static class HeartbeatDocument
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? _buffer;
    [ThreadStatic] private static Utf8JsonWriter? _writer;

    /// <summary>
    /// The document id: bee + sequence + a hash of the payload as published. Redelivery, or the same result through a
    /// second broker, carries the same bytes and so the same id (Elasticsearch answers 409: stored once); a forged
    /// result under another bee's name and sequence has other bytes, so it can never take the real one's place.
    /// </summary>
    public static string IdOf(ProbeResult r, ReadOnlySpan<byte> payload) => $"{r.Bee}-{r.Seq}-{ContentHash(payload):x16}";

    /// <summary>A 64-bit hash of the payload (XXH3): cheap, and stable across processes and versions.</summary>
    public static ulong ContentHash(ReadOnlySpan<byte> payload) => System.IO.Hashing.XxHash3.HashToUInt64(payload);

    /// <summary>
    /// One compact JSON line, as <c>_bulk</c> wants it, written straight to UTF-8 without a DOM. A result whose bee and
    /// sequence already came with other content is marked <c>swarm.conflict</c>. <paramref name="target"/>: the result's
    /// target as already parsed, when the caller has it.
    /// </summary>
    public static byte[] ToUtf8(ProbeResult r, bool conflict = false, bool legacy = false, TimeSpan? interval = null, ProbeTarget? target = null)
    {
        var buffer = _buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var w = _writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = SwarmJson.Wire.Options.Encoder, SkipValidation = true });
        w.Reset(buffer);
        Write(w, r, conflict, legacy, interval ?? TimeSpan.FromSeconds(10), target ?? ProbeTarget.Parse(r.Target));
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The document of <see cref="ToUtf8"/> as a string.</summary>
    public static string ToJson(ProbeResult r, bool conflict = false, bool legacy = false, TimeSpan? interval = null) =>
        Encoding.UTF8.GetString(ToUtf8(r, conflict, legacy, interval));

    private static void Write(Utf8JsonWriter w, ProbeResult r, bool conflict, bool legacy, TimeSpan interval, ProbeTarget? target)
    {
        var up = r.Received > 0 && r.Error is null;
        // url.full as the target was written (Uri would add a trailing slash: http://a.example becomes http://a.example/).
        var (full, scheme, domain, port) = target?.Kind switch
        {
            ProbeTarget.Http => (r.Target, target.Url!.Scheme, target.Url.Host.Trim('[', ']'), target.Url.IsDefaultPort ? (int?)null : target.Url.Port),
            ProbeTarget.Tcp => ($"tcp://{Bracket(target.Host)}:{target.Port}", "tcp", target.Host, target.Port),
            // The resolver asked (none named: the system's, as it answered); the name asked about is in dns.question.name.
            ProbeTarget.Trace => (r.Target, "trace", target.Host, null),
            ProbeTarget.Dns => (r.Target, "dns", target.Host.Length > 0 ? target.Host : r.Address ?? target.Name!, target.Port == 53 ? null : target.Port),
            _ => ($"icmp://{Bracket(target?.Host ?? r.Target)}", "icmp", target?.Host ?? r.Target, null),
        };
        var at = r.Timestamp.ToUniversalTime();

        w.WriteStartObject();
        Time(w, "@timestamp", at);
        w.WriteStartObject("event");
        w.WriteString("dataset", r.Kind); // Heartbeat's: the monitor type
        w.WriteString("kind", "metric");
        w.WriteEndObject();

        w.WriteStartObject("monitor");
        w.WriteString("id", $"{r.Kind}-{r.Target}");
        w.WriteString("name", r.Target);
        w.WriteString("type", r.Kind);
        w.WriteString("status", up ? "up" : "down");
        // One check, one group: Uptime's ping list and its down-monitor rule group events by it.
        w.WriteString("check_group", legacy ? $"{r.Bee}-{at.Ticks:x}" : $"{r.Bee}-{r.Seq}");
        if (r.Address is not null) w.WriteString("ip", r.Address);
        Us(w, "duration", r.DurationMs ?? r.TotalMs ?? r.MaxMs ?? r.ResolveMs);
        // The span this check speaks for, until the next one is due (the down-monitor rule and the certificates page read it).
        w.WriteStartObject("timespan");
        Time(w, "gte", at);
        Time(w, "lt", at + interval);
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartObject("summary");
        w.WriteNumber("up", up ? 1 : 0);
        w.WriteNumber("down", up ? 0 : 1);
        w.WriteEndObject();

        w.WriteStartObject("url");
        w.WriteString("full", full);
        w.WriteString("scheme", scheme);
        w.WriteString("domain", domain);
        if (port is > 0) w.WriteNumber("port", port.Value);
        w.WriteEndObject();

        w.WriteStartObject("observer");
        w.WriteString("name", r.Bee);
        if (r.Location is not null || r.Geo is not null)
        {
            w.WriteStartObject("geo");
            if (r.Location is not null) w.WriteString("name", r.Location);
            // A geo_point as "lat,lon", one of the forms Elasticsearch accepts.
            if (r.Geo is not null) w.WriteString("location", r.Geo);
            w.WriteEndObject();
        }
        w.WriteEndObject();

        w.WriteStartObject("swarm");
        w.WriteString("bee", r.Bee);
        if (legacy) w.WriteBoolean("legacy", true); // a seed agent's: no sequence
        else w.WriteNumber("seq", r.Seq);
        if (r.Connection is not null) w.WriteString("connection", r.Connection);
        if (r.Family is { } family) w.WriteNumber("family", family);
        w.WriteNumber("sent", r.Sent);
        w.WriteNumber("received", r.Received);
        w.WriteNumber("loss", r.LossPercent);
        if (r.MinMs is not null)
        {
            w.WriteStartObject("rtt");
            Number(w, "min_ms", r.MinMs);
            Number(w, "avg_ms", r.AvgMs);
            Number(w, "max_ms", r.MaxMs);
            Number(w, "stddev_ms", r.StddevMs);
            Number(w, "median_ms", r.MedianMs);
            Number(w, "p95_ms", r.P95Ms);
            w.WriteEndObject();
        }
        Number(w, "jitter_ms", r.JitterMs);
        if (conflict) w.WriteBoolean("conflict", true);
        if (r.Path is { } path) Path(w, path);
        w.WriteEndObject();

        if (r.Address is not null || r.ResolveMs is not null)
        {
            w.WriteStartObject("resolve");
            if (r.Address is not null) w.WriteString("ip", r.Address);
            Us(w, "rtt", r.ResolveMs);
            w.WriteEndObject();
        }
        switch (r.Kind)
        {
            case ProbeTarget.Icmp:
                w.WriteStartObject("icmp");
                w.WriteNumber("requests", r.Sent);
                Us(w, "rtt", r.AvgMs);
                w.WriteEndObject();
                break;
            case ProbeTarget.Tcp:
                Connect(w, r.ConnectMs);
                break;
            case ProbeTarget.Http:
                Connect(w, r.ConnectMs);
                if (r.TotalMs is not null || r.TtfbMs is not null || r.StatusCode is not null)
                {
                    w.WriteStartObject("http");
                    if (r.TotalMs is not null || r.TtfbMs is not null)
                    {
                        w.WriteStartObject("rtt");
                        Us(w, "total", r.TotalMs);
                        Us(w, "response_header", r.TtfbMs);
                        w.WriteEndObject();
                    }
                    if (r.StatusCode is { } status)
                    {
                        w.WriteStartObject("response");
                        w.WriteNumber("status_code", status);
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                }
                if (r.TlsMs is not null || r.Certificate is not null)
                {
                    w.WriteStartObject("tls");
                    if (r.TlsMs is not null)
                    {
                        w.WriteStartObject("rtt");
                        Us(w, "handshake", r.TlsMs);
                        w.WriteEndObject();
                    }
                    if (r.Certificate is { } cert) Certificate(w, cert);
                    w.WriteEndObject();
                }
                break;
            case ProbeTarget.Dns when r.Dns is { } dns:
                Dns(w, dns);
                break;
        }
        if (r.Error is not null)
        {
            // Heartbeat's words: a name that did not resolve is an io error with the code DNS_LOOKUP_FAILED; an HTTP
            // answer with a failing status is a validate error.
            w.WriteStartObject("error");
            w.WriteString("type", r.StatusCode is >= 400 ? "validate" : "io");
            if (r.Address is null && r.Error.StartsWith(HostResolver.CannotResolve, StringComparison.Ordinal)) w.WriteString("code", "DNS_LOOKUP_FAILED");
            w.WriteString("message", r.Error);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary><c>tls.server.x509.*</c> and <c>tls.server.hash.sha256</c>, as ECS names them and Uptime's certificates page reads them.</summary>
    private static void Certificate(Utf8JsonWriter w, TlsCertificateInfo cert)
    {
        w.WriteStartObject("server");
        w.WriteStartObject("x509");
        w.WriteString("not_before", cert.NotBefore.ToUniversalTime().ToString("O"));
        w.WriteString("not_after", cert.NotAfter.ToUniversalTime().ToString("O"));
        if (cert.Subject is not null)
        {
            w.WriteStartObject("subject");
            w.WriteString("common_name", cert.Subject);
            w.WriteEndObject();
        }
        if (cert.Issuer is not null)
        {
            w.WriteStartObject("issuer");
            w.WriteString("common_name", cert.Issuer);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        if (cert.Sha256 is not null)
        {
            w.WriteStartObject("hash");
            w.WriteString("sha256", cert.Sha256);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// <c>swarm.path</c>: the hops as nested objects, so a query can ask for one hop's figures together ("hop 3 with
    /// loss"), and where loss and delay start, to filter and chart rounds by.
    /// </summary>
    private static void Path(Utf8JsonWriter w, PathInfo path)
    {
        w.WriteStartObject("path");
        w.WriteString("protocol", path.Protocol);
        w.WriteBoolean("reached", path.Reached);
        w.WriteNumber("hop_count", path.Hops.Count);
        if (path.LossFrom is { } loss) w.WriteNumber("loss_from", loss);
        if (path.DelayFrom is { } delay) w.WriteNumber("delay_from", delay);
        w.WriteStartArray("hops");
        foreach (var h in path.Hops)
        {
            w.WriteStartObject();
            w.WriteNumber("hop", h.Hop);
            if (h.Address is not null) w.WriteString("ip", h.Address);
            if (h.Name is not null) w.WriteString("name", h.Name);
            w.WriteNumber("sent", h.Sent);
            w.WriteNumber("received", h.Received);
            w.WriteNumber("loss", h.LossPercent);
            Number(w, "last_ms", h.LastMs);
            Number(w, "avg_ms", h.AvgMs);
            Number(w, "best_ms", h.BestMs);
            Number(w, "worst_ms", h.WorstMs);
            Number(w, "stddev_ms", h.StddevMs);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>ECS's <c>dns.*</c>: the question, the response code, the answers, and the addresses they resolve to.</summary>
    private static void Dns(Utf8JsonWriter w, DnsInfo dns)
    {
        w.WriteStartObject("dns");
        w.WriteString("type", "answer");
        w.WriteStartObject("question");
        w.WriteString("name", dns.Name);
        w.WriteString("type", dns.Type);
        w.WriteEndObject();
        if (dns.Rcode is not null) w.WriteString("response_code", dns.Rcode);
        if (dns.Answers is { Count: > 0 } answers)
        {
            w.WriteStartArray("answers");
            foreach (var a in answers)
            {
                w.WriteStartObject();
                w.WriteString("name", a.Name);
                w.WriteString("type", a.Type);
                w.WriteString("class", "IN");
                w.WriteNumber("ttl", a.Ttl);
                w.WriteString("data", a.Data);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("resolved_ip");
            foreach (var a in answers)
                if (a.Type is "A" or "AAAA" && System.Net.IPAddress.TryParse(a.Data, out _)) w.WriteStringValue(a.Data);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static void Connect(Utf8JsonWriter w, double? connectMs)
    {
        if (connectMs is null) return;
        w.WriteStartObject("tcp");
        w.WriteStartObject("rtt");
        Us(w, "connect", connectMs);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>A time as round-trip ("O") text, formatted into the writer without a string (at most 33 bytes).</summary>
    private static void Time(Utf8JsonWriter w, string name, DateTime at)
    {
        Span<byte> text = stackalloc byte[40];
        ((IUtf8SpanFormattable)at).TryFormat(text, out var written, "O", null);
        w.WriteString(name, text[..written]);
    }

    /// <summary>Milliseconds as <c>{"us": whole microseconds}</c>, Heartbeat's unit; nothing when there is no figure.</summary>
    private static void Us(Utf8JsonWriter w, string name, double? ms)
    {
        if (ms is null) return;
        w.WriteStartObject(name);
        w.WriteNumber("us", (long)Math.Round(ms.Value * 1000));
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
    }

    private static string Bracket(string host) => host.Contains(':') ? $"[{host}]" : host;
}
