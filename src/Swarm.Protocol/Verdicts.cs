using System.Text.Json.Serialization;

namespace Swarm.Protocol;

/// <summary>How one bee sees one target lately, judged against that pair's own baseline.</summary>
public static class PairStates
{
    public const string Ok = "ok";
    public const string Slow = "slow";
    public const string Lossy = "lossy";
    public const string Down = "down";
}

/// <summary>The swarm's answer to "is it just me?", per target and per bee.</summary>
public static class VerdictKinds
{
    public const string Ok = "ok";

    /// <summary>Most bees that probe the target see it degraded: the service (or its network) is the problem.</summary>
    public const string Everyone = "everyone";

    /// <summary>Several bees see it degraded, the others are fine; the evidence names what the degraded ones share.</summary>
    public const string SomePlaces = "some-places";

    /// <summary>One bee sees this target degraded while the others see it fine and its own link is fine: the path between them.</summary>
    public const string OnePath = "one-path";

    /// <summary>A bee sees most of its targets degraded where others do not: its own link ("it's just you").</summary>
    public const string OneBee = "one-bee";
}

/// <summary>One bee's view of a target, as a verdict shows it (evidence and the target × bee matrix).</summary>
public sealed record PairView(
    [property: JsonPropertyName("bee")] string Bee,
    [property: JsonPropertyName("state")] string State)
{
    [JsonPropertyName("since")] public DateTime Since { get; init; }
    [JsonPropertyName("location")] public string? Location { get; init; }
    [JsonPropertyName("connection")] public string? Connection { get; init; }
    [JsonPropertyName("address")] public string? Address { get; init; }

    /// <summary>Mean loss over the judged window, percent.</summary>
    [JsonPropertyName("loss")] public double Loss { get; init; }

    /// <summary>Median RTT over the judged window, and the pair's baseline (a low percentile of its longer history).</summary>
    [JsonPropertyName("rtt_ms")] public double? RttMs { get; init; }

    [JsonPropertyName("baseline_ms")] public double? BaselineMs { get; init; }

    /// <summary>True when this bee's own link is degraded (its bee verdict is one-bee): its view does not count.</summary>
    [JsonPropertyName("own_link")] public bool? OwnLink { get; init; }
}

/// <summary>What <c>verdict/&lt;target&gt;</c> carries, retained: the verdict, in words and in data, with its evidence.</summary>
public sealed record TargetVerdict(
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("verdict")] string Verdict,
    [property: JsonPropertyName("text")] string Text)
{
    [JsonPropertyName("since")] public DateTime Since { get; init; }
    [JsonPropertyName("ts")] public DateTime At { get; init; }

    /// <summary>Bees whose view counts (fresh, own link fine), and how many of them see the target degraded.</summary>
    [JsonPropertyName("judged")] public int Judged { get; init; }

    [JsonPropertyName("degraded")] public int Degraded { get; init; }

    /// <summary>For some-places: what the degraded bees share (location, connection, address), e.g. {"location": "paris"}.</summary>
    [JsonPropertyName("shared")] public IReadOnlyDictionary<string, string>? Shared { get; init; }

    /// <summary>Every bee that probes the target, degraded ones first.</summary>
    [JsonPropertyName("bees")] public IReadOnlyList<PairView> Bees { get; init; } = [];
}

/// <summary>One target in a bee verdict's evidence.</summary>
public sealed record BeeTargetView(
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("state")] string State)
{
    /// <summary>True when most other bees see this target degraded too (it is the target's trouble, not this bee's).</summary>
    [JsonPropertyName("shared")] public bool Shared { get; init; }
}

/// <summary>What <c>verdict/bee/&lt;bee&gt;</c> carries, retained: whether the bee's own link is the problem.</summary>
public sealed record BeeVerdict(
    [property: JsonPropertyName("bee")] string Bee,
    [property: JsonPropertyName("verdict")] string Verdict,
    [property: JsonPropertyName("text")] string Text)
{
    [JsonPropertyName("since")] public DateTime Since { get; init; }
    [JsonPropertyName("ts")] public DateTime At { get; init; }
    [JsonPropertyName("targets")] public int Targets { get; init; }
    [JsonPropertyName("degraded")] public int Degraded { get; init; }
    [JsonPropertyName("evidence")] public IReadOnlyList<BeeTargetView> Evidence { get; init; } = [];
}

/// <summary>
/// What <c>alert/&lt;target&gt;</c> and <c>alert/bee/&lt;bee&gt;</c> carry (and the webhook receives): a verdict that
/// held long enough to raise, or an ok that held long enough to clear.
/// </summary>
public sealed record Alert(
    [property: JsonPropertyName("subject")] string Subject,
    [property: JsonPropertyName("about")] string About,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("verdict")] string Verdict,
    [property: JsonPropertyName("text")] string Text)
{
    public const string Raised = "raised";
    public const string Cleared = "cleared";
    public const string AboutTarget = "target";
    public const string AboutBee = "bee";

    /// <summary>When the verdict began (raised) or when ok began (cleared).</summary>
    [JsonPropertyName("since")] public DateTime Since { get; init; }

    [JsonPropertyName("ts")] public DateTime At { get; init; }

    /// <summary>A unique id per alert event, so a receiver that gets one twice (a retried webhook) can tell.</summary>
    [JsonPropertyName("id")] public string Id { get; init; } = "";
}

/// <summary>What <c>/api/verdicts</c> answers: every target's and every bee's latest verdict this node has heard.</summary>
public sealed record VerdictsView(
    [property: JsonPropertyName("targets")] IReadOnlyList<TargetVerdict> Targets,
    [property: JsonPropertyName("bees")] IReadOnlyList<BeeVerdict> Bees);

/// <summary>One round as the live page's chart draws it: median as the line, min/p95/max as the smoke, loss as colour.</summary>
public readonly record struct RoundPoint(
    [property: JsonPropertyName("t")] long UnixSeconds,
    [property: JsonPropertyName("median")] float? Median,
    [property: JsonPropertyName("min")] float? Min,
    [property: JsonPropertyName("p95")] float? P95,
    [property: JsonPropertyName("max")] float? Max,
    [property: JsonPropertyName("loss")] float Loss);

/// <summary>What <c>/api/history</c> answers: one (target, bee) series, oldest round first, and the bees that have one for the target.</summary>
public sealed record HistoryView(
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("bee")] string? Bee,
    [property: JsonPropertyName("bees")] IReadOnlyList<string> Bees,
    [property: JsonPropertyName("points")] IReadOnlyList<RoundPoint> Points)
{
    /// <summary>For a <c>trace://</c> target: the latest path from that bee, hop by hop.</summary>
    [JsonPropertyName("path")] public PathInfo? Path { get; init; }
}

/// <summary>One target's row of the live page's matrix: its verdict and each bee's state.</summary>
public sealed record MatrixRow(
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("verdict")] string Verdict,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("since")] DateTime Since,
    [property: JsonPropertyName("states")] IReadOnlyDictionary<string, string> States);

/// <summary>What <c>/api/matrix</c> answers: every target × bee state (columns in <see cref="Bees"/> order) and every bee verdict.</summary>
public sealed record MatrixView(
    [property: JsonPropertyName("bees")] IReadOnlyList<string> Bees,
    [property: JsonPropertyName("rows")] IReadOnlyList<MatrixRow> Rows,
    [property: JsonPropertyName("links")] IReadOnlyList<BeeVerdict> Links);

/// <summary>The live page's <c>gone</c> event: a target or bee no longer judged (its retained verdict cleared).</summary>
public sealed record VerdictsGone(
    [property: JsonPropertyName("subject")] string Subject,
    [property: JsonPropertyName("bee")] bool IsBee);
