using Swarm.Probing;

namespace Swarm.Bees;

/// <summary>Who a bee is, where it stands, what it follows, and how often it probes.</summary>
public sealed record BeeSettings(
    string BeeId,
    string? Location,
    IReadOnlyList<string> Lists,
    TimeSpan Interval,
    RoundSettings Round)
{
    /// <summary>How soon after a list change every new target has had its first round.</summary>
    /// <summary>Where the bee stands as "lat,lon" in degrees (<c>observer.geo.location</c>), for the map.</summary>
    public string? Geo { get; init; }

    public TimeSpan FirstRoundWindow { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the bee asks its lists for their version until each has answered, then <see cref="SyncInterval"/>.</summary>
    public TimeSpan InitialSyncInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often the bee asks its lists for their version: it converges after a partition, and catches a change
    /// announced before its DistributedPubSub subscription had reached the queen's node.
    /// </summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(5);
}
