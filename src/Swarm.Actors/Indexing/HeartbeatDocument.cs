using System.Text.Json.Nodes;
using Swarm.Probing;
using Swarm.Protocol;

namespace Swarm.Indexing;

/// <summary>
/// A result as Elastic Heartbeat writes a check (ECS: <c>monitor.*</c>, <c>summary.*</c>, <c>icmp.rtt.us</c>, …), so
/// Kibana's Uptime views read it unchanged, plus <c>swarm.*</c> with what Heartbeat lacks (loss, spread, jitter).
/// </summary>
public static class HeartbeatDocument
{
    /// <summary>The document id: bee + sequence, so redelivery or a second broker can never store a result twice.</summary>
    public static string IdOf(ProbeResult r) => $"{r.Bee}-{r.Seq}";

    public static JsonObject From(ProbeResult r)
    {
        var target = ProbeTarget.Parse(r.Target);
        var up = r.Received > 0 && r.Error is null;
        var url = target?.Kind switch
        {
            ProbeTarget.Http => target.Url!,
            ProbeTarget.Tcp => new Uri($"tcp://{Bracket(target.Host)}:{target.Port}"),
            _ => new Uri($"icmp://{Bracket(target?.Host ?? r.Target)}"),
        };
        var doc = new JsonObject
        {
            ["@timestamp"] = r.Timestamp.ToUniversalTime().ToString("O"),
            ["event"] = new JsonObject { ["dataset"] = "swarm", ["kind"] = "metric" },
            ["monitor"] = new JsonObject
            {
                ["id"] = $"{r.Kind}-{r.Target}",
                ["name"] = r.Target,
                ["type"] = r.Kind,
                ["status"] = up ? "up" : "down",
                ["ip"] = r.Address,
                ["duration"] = Us(r.TotalMs ?? r.MaxMs) is { } duration ? new JsonObject { ["us"] = duration } : null,
            },
            ["summary"] = new JsonObject { ["up"] = up ? 1 : 0, ["down"] = up ? 0 : 1 },
            ["url"] = new JsonObject
            {
                ["full"] = url.AbsoluteUri,
                ["scheme"] = url.Scheme,
                ["domain"] = url.Host.Trim('[', ']'),
                ["port"] = url.IsDefaultPort || url.Port <= 0 ? null : url.Port,
            },
            ["observer"] = new JsonObject
            {
                ["name"] = r.Bee,
                ["geo"] = r.Location is null ? null : new JsonObject { ["name"] = r.Location },
            },
            ["swarm"] = new JsonObject
            {
                ["bee"] = r.Bee,
                ["seq"] = r.Seq,
                ["sent"] = r.Sent,
                ["received"] = r.Received,
                ["loss"] = r.LossPercent,
                ["rtt"] = new JsonObject
                {
                    ["min_ms"] = r.MinMs, ["avg_ms"] = r.AvgMs, ["max_ms"] = r.MaxMs,
                    ["stddev_ms"] = r.StddevMs, ["median_ms"] = r.MedianMs, ["p95_ms"] = r.P95Ms,
                },
                ["jitter_ms"] = r.JitterMs,
            },
        };
        if (r.Address is not null || r.ResolveMs is not null)
            doc["resolve"] = new JsonObject { ["ip"] = r.Address, ["rtt"] = Us(r.ResolveMs) is { } rtt ? new JsonObject { ["us"] = rtt } : null };
        switch (r.Kind)
        {
            case ProbeTarget.Icmp:
                doc["icmp"] = new JsonObject { ["requests"] = r.Sent, ["rtt"] = Us(r.AvgMs) is { } icmp ? new JsonObject { ["us"] = icmp } : null };
                break;
            case ProbeTarget.Tcp:
                doc["tcp"] = new JsonObject { ["rtt"] = new JsonObject { ["connect"] = Us(r.ConnectMs) is { } c ? new JsonObject { ["us"] = c } : null } };
                break;
            case ProbeTarget.Http:
                doc["tcp"] = new JsonObject { ["rtt"] = new JsonObject { ["connect"] = Us(r.ConnectMs) is { } hc ? new JsonObject { ["us"] = hc } : null } };
                doc["http"] = new JsonObject
                {
                    ["rtt"] = new JsonObject
                    {
                        ["total"] = Us(r.TotalMs) is { } total ? new JsonObject { ["us"] = total } : null,
                        ["response_header"] = Us(r.TtfbMs) is { } ttfb ? new JsonObject { ["us"] = ttfb } : null,
                    },
                    ["response"] = r.StatusCode is { } status ? new JsonObject { ["status_code"] = status } : null,
                };
                if (Us(r.TlsMs) is { } tls) doc["tls"] = new JsonObject { ["rtt"] = new JsonObject { ["handshake"] = new JsonObject { ["us"] = tls } } };
                break;
        }
        if (r.Error is not null)
            doc["error"] = new JsonObject { ["type"] = r.Address is null ? "resolve" : "io", ["message"] = r.Error };
        return Prune(doc);
    }

    /// <summary>Milliseconds as whole microseconds, Heartbeat's unit.</summary>
    private static long? Us(double? ms) => ms is null ? null : (long)Math.Round(ms.Value * 1000);

    private static string Bracket(string host) => host.Contains(':') ? $"[{host}]" : host;

    /// <summary>Drops nulls and objects left empty: absent, not null, is how Heartbeat writes a missing figure.</summary>
    private static JsonObject Prune(JsonObject node)
    {
        foreach (var (key, value) in node.ToList())
        {
            if (value is JsonObject child) Prune(child);
            if (value is null || value is JsonObject { Count: 0 }) node.Remove(key);
        }
        return node;
    }

    /// <summary>One compact JSON line, as <c>_bulk</c> wants it.</summary>
    public static string ToJson(JsonObject doc) => doc.ToJsonString();
}
