using System.Text.Json.Serialization;

namespace Swarm.Protocol;

/// <summary>
/// What <c>targets/&lt;list&gt;</c> carries, retained at QoS 1: one version of a list, as the queen that holds it
/// publishes it after each change. Edge bees, which are not cluster members, follow their lists from here.
/// </summary>
public sealed record PublishedList(
    [property: JsonPropertyName("list")] string List,
    [property: JsonPropertyName("version")] long Version,
    [property: JsonPropertyName("targets")] IReadOnlyList<string> Targets)
{
    [JsonPropertyName("ts")] public DateTime? At { get; init; }

    /// <summary>The list's own probe settings; absent: each bee's own.</summary>
    [JsonPropertyName("probe")] public ProbeSettings? Probe { get; init; }
}
