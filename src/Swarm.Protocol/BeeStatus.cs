using System.Text.Json.Serialization;

namespace Swarm.Protocol;

/// <summary>
/// What <c>rip/&lt;bee&gt;</c> carries, retained: "online" (with counters) while the bee is connected, "offline" after
/// a clean stop, "dead" as its last will. A newcomer subscribing to <c>rip/+</c> sees the whole swarm at once.
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
}
