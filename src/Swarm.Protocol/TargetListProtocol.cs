namespace Swarm.Protocol;

/// <summary>A message addressed to one target list; the shard extractor reads the id from it.</summary>
public interface IWithTargetListId
{
    string ListId { get; }
}

/// <summary>A change that may also set the list's probe settings: null keeps them, an empty set returns to the node's.</summary>
public interface IWithProbeSettings
{
    ProbeSettings? Probe { get; }
}

/// <summary>Replace the whole list (the seed-compatible <c>watch</c> payload).</summary>
public sealed record ReplaceTargets(string ListId, IReadOnlyList<string> Targets, string Source) : IWithTargetListId, IWithProbeSettings, ISwarmMessage
{
    public ProbeSettings? Probe { get; init; }
}

/// <summary>Add targets to the list (those already in it are ignored); with none, a change of settings alone.</summary>
public sealed record AddTargets(string ListId, IReadOnlyList<string> Targets, string Source) : IWithTargetListId, IWithProbeSettings, ISwarmMessage
{
    public ProbeSettings? Probe { get; init; }
}

/// <summary>Remove targets from the list (those not in it are ignored).</summary>
public sealed record RemoveTargets(string ListId, IReadOnlyList<string> Targets, string Source) : IWithTargetListId, IWithProbeSettings, ISwarmMessage
{
    public ProbeSettings? Probe { get; init; }
}

/// <summary>The answer to a change the list refused; it stays at <paramref name="Version"/>.</summary>
public sealed record TargetsRejected(string ListId, long Version, string Reason) : ISwarmMessage;

/// <summary>Ask for the list's current version; answered with <see cref="CurrentTargets"/>.</summary>
public sealed record GetTargets(string ListId) : IWithTargetListId, ISwarmMessage;

/// <summary>A list's state at one version: the answer to every command and the announcement of each change.</summary>
public sealed record CurrentTargets(string ListId, long Version, IReadOnlyList<string> Targets, bool Changed) : ISwarmMessage
{
    /// <summary>The list's own probe settings; null: the node's.</summary>
    public ProbeSettings? Probe { get; init; }
}

/// <summary>Journal event: the list was replaced and is now at <paramref name="Version"/>.</summary>
public sealed record TargetsReplaced(string ListId, long Version, IReadOnlyList<string> Targets, string Source, DateTime At) : ISwarmMessage
{
    public ProbeSettings? Probe { get; init; }
}

/// <summary>Snapshot of a target list.</summary>
public sealed record TargetListSnapshot(string ListId, long Version, IReadOnlyList<string> Targets) : ISwarmMessage
{
    public ProbeSettings? Probe { get; init; }
}
