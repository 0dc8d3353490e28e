namespace Swarm.Protocol;

// The two messages that cross the cluster to collect a bee's report: a node asks every bee node's management agent.
// The report travels on to the operator as it is (GET /api/bees).

/// <summary>Ask a node's management agent about its bee; answered with <see cref="BeeReport"/>.</summary>
public sealed record GetBeeReport : ISwarmMessage
{
    public static readonly GetBeeReport Instance = new();
}

/// <summary>One bee as an operator sees it: where it stands, what it follows, and how its results are flowing.</summary>
public sealed record BeeReport(
    string Bee,
    string Node,
    string? Location,
    string? Geo,
    IReadOnlyList<BeeListView> Lists,
    int Targets,
    DateTime? LastResult,
    int OutboxBacklog,
    long OutboxDropped,
    string? Broker) : ISwarmMessage
{
    /// <summary>Why the bee node did not answer (then the other fields are empty).</summary>
    public string? Error { get; init; }

    /// <summary><see cref="BeeKinds.Cluster"/>, <see cref="BeeKinds.Edge"/> or <see cref="BeeKinds.Legacy"/>.</summary>
    public string Kind { get; init; } = BeeKinds.Cluster;

    /// <summary>online, offline or dead, as its retained status says (cluster bees that answer are online).</summary>
    public string Status { get; init; } = "online";

    /// <summary>The bee's link: ethernet, wifi, cellular, dsl, ppp or unknown.</summary>
    public string? Connection { get; init; }

    /// <summary>The latest list version it refused, and why.</summary>
    public ListRefusal? Refused { get; init; }
}

/// <summary>A list a bee follows, at the version it adopted.</summary>
public sealed record BeeListView(string List, long Version, int Targets)
{
    /// <summary>The list's probe settings in words (<c>interval 30s, count 3</c>); null: the bee's own.</summary>
    public string? Probe { get; init; }
}
