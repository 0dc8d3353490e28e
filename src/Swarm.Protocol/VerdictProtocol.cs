using System.Text.Json.Serialization;

namespace Swarm.Protocol;

/// <summary>
/// A target's judge tells a bee's judge how that bee sees the target now, and whether most other bees see it
/// degraded too (<see cref="Shared"/>); <see cref="Gone"/> when the pair went stale.
/// </summary>
public sealed record PairUpdate(
    [property: JsonPropertyName("bee")] string Bee,
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("shared")] bool Shared) : ISwarmMessage
{
    public const string Gone = "gone";

    /// <summary>How many other bees probe the target: with none, "the others see it fine" is not known.</summary>
    [JsonPropertyName("peers")] public int Peers { get; init; }
}

/// <summary>A bee's judge tells a target's judge whether the bee's own link is degraded (its view then does not count).</summary>
public sealed record LinkUpdate(
    [property: JsonPropertyName("bee")] string Bee,
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("degraded")] bool Degraded) : ISwarmMessage;
