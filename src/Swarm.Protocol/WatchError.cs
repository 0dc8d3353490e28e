using System.Text.Json.Serialization;

namespace Swarm.Protocol;

/// <summary>What <c>watch/errors</c> carries for each rejected payload.</summary>
public sealed record WatchError(
    [property: JsonPropertyName("topic")] string Topic,
    [property: JsonPropertyName("list")] string List,
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("current_version")] long? CurrentVersion,
    [property: JsonPropertyName("ts")] DateTime Timestamp);
