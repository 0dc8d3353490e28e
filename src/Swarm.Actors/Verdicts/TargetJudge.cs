using Swarm.Protocol;

namespace Swarm.Verdicts;

/// <summary>
/// The swarm's view of one target: each bee's pair state, which bees have a bad link of their own (told by their
/// <see cref="BeeJudge"/>), and the verdict they give together. Pure: the caller brings the clock and carries the
/// messages it returns.
/// </summary>
public sealed class TargetJudge(string target, VerdictSettings settings)
{
    private readonly Dictionary<string, PairTracker> _pairs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _badLinks = new(StringComparer.Ordinal); // bee → when its judge last said so
    private readonly Dictionary<string, (string State, bool Shared, int Peers)> _told = new(StringComparer.Ordinal);
    private string _verdict = VerdictKinds.Ok;
    private DateTime _since;
    private string? _signature;

    /// <summary>Whether something a verdict shows changed since the last <see cref="Evaluate"/>: a pair came, went or changed state, or a link mark did.</summary>
    public bool Dirty { get; private set; } = true;

    public string Target => target;

    public int Pairs => _pairs.Count;

    /// <summary>The verdict as last evaluated.</summary>
    public string Verdict => _verdict;

    /// <summary>Takes one round. Returns what the bees' judges must hear: pairs whose state or sharedness changed.</summary>
    public IReadOnlyList<PairUpdate> Observe(ProbeResult r, DateTime now)
    {
        var isNew = !_pairs.TryGetValue(r.Bee, out var pair);
        if (isNew)
        {
            _pairs[r.Bee] = pair = new PairTracker(r.Bee, settings);
            Dirty = true;
        }
        // A new pair is news to its bee's judge even while ok: the bee's link is judged over all its targets.
        return pair!.Observe(r, now) || isNew ? Changes(all: false) : [];
    }

    /// <summary>A bee's judge says whether its own link is degraded.</summary>
    public void Link(string bee, bool degraded, DateTime now)
    {
        if (degraded)
        {
            if (!_badLinks.ContainsKey(bee)) Dirty = true;
            _badLinks[bee] = now;
        }
        else if (_badLinks.Remove(bee))
        {
            Dirty = true;
        }
    }

    /// <summary>Forgets pairs and link marks unheard of for <see cref="VerdictSettings.StaleAfter"/>; returns every pair's state again, gone ones as gone.</summary>
    public IReadOnlyList<PairUpdate> Refresh(DateTime now)
    {
        var gone = new List<PairUpdate>();
        foreach (var (bee, pair) in _pairs.Where(p => now - p.Value.LastSeen > settings.StaleAfter).ToList())
        {
            _pairs.Remove(bee);
            _told.Remove(bee);
            gone.Add(new PairUpdate(bee, target, PairUpdate.Gone, false));
        }
        foreach (var bee in _badLinks.Where(l => now - l.Value > settings.StaleAfter).Select(l => l.Key).ToList())
        {
            _badLinks.Remove(bee);
            Dirty = true;
        }
        if (gone.Count > 0) Dirty = true;
        return [.. gone, .. Changes(all: true)];
    }

    /// <summary>Per bee: its state, and whether most of the other bees see this target degraded too.</summary>
    private List<PairUpdate> Changes(bool all)
    {
        if (!all) Dirty = true; // a pair's state changed (or a pair is new)
        var degraded = _pairs.Values.Count(p => p.State != PairStates.Ok);
        var updates = new List<PairUpdate>();
        foreach (var pair in _pairs.Values)
        {
            var others = _pairs.Count - 1;
            var othersDegraded = degraded - (pair.State != PairStates.Ok ? 1 : 0);
            var shared = others > 0 && othersDegraded > others * settings.MostFraction;
            if (!all && _told.TryGetValue(pair.Bee, out var told) && told == (pair.State, shared, others)) continue;
            _told[pair.Bee] = (pair.State, shared, others);
            updates.Add(new PairUpdate(pair.Bee, target, pair.State, shared) { Peers = others });
        }
        return updates;
    }

    /// <summary>
    /// The verdict now, and whether it differs from the last one returned by this method in what a person would see
    /// (verdict, states, own-link marks; not the figures, which move every round).
    /// </summary>
    public (TargetVerdict Verdict, bool Changed) Evaluate(DateTime now)
    {
        Dirty = false;
        var fresh = _pairs.Values.Where(p => now - p.LastSeen <= settings.StaleAfter).ToList();
        var judged = fresh.Where(p => !_badLinks.ContainsKey(p.Bee)).ToList();
        var degraded = judged.Where(p => p.State != PairStates.Ok).ToList();
        IReadOnlyDictionary<string, string>? shared = null;
        string verdict;
        if (degraded.Count == 0) verdict = VerdictKinds.Ok;
        else if (degraded.Count > judged.Count * settings.MostFraction) verdict = VerdictKinds.Everyone;
        else if (degraded.Count == 1) verdict = VerdictKinds.OnePath;
        else
        {
            verdict = VerdictKinds.SomePlaces;
            shared = Shared(degraded);
        }
        if (verdict != _verdict) (_verdict, _since) = (verdict, now);
        if (_since == default) _since = now;
        var bees = fresh.OrderBy(p => p.State == PairStates.Ok).ThenBy(p => p.Bee, StringComparer.Ordinal)
            .Select(p => p.View() with { OwnLink = _badLinks.ContainsKey(p.Bee) ? true : null }).ToList();
        var result = new TargetVerdict(target, verdict, Text(verdict, degraded, judged.Count, shared))
        {
            Since = _since,
            At = now,
            Judged = judged.Count,
            Degraded = degraded.Count,
            Shared = shared,
            Bees = bees,
        };
        var signature = $"{verdict}|{string.Join(',', bees.Select(b => $"{b.Bee}={b.State}{(b.OwnLink == true ? "!" : "")}"))}";
        var changed = signature != _signature;
        _signature = signature;
        return (result, changed);
    }

    /// <summary>What every degraded bee has in common, of location, connection type and the address it reached.</summary>
    private static Dictionary<string, string>? Shared(List<PairTracker> degraded)
    {
        var shared = new Dictionary<string, string>();
        foreach (var (name, read) in new (string, Func<PairTracker, string?>)[] { ("location", p => p.Location), ("connection", p => p.Connection), ("address", p => p.Address) })
        {
            var values = degraded.Select(read).Distinct().ToList();
            if (values is [{ } only]) shared[name] = only;
        }
        return shared.Count == 0 ? null : shared;
    }

    private string Text(string verdict, List<PairTracker> degraded, int judged, IReadOnlyDictionary<string, string>? shared)
    {
        var since = $"since {_since:HH:mm} UTC";
        var word = Worst(degraded.Select(p => p.State));
        return verdict switch
        {
            VerdictKinds.Everyone => $"{target}: {word} for everyone ({degraded.Count} of {Bees(judged)}) {since}",
            VerdictKinds.OnePath => $"{target}: {word} only from bee {degraded[0].Bee} (the other bees see it fine) {since}",
            VerdictKinds.SomePlaces when shared is not null =>
                $"{target}: {word} from {string.Join(", ", shared.Select(s => $"{s.Key} {s.Value}"))} ({degraded.Count} of {judged} bees) {since}",
            VerdictKinds.SomePlaces => $"{target}: {word} for {degraded.Count} of {judged} bees ({string.Join(", ", degraded.Select(p => p.Bee))}) {since}",
            _ => judged == 0 ? $"{target}: no bee with a good link probes it" : $"{target}: ok from {Bees(judged)}",
        };
    }

    private static string Bees(int n) => n == 1 ? "1 bee" : $"{n} bees";

    /// <summary>The state most of the degraded pairs share, the graver one on a tie.</summary>
    internal static string Worst(IEnumerable<string> states) =>
        states.GroupBy(s => s).OrderByDescending(g => g.Count()).ThenByDescending(g => Gravity(g.Key)).Select(g => g.Key).FirstOrDefault() ?? PairStates.Ok;

    private static int Gravity(string state) => state switch
    {
        PairStates.Down => 3,
        PairStates.Lossy => 2,
        PairStates.Slow => 1,
        _ => 0,
    };
}
