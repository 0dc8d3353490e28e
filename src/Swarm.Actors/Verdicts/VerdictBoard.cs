using System.Collections.Concurrent;
using System.Text.Json;
using Swarm.Mqtt;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Verdicts;

/// <summary>A verdict cleared from the broker (its subject is no longer probed): what the page drops.</summary>
public sealed record VerdictGone(string Subject, bool IsBee);

/// <summary>
/// The latest verdicts as this node hears them on <c>verdict/#</c> (retained, so a node that starts sees them all at
/// once): what <c>/api/verdicts</c>, <c>swarm verdict</c> and the verdict metrics read, on any node. A payload that
/// is not a verdict for its topic is ignored; an empty one (a cleared retained message) forgets the subject.
/// </summary>
public sealed class VerdictBoard
{
    public const int MaxEntries = 200_000;

    private static readonly HashSet<string> Kinds =
        [VerdictKinds.Ok, VerdictKinds.Everyone, VerdictKinds.SomePlaces, VerdictKinds.OnePath, VerdictKinds.OneBee];

    private readonly ConcurrentDictionary<string, TargetVerdict> _targets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, BeeVerdict> _bees = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Alert> _alerts = new(StringComparer.Ordinal); // by topic
    private readonly ConcurrentDictionary<string, ulong> _payloads = new(StringComparer.Ordinal); // topic → hash of what it last carried

    /// <summary>Verdict payloads ignored: malformed, for another subject than their topic says, or past the cap.</summary>
    public long Ignored => Interlocked.Read(ref _ignored);

    private long _ignored;

    /// <summary>Raised (on an MQTT thread) after a verdict was taken; what the live page's event stream forwards.</summary>
    public event Action<string, object>? Changed;

    public void Heard(string topic, byte[] payload)
    {
        // A node reading several brokers hears on several threads: one message at a time, so the newest stays.
        lock (_heard) HeardOne(topic, payload);
    }

    private readonly object _heard = new();

    private void HeardOne(string topic, byte[] payload)
    {
        // A retained message delivered again (a reconnect, a second subscription) changes nothing: no event for it.
        var hash = System.IO.Hashing.XxHash3.HashToUInt64(payload);
        if (_payloads.TryGetValue(topic, out var last) && last == hash) return;
        if (topic.StartsWith(SwarmNames.Topics.AlertPrefix, StringComparison.Ordinal))
        {
            if (payload.Length == 0) _alerts.TryRemove(topic, out _);
            else if (Parse(payload, SwarmJson.Wire.Alert) is { State: Alert.Raised or Alert.Cleared, Verdict: not null } a && Fits(_alerts, topic)) _alerts[topic] = a;
            else Interlocked.Increment(ref _ignored);
        }
        else if (topic.StartsWith(SwarmNames.Topics.BeeVerdictPrefix, StringComparison.Ordinal))
        {
            var bee = Topics.Unescape(topic[SwarmNames.Topics.BeeVerdictPrefix.Length..]);
            if (payload.Length == 0) { if (_bees.TryRemove(bee, out _)) Changed?.Invoke(bee, new VerdictGone(bee, IsBee: true)); }
            else if (Parse(payload, SwarmJson.Wire.BeeVerdict) is { } v && v.Bee == bee && v.Text is not null && v.Evidence is not null && v.Evidence.All(e => e is { Target: not null, State: not null }) && Kinds.Contains(v.Verdict) && Fits(_bees, bee)) Take(_bees, bee, v, b => b.At);
            else Interlocked.Increment(ref _ignored);
        }
        else if (topic.StartsWith(SwarmNames.Topics.VerdictPrefix, StringComparison.Ordinal))
        {
            var target = Topics.Unescape(topic[SwarmNames.Topics.VerdictPrefix.Length..]);
            if (payload.Length == 0) { if (_targets.TryRemove(target, out _)) Changed?.Invoke(target, new VerdictGone(target, IsBee: false)); }
            else if (Parse(payload, SwarmJson.Wire.TargetVerdict) is { } v && v.Target == target && v.Text is not null && WellFormed(v.Bees) && Kinds.Contains(v.Verdict) && Fits(_targets, target)) Take(_targets, target, v, t => t.At);
            else Interlocked.Increment(ref _ignored);
        }
        if (_payloads.Count < MaxEntries * 3 || _payloads.ContainsKey(topic)) _payloads[topic] = hash;
    }

    private static bool WellFormed(IReadOnlyList<PairView>? bees) =>
        bees is not null && bees.All(b => b is { Bee: not null, State: not null }) && bees.DistinctBy(b => b.Bee).Count() == bees.Count;

    private void Take<T>(ConcurrentDictionary<string, T> map, string key, T verdict, Func<T, DateTime> at) where T : class
    {
        // A node reading several brokers hears each verdict on each; one that was down holds an older one retained.
        if (map.TryGetValue(key, out var held) && at(held) > at(verdict)) return;
        map[key] = verdict;
        Changed?.Invoke(key, verdict);
    }

    /// <summary>The latest alert heard on <paramref name="topic"/>, or null.</summary>
    public Alert? LastAlert(string topic) => _alerts.TryGetValue(topic, out var a) ? a : null;

    private static bool Fits<T>(ConcurrentDictionary<string, T> map, string key) where T : notnull => map.ContainsKey(key) || map.Count < MaxEntries;

    private static T? Parse<T>(byte[] payload, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) where T : class
    {
        try { return JsonSerializer.Deserialize(payload, info); }
        catch (JsonException) { return null; }
    }

    /// <summary>Every verdict, degraded targets first, then by name; or only <paramref name="target"/>'s.</summary>
    public VerdictsView View(string? target = null)
    {
        var targets = _targets.Values.Where(v => target is null || v.Target == target)
            .OrderBy(v => v.Verdict == VerdictKinds.Ok).ThenBy(v => v.Target, StringComparer.Ordinal).ToList();
        var bees = target is not null ? [] : _bees.Values.OrderBy(v => v.Verdict == VerdictKinds.Ok).ThenBy(v => v.Bee, StringComparer.Ordinal).ToList();
        return new VerdictsView(targets, bees);
    }

    /// <summary>The live page's matrix: every bee that probes something as a column, every target as a row, degraded first.</summary>
    public MatrixView Matrix()
    {
        var rows = _targets.Values.OrderBy(v => v.Verdict == VerdictKinds.Ok).ThenBy(v => v.Target, StringComparer.Ordinal).Select(Row).ToList();
        var bees = rows.SelectMany(r => r.States.Keys).Concat(_bees.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        return new MatrixView(bees, rows, _bees.Values.OrderBy(b => b.Bee, StringComparer.Ordinal).ToList());
    }

    /// <summary>A verdict as a matrix row: each bee's state, marked "own-link" when its own link is what is degraded.</summary>
    public static MatrixRow Row(TargetVerdict v) => new(v.Target, v.Verdict, v.Text, v.Since,
        v.Bees.ToDictionary(b => b.Bee, b => b.OwnLink == true ? $"{b.State}/own-link" : b.State));

    public IEnumerable<TargetVerdict> Targets => _targets.Values;

    public IEnumerable<BeeVerdict> Bees => _bees.Values;
}
