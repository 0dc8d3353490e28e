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
    /// <summary>Where the bee stands as "lat,lon" in degrees (<c>observer.geo.location</c>), for the map.</summary>
    public string? Geo { get; init; }

    /// <summary>How soon after a list change every new target has had its first round (stretched when the echo budget cannot keep up).</summary>
    public TimeSpan FirstRoundWindow { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The engine's echo budget (Swarm:Probe:MaxPerSecond; 0: none).</summary>
    public int MaxEchoesPerSecond { get; init; }

    /// <summary>
    /// The window over which <paramref name="added"/> new targets get their first round: <see cref="FirstRoundWindow"/>,
    /// or as long as the echo budget needs to serve them (at most the interval). Started faster, rounds would only
    /// wait in the engine's queue, every one of them held in memory at once (10,000 targets: ~10 MiB).
    /// </summary>
    public TimeSpan FirstRoundsOver(int added)
    {
        var budget = MaxEchoesPerSecond > 0 ? TimeSpan.FromSeconds((double)added * Round.Count / MaxEchoesPerSecond) : TimeSpan.Zero;
        var window = budget > FirstRoundWindow ? budget : FirstRoundWindow;
        return window < Interval ? window : Interval;
    }

    /// <summary>How often the bee asks its lists for their version until each has answered, then <see cref="SyncInterval"/>.</summary>
    public TimeSpan InitialSyncInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often the bee asks its lists for their version: it converges after a partition, and catches a change
    /// announced before its DistributedPubSub subscription had reached the queen's node.
    /// </summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(5);
}
