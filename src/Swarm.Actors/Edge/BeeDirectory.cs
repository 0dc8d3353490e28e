using System.Text.Json;
using Swarm.Mqtt;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Targets;

namespace Swarm.Edge;

/// <summary>
/// The bees a node knows from the broker rather than from the cluster: every bee's retained status on <c>rip/#</c>
/// (edge bees have no other report), and the seed's Python agents, which publish no status: the indexer tells of
/// each one whose results it stores, and their last will (<c>rip/agent/&lt;host&gt;</c>) says when one is gone.
/// Anything may arrive on <c>rip/#</c>: a status that does not parse, or speaks for a bee other than its topic's,
/// is ignored. Bounded: past <see cref="MaxBees"/>, the bee heard from longest ago is forgotten.
/// </summary>
public sealed class BeeDirectory
{
    public const int MaxBees = 100_000;

    /// <summary>The largest status read; a real one is well under 2 KiB even with many lists.</summary>
    public const int MaxStatusBytes = 16 * 1024;

    private const string AgentWillPrefix = "rip/agent/";
    private readonly Dictionary<string, Entry> _bees = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>How many statuses were ignored (unparseable, or for another bee than their topic's).</summary>
    public long Ignored { get; private set; }

    /// <summary>A message on <c>rip/#</c>.</summary>
    public void Heard(string topic, ReadOnlySpan<byte> payload)
    {
        var now = DateTime.UtcNow;
        if (topic.StartsWith(AgentWillPrefix, StringComparison.Ordinal))
        {
            // A seed agent's last will (an empty message): it is gone. Its name is its host name.
            var host = Topics.Unescape(topic[AgentWillPrefix.Length..]);
            if (!WatchPayload.IsBeeId(host)) { Count(); return; }
            lock (_lock)
            {
                if (_bees.TryGetValue(host, out var agent) && agent.Status.Kind == BeeKinds.Legacy)
                    _bees[host] = agent with { Status = agent.Status with { Status = "dead" }, HeardAt = now };
            }
            return;
        }
        if (!topic.StartsWith(SwarmNames.Topics.RipPrefix, StringComparison.Ordinal)) { Count(); return; }
        var bee = Topics.Unescape(topic[SwarmNames.Topics.RipPrefix.Length..]);
        if (payload.Length == 0)
        {
            lock (_lock) _bees.Remove(bee); // the retained status was cleared: the bee was retired
            return;
        }
        if (payload.Length > MaxStatusBytes || Parse(payload) is not { } status || status.Bee != bee || !WatchPayload.IsBeeId(bee)
            || Topics.ForRip(bee) != topic || status.Status is not ("online" or "offline" or "dead")
            || status.Kind is not (null or BeeKinds.Cluster or BeeKinds.Edge))
        {
            Count();
            return;
        }
        Put(bee, new Entry(status, now));
    }

    /// <summary>A result of a seed agent that the indexer stored.</summary>
    public void SawLegacy(string agent, DateTime at)
    {
        lock (_lock)
        {
            var known = _bees.GetValueOrDefault(agent);
            if (known is not null && known.Status.Kind != BeeKinds.Legacy) return; // a Swarm bee of that name speaks for itself
            var status = (known?.Status ?? new BeeStatus(agent, "online", null) { Kind = BeeKinds.Legacy }) with
            {
                Status = "online",
                LastResult = known?.Status.LastResult is { } last && last > at ? last : at,
            };
            PutLocked(agent, new Entry(status, DateTime.UtcNow));
        }
    }

    /// <summary>Every bee known here, as <c>swarm bees</c> shows them; <paramref name="kinds"/> chooses which.</summary>
    public IReadOnlyList<BeeReport> Reports(params string[] kinds)
    {
        lock (_lock)
        {
            return _bees.Values.Where(e => kinds.Contains(e.Status.Kind ?? BeeKinds.Cluster)).Select(e => Report(e.Status)).ToList();
        }
    }

    /// <summary>How many bees of each kind are in each state.</summary>
    public IReadOnlyList<(string Kind, string Status, int Count)> Counts()
    {
        lock (_lock)
        {
            return _bees.Values.GroupBy(e => (e.Status.Kind ?? BeeKinds.Cluster, e.Status.Status))
                .Select(g => (g.Key.Item1, g.Key.Status, g.Count())).ToList();
        }
    }

    private static BeeReport Report(BeeStatus s) =>
        new(s.Bee, s.Kind == BeeKinds.Legacy ? "seed agent" : "edge", s.Location, s.Geo, s.Lists ?? [], s.Targets ?? 0, s.LastResult,
            s.Backlog ?? 0, s.Dropped ?? 0, null)
        {
            Kind = s.Kind ?? BeeKinds.Cluster,
            Status = s.Status,
            Connection = s.Connection,
            Refused = s.Refused,
        };

    private void Put(string bee, Entry entry)
    {
        lock (_lock) PutLocked(bee, entry);
    }

    private void PutLocked(string bee, Entry entry)
    {
        if (!_bees.ContainsKey(bee) && _bees.Count >= MaxBees)
        {
            var oldest = _bees.MinBy(b => b.Value.HeardAt).Key;
            _bees.Remove(oldest);
        }
        _bees[bee] = entry;
    }

    private void Count()
    {
        lock (_lock) Ignored++;
    }

    private static BeeStatus? Parse(ReadOnlySpan<byte> payload)
    {
        try { return JsonSerializer.Deserialize(payload, SwarmJson.Default.BeeStatus); }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException) { return null; }
    }


    private sealed record Entry(BeeStatus Status, DateTime HeardAt);
}
