using Swarm.Protocol;

namespace Swarm.Verdicts;

/// <summary>
/// One bee's targets as their <see cref="TargetJudge"/>s see them: when most of them are degraded, and at least one
/// of those is fine for the other bees, the bee's own link is the problem ("it's just you").
/// </summary>
public sealed class BeeJudge(string bee, VerdictSettings settings)
{
    private readonly Dictionary<string, (string State, bool Shared, int Peers, DateTime Heard)> _targets = new(StringComparer.Ordinal);
    private string _verdict = VerdictKinds.Ok;
    private DateTime _since;
    private string? _signature;

    public string Bee => bee;

    public int Targets => _targets.Count;

    /// <summary>Whether the bee's own link is degraded, as last evaluated: what its targets' judges are told.</summary>
    public bool LinkDegraded => _verdict == VerdictKinds.OneBee;

    public IEnumerable<string> TargetNames => _targets.Keys;

    public void Update(PairUpdate u, DateTime now)
    {
        if (u.State == PairUpdate.Gone) _targets.Remove(u.Target);
        else _targets[u.Target] = (u.State, u.Shared, u.Peers, now);
    }

    /// <summary>Forgets targets whose judge has not spoken for <see cref="VerdictSettings.StaleAfter"/> (it refreshes far more often).</summary>
    public void Expire(DateTime now)
    {
        foreach (var t in _targets.Where(t => now - t.Value.Heard > settings.StaleAfter).Select(t => t.Key).ToList()) _targets.Remove(t);
    }

    public (BeeVerdict Verdict, bool Changed) Evaluate(DateTime now)
    {
        var degraded = _targets.Where(t => t.Value.State != PairStates.Ok).ToList();
        // Its own link: most of its targets degraded, and at least one of those seen fine by other bees (a target no
        // other bee probes says nothing either way: its gateway down is not this bee's link).
        var ownLink = _targets.Count >= VerdictSettings.MinTargetsForLink
            && degraded.Count > _targets.Count * settings.MostFraction
            && degraded.Any(t => !t.Value.Shared && t.Value.Peers > 0);
        var verdict = ownLink ? VerdictKinds.OneBee : VerdictKinds.Ok;
        if (verdict != _verdict) (_verdict, _since) = (verdict, now);
        if (_since == default) _since = now;
        var evidence = degraded.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => new BeeTargetView(t.Key, t.Value.State) { Shared = t.Value.Shared }).ToList();
        var word = TargetJudge.Worst(degraded.Select(t => t.Value.State));
        var text = ownLink
            ? $"bee {bee}: its own link is {word} ({degraded.Count} of {_targets.Count} targets degraded, where other bees see them fine) since {_since:HH:mm} UTC"
            : degraded.Count == 0
                ? $"bee {bee}: ok ({_targets.Count} targets)"
                : $"bee {bee}: its link looks fine ({degraded.Count} of {_targets.Count} targets degraded)";
        var result = new BeeVerdict(bee, verdict, text)
        {
            Since = _since,
            At = now,
            Targets = _targets.Count,
            Degraded = degraded.Count,
            Evidence = evidence,
        };
        var signature = $"{verdict}|{string.Join(',', evidence.Select(e => $"{e.Target}={e.State}{(e.Shared ? "*" : "")}"))}|{_targets.Count}";
        var changed = signature != _signature;
        _signature = signature;
        return (result, changed);
    }
}
