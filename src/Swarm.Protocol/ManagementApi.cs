namespace Swarm.Protocol;

// What the management endpoint takes and answers under /api/ (JSON over HTTP), shared by the endpoint and `swarm`.
// Nothing here crosses the cluster.

/// <summary>One cluster member as this node sees it.</summary>
public sealed record MemberView(string Address, string Status, IReadOnlyList<string> Roles, bool Reachable);

/// <summary>The cluster as the answering node sees it.</summary>
public sealed record ClusterView(string Self, string? Leader, IReadOnlyList<MemberView> Members);

/// <summary>The shard counts of one region type, per node hosting it.</summary>
public sealed record RegionStats(string Region, IReadOnlyList<RegionNodeStats> Nodes);

public sealed record RegionNodeStats(string Address, IReadOnlyDictionary<string, int> Shards);

/// <summary>The entities alive in one region type, per node and shard.</summary>
public sealed record RegionEntities(string Region, IReadOnlyList<RegionNodeEntities> Nodes);

public sealed record RegionNodeEntities(string Address, IReadOnlyList<ShardEntities> Shards)
{
    public string? Error { get; init; }
}

public sealed record ShardEntities(string Shard, IReadOnlyList<string> Entities);

/// <summary>A target list at one version.</summary>
public sealed record TargetsView(string List, long Version, IReadOnlyList<string> Targets)
{
    /// <summary>The list's own probe settings; null: each bee's.</summary>
    public ProbeSettings? Probe { get; init; }
}

/// <summary>
/// The targets a change carries (<c>PUT</c> replaces, <c>add</c> and <c>remove</c> edit), and the list's probe settings
/// (<c>"probe": {...}</c> sets them, <c>{}</c> returns to the node's, absent or null keeps them).
/// </summary>
public sealed record TargetsChange(IReadOnlyList<string>? Targets)
{
    public System.Text.Json.JsonElement? Probe { get; init; }
}

/// <summary>An actor and its children, as far down as the walk went.</summary>
public sealed record ActorNode(string Path, IReadOnlyList<ActorNode> Children);

/// <summary>The latest log lines of the answering node, oldest first.</summary>
public sealed record LogView(IReadOnlyList<string> Lines);

/// <summary>What a command did, in words.</summary>
public sealed record CommandDone(string Message);

/// <summary>Why a request was refused, in words a person can act on.</summary>
public sealed record ApiError(string Error);

/// <summary>A cluster address named in a request (<c>join</c>, <c>down</c>).</summary>
public sealed record AddressRequest(string? Address);

/// <summary>Whether the node is ready, and what it still waits for.</summary>
public sealed record Readiness(bool Ready, IReadOnlyList<string> Waiting);
