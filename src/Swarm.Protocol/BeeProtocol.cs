namespace Swarm.Protocol;

/// <summary>Journal event: the bee took a version of one of its lists as its duty.</summary>
public sealed record TargetsAdopted(string ListId, long Version, IReadOnlyList<string> Targets) : ISwarmMessage
{
    public ProbeSettings? Probe { get; init; }
}

/// <summary>Journal event of earlier versions (sequence reservation, now the outbox's job); read and ignored.</summary>
public sealed record SequenceReserved(long UpTo) : ISwarmMessage;

/// <summary>Snapshot of a bee: the lists it follows and its reserved sequence range.</summary>
public sealed record BeeSnapshot(IReadOnlyList<TargetsAdopted> Lists, long SequenceReservedUpTo) : ISwarmMessage;

/// <summary>Ask a bee what it probes; answered with <see cref="BeeDuty"/>.</summary>
public sealed record GetBeeDuty : ISwarmMessage
{
    public static readonly GetBeeDuty Instance = new();
}

/// <summary>What a bee probes now, and from which list versions.</summary>
public sealed record BeeDuty(string BeeId, IReadOnlyList<TargetsAdopted> Lists, IReadOnlyList<string> Targets) : ISwarmMessage;
