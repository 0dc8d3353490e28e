using System.Text.Json.Nodes;

namespace Swarm.Indexing;

/// <summary>The index template, ILM policy and data stream Swarm installs: every field it writes, typed.</summary>
public static class IndexTemplate
{
    private static JsonObject Keyword => new() { ["type"] = "keyword" };
    private static JsonObject Long => new() { ["type"] = "long" };
    private static JsonObject Float => new() { ["type"] = "float" };
    private static JsonObject Us => new() { ["properties"] = new JsonObject { ["us"] = Long } };
    private static JsonObject Date => new() { ["type"] = "date" };

    /// <summary>A keyword with a <c>.text</c> sub-field, as Heartbeat maps what Uptime's search bar queries.</summary>
    private static JsonObject KeywordAndText => new() { ["type"] = "keyword", ["fields"] = new JsonObject { ["text"] = new JsonObject { ["type"] = "text" } } };
    private static JsonObject Object(params (string Name, JsonNode Type)[] fields) =>
        new() { ["properties"] = new JsonObject(fields.Select(f => KeyValuePair.Create(f.Name, (JsonNode?)f.Type))) };

    private static JsonObject Nested(params (string Name, JsonNode Type)[] fields)
    {
        var nested = Object(fields);
        nested["type"] = "nested";
        return nested;
    }

    /// <summary>The mappings of every field <see cref="HeartbeatDocument"/> writes.</summary>
    public static JsonObject Mappings() => new()
    {
        ["dynamic"] = "false",
        ["properties"] = new JsonObject
        {
            ["@timestamp"] = new JsonObject { ["type"] = "date" },
            ["event"] = Object(("dataset", Keyword), ("kind", Keyword), ("action", Keyword)),
            ["monitor"] = Object(("id", KeywordAndText), ("name", KeywordAndText), ("type", Keyword), ("status", Keyword), ("check_group", Keyword),
                ("ip", new JsonObject { ["type"] = "ip" }), ("duration", Us), ("timespan", new JsonObject { ["type"] = "date_range" })),
            ["summary"] = Object(("up", Long), ("down", Long)),
            ["url"] = Object(("full", KeywordAndText), ("scheme", Keyword), ("domain", Keyword), ("port", Long)),
            ["resolve"] = Object(("ip", new JsonObject { ["type"] = "ip" }), ("rtt", Us)),
            ["icmp"] = Object(("requests", Long), ("rtt", Us)),
            ["tcp"] = Object(("rtt", Object(("connect", Us)))),
            ["http"] = Object(("rtt", Object(("total", Us), ("response_header", Us))), ("response", Object(("status_code", Long)))),
            ["dns"] = Object(("type", Keyword), ("question", Object(("name", Keyword), ("type", Keyword))), ("response_code", Keyword),
                ("answers", Object(("name", Keyword), ("type", Keyword), ("class", Keyword), ("ttl", Long), ("data", Keyword))),
                ("resolved_ip", new JsonObject { ["type"] = "ip" })),
            ["tls"] = Object(("rtt", Object(("handshake", Us))), ("server", Object(
                ("x509", Object(("not_before", Date), ("not_after", Date), ("subject", Object(("common_name", Keyword))), ("issuer", Object(("common_name", Keyword))))),
                ("hash", Object(("sha256", Keyword)))))),
            ["error"] = Object(("type", Keyword), ("code", Keyword), ("message", new JsonObject { ["type"] = "text" })),
            ["observer"] = Object(("name", Keyword), ("geo", Object(("name", Keyword), ("location", new JsonObject { ["type"] = "geo_point" })))),
            ["swarm"] = Object(("bee", Keyword), ("seq", Long), ("sent", Long), ("received", Long), ("loss", Float),
                ("rtt", Object(("min_ms", Float), ("avg_ms", Float), ("max_ms", Float), ("stddev_ms", Float), ("median_ms", Float), ("p95_ms", Float))),
                ("jitter_ms", Float), ("conflict", new JsonObject { ["type"] = "boolean" }), ("legacy", new JsonObject { ["type"] = "boolean" }),
                ("connection", Keyword), ("family", Long),
                ("path", Object(("protocol", Keyword), ("reached", new JsonObject { ["type"] = "boolean" }), ("hop_count", Long), ("loss_from", Long),
                    ("delay_from", Long), ("hops", Nested(("hop", Long), ("ip", new JsonObject { ["type"] = "ip" }), ("name", Keyword), ("sent", Long),
                        ("received", Long), ("loss", Float), ("last_ms", Float), ("avg_ms", Float), ("best_ms", Float), ("worst_ms", Float), ("stddev_ms", Float))))),
                ("verdict", Object(("subject", Keyword), ("about", Keyword), ("kind", Keyword), ("text", new JsonObject { ["type"] = "text" }), ("since", Date),
                    ("judged", Long), ("degraded", Long), ("degraded_names", Keyword))),
                ("alert", Object(("id", Keyword), ("subject", Keyword), ("about", Keyword), ("state", Keyword), ("verdict", Keyword),
                    ("text", new JsonObject { ["type"] = "text" }), ("since", Date)))),
        },
    };

    /// <summary>PUT _index_template/&lt;stream&gt;: a data stream template with the mappings and the ILM policy.</summary>
    public static JsonObject For(string dataStream) => new()
    {
        ["index_patterns"] = new JsonArray(dataStream),
        ["data_stream"] = new JsonObject(),
        ["priority"] = 200,
        ["template"] = new JsonObject
        {
            ["settings"] = new JsonObject { ["index.lifecycle.name"] = dataStream },
            ["mappings"] = Mappings(),
        },
        ["_meta"] = new JsonObject { ["managed_by"] = "swarm" },
    };

    /// <summary>PUT _ilm/policy/&lt;stream&gt;: roll over daily or at 50 GB, delete after 90 days.</summary>
    public static JsonObject IlmPolicy() => new()
    {
        ["policy"] = new JsonObject
        {
            ["phases"] = new JsonObject
            {
                ["hot"] = new JsonObject { ["actions"] = new JsonObject { ["rollover"] = new JsonObject { ["max_age"] = "1d", ["max_primary_shard_size"] = "50gb" } } },
                ["delete"] = new JsonObject { ["min_age"] = "90d", ["actions"] = new JsonObject { ["delete"] = new JsonObject() } },
            },
        },
    };
}
