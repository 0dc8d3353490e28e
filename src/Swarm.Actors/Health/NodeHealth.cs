using System.Collections.Concurrent;

namespace Swarm.Health;

/// <summary>
/// The problems the parts of this node report about themselves (an outbox whose disk is full, a part that stopped),
/// read by <c>/health/ready</c>: a node with a problem here is not ready, and says why.
/// </summary>
public sealed class NodeHealth
{
    private readonly ConcurrentDictionary<string, string> _problems = new();

    /// <summary>A node with nothing to report on: for tests and tools that have no endpoint.</summary>
    public static NodeHealth Unwatched => new();

    public void Problem(string part, string what) => _problems[part] = what;

    public void Healthy(string part) => _problems.TryRemove(part, out _);

    /// <summary>Each problem as "part: what", sorted by part.</summary>
    public IReadOnlyList<string> Problems => _problems.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}: {p.Value}").ToList();
}
