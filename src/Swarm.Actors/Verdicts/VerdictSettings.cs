namespace Swarm.Verdicts;

/// <summary>
/// How a (bee, target) pair is judged and how verdicts become alerts (<c>Swarm:Verdict:*</c>, <c>Swarm:Alerts:*</c>).
/// A round is one probe result; alert hold times count rounds of <see cref="Interval"/>.
/// </summary>
public sealed record VerdictSettings
{
    /// <summary>The latest rounds a pair's state is judged on.</summary>
    public int Window { get; init; } = 5;

    /// <summary>The rounds a pair's baseline RTT is taken from (its 25th percentile): long enough to be the normal.</summary>
    public int BaselineRounds { get; init; } = 60;

    /// <summary>Rounds with an RTT before "slow" can be said at all: a baseline from one round is a guess.</summary>
    public int MinBaselineRounds { get; init; } = 5;

    /// <summary>Slow: the window's median RTT is above the baseline times this…</summary>
    public double SlowFactor { get; init; } = 2.0;

    /// <summary>…and above the baseline plus this many milliseconds (0.1 ms becoming 0.3 ms on loopback is not slow).</summary>
    public double SlowMinMs { get; init; } = 10;

    /// <summary>Lossy: mean loss over the window at or above this percentage.</summary>
    public double LossyPercent { get; init; } = 10;

    /// <summary>Down: this many latest rounds in a row with no answer at all.</summary>
    public int DownRounds { get; init; } = 3;

    /// <summary>"Most" means more than this fraction (of the bees probing a target, or of a bee's targets).</summary>
    public double MostFraction { get; init; } = 0.5;

    /// <summary>A pair unheard of for this long no longer counts (its bee left or stopped probing the target).</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The probe interval: what a round lasts, for the alert hold times.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A degraded verdict raises an alert once it has held this many rounds…</summary>
    public int EnterRounds { get; init; } = 3;

    /// <summary>…and the alert clears once ok has held this many rounds.</summary>
    public int LeaveRounds { get; init; } = 5;

    public TimeSpan EnterAfter => Interval * EnterRounds;

    public TimeSpan LeaveAfter => Interval * LeaveRounds;

    /// <summary>How often entities expire stale pairs and tell each other their state again (what a restarted entity relearns from).</summary>
    public TimeSpan Refresh => StaleAfter / 4 < TimeSpan.FromSeconds(30) ? StaleAfter / 4 : TimeSpan.FromSeconds(30);

    /// <summary>A bee's link is judged only when it probes at least this many targets.</summary>
    public const int MinTargetsForLink = 2;
}
