using System.Text.Json.Serialization;

namespace Swarm.Protocol;

/// <summary>
/// What <c>rip/&lt;bee&gt;</c> carries, retained: "online" (with counters) while the bee is connected, "offline" after
/// a clean stop, "dead" as its last will. A newcomer subscribing to <c>rip/#</c> sees the whole swarm at once, edge
/// bees included: for them it is the only report there is.
/// </summary>
public sealed record BeeStatus(
    [property: JsonPropertyName("bee")] string Bee,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("location")] string? Location)
{
    [JsonPropertyName("version")] public string? Version { get; init; }
    [JsonPropertyName("since")] public DateTime? Since { get; init; }
    [JsonPropertyName("last_seq")] public long? LastSeq { get; init; }
    [JsonPropertyName("backlog")] public int? Backlog { get; init; }
    [JsonPropertyName("dropped")] public long? Dropped { get; init; }

    /// <summary><see cref="BeeKinds.Cluster"/> or <see cref="BeeKinds.Edge"/>.</summary>
    [JsonPropertyName("kind")] public string? Kind { get; init; }

    /// <summary>The bee's link as it guessed it (or was told): ethernet, wifi, cellular, dsl, ppp, unknown.</summary>
    [JsonPropertyName("connection")] public string? Connection { get; init; }

    [JsonPropertyName("geo")] public string? Geo { get; init; }

    /// <summary>The lists it follows, at the versions it adopted.</summary>
    [JsonPropertyName("lists")] public IReadOnlyList<BeeListView>? Lists { get; init; }

    /// <summary>How many distinct targets it probes.</summary>
    [JsonPropertyName("targets")] public int? Targets { get; init; }

    [JsonPropertyName("last_result")] public DateTime? LastResult { get; init; }

    /// <summary>The latest list version it refused, and why (it kept the list it had).</summary>
    [JsonPropertyName("refused")] public ListRefusal? Refused { get; init; }
}

/// <summary>A list version a bee refused, and why, in words.</summary>
public sealed record ListRefusal(
    [property: JsonPropertyName("list")] string List,
    [property: JsonPropertyName("version")] long? Version,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("ts")] DateTime At);

/// <summary>The kinds of bee <c>swarm bees</c> shows.</summary>
public static class BeeKinds
{
    /// <summary>A member of the Akka cluster (a node with the bee role).</summary>
    public const string Cluster = "cluster";

    /// <summary>A bee that only dials out to the broker (<c>Swarm:Roles=edge</c>), known from its retained status.</summary>
    public const string Edge = "edge";

    /// <summary>One of the seed's Python agents, known from its results on <c>ping/&lt;target&gt;</c>.</summary>
    public const string Legacy = "legacy";
}
