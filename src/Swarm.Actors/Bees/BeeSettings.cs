using System.IO.Hashing;
using System.Text;
using Swarm.Probing;
using Swarm.Protocol;

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

    /// <summary>The bee's link (ethernet, wifi, cellular, dsl, ppp, unknown), carried by every result.</summary>
    public string? Connection { get; init; }

    /// <summary>An edge bee: its lists come retained from the broker, where an older version is a stale copy to refuse.</summary>
    public bool Edge { get; init; }

    /// <summary>
    /// Where in the interval this bee's phases start, as a fraction from 0 to 1: a hash of its id, so that it is the
    /// same at every start and different from bee to bee (0 puts every bee's first target at the same instant).
    /// </summary>
    public double PhaseOffset { get; init; } = OffsetOf(BeeId);

    /// <summary>
    /// How far the first rounds of bees that adopt a list together are spread (each bee by its <see cref="PhaseOffset"/>):
    /// enough that a thousand bees do not start on one target in the same millisecond, short enough that a person who
    /// just changed a list sees every bee probe it within a second.
    /// </summary>
    public TimeSpan FirstRoundSpread { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The hash of a bee id as a fraction in [0, 1): XXH3, stable across processes and versions.</summary>
    public static double OffsetOf(string beeId) => (XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(beeId)) >> 11) * (1.0 / (1UL << 53));

    /// <summary>Target <paramref name="i"/> of <paramref name="count"/>: its place in the interval, a fraction from 0 to 1.</summary>
    public double Slot(int i, int count)
    {
        var slot = (double)i / count + PhaseOffset;
        return slot - Math.Floor(slot);
    }

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

/// <summary>What a bee follows now: each list at its adopted version, and how many distinct targets that makes.</summary>
public sealed record BeeListsChanged(IReadOnlyList<BeeListView> Lists, int Targets);
