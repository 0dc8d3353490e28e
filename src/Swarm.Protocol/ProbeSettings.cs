using System.Text.Json.Serialization;

namespace Swarm.Protocol;

/// <summary>
/// A list's own probe settings, in the JSON <c>watch</c> form and the API (<c>"probe": {"interval": "30s", "count": 3}</c>):
/// what a list leaves out, the node's <c>Swarm:Probe:*</c> gives; the node's budget always holds. Durations as written
/// (<c>"200ms"</c>, <c>"30s"</c>, <c>"5m"</c>).
/// </summary>
public sealed record ProbeSettings
{
    [JsonPropertyName("interval")] public string? Interval { get; init; }
    [JsonPropertyName("count")] public int? Count { get; init; }
    [JsonPropertyName("spacing")] public string? Spacing { get; init; }
    [JsonPropertyName("timeout")] public string? Timeout { get; init; }
    [JsonPropertyName("http")] public HttpExpectations? Http { get; init; }
}

/// <summary>What an HTTP(S) round asks and expects; a round whose answer fails an expectation is down, with the reason.</summary>
public sealed record HttpExpectations
{
    /// <summary>GET (the default) or HEAD.</summary>
    [JsonPropertyName("method")] public string? Method { get; init; }

    /// <summary>Codes or ranges (<c>"200"</c>, <c>"200-299"</c>); by default any status below 400.</summary>
    [JsonPropertyName("status")] public IReadOnlyList<string>? Status { get; init; }

    /// <summary>Text the body must contain (in its first 64 KiB).</summary>
    [JsonPropertyName("body")] public string? Body { get; init; }

    /// <summary>A regular expression the body must match (in its first 64 KiB, within 100 ms).</summary>
    [JsonPropertyName("body_regex")] public string? BodyRegex { get; init; }

    [JsonPropertyName("headers")] public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>Follow redirects (at most 10), recording the chain; by default a redirect is the answer.</summary>
    [JsonPropertyName("follow_redirects")] public bool? FollowRedirects { get; init; }
}
