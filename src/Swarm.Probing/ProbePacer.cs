using System.Diagnostics;

namespace Swarm.Probing;

/// <summary>Limits on how hard a bee may probe: a global budget and a minimum spacing per target.</summary>
/// <param name="MaxPerSecond">Probes (echoes, connects, requests) per second for the whole bee; 0 = unlimited.</param>
/// <param name="MinTargetSpacing">Least time between two probes to one target: the "cannot DoS an Arduino" promise.</param>
public sealed record ProbeLimits(int MaxPerSecond = 5000, TimeSpan? MinTargetSpacing = null)
{
    public TimeSpan TargetSpacing => MinTargetSpacing ?? TimeSpan.FromMilliseconds(50);

    public static readonly ProbeLimits Unlimited = new(0, TimeSpan.Zero);
}

/// <summary>
/// Hands out send slots (Stopwatch ticks) that respect <see cref="ProbeLimits"/>: a slot is at least the target's
/// spacing after that target's previous slot, and at least 1/MaxPerSecond after any previous slot.
/// Thread-safe; a reservation is never given back, so the limits hold even for probes that are later cancelled.
/// </summary>
public sealed class ProbePacer(ProbeLimits limits)
{
    private readonly long _globalGap = limits.MaxPerSecond > 0 ? Stopwatch.Frequency / limits.MaxPerSecond : 0;
    private readonly long _targetGap = (long)(limits.TargetSpacing.TotalSeconds * Stopwatch.Frequency);
    private readonly Dictionary<UInt128, long> _nextPerTarget = new();
    private readonly Lock _lock = new();
    private long _nextGlobal;
    private int _reservations;

    public ProbeLimits Limits => limits;

    /// <summary>The earliest slot at or after <paramref name="earliest"/> at which <paramref name="target"/> may be probed.</summary>
    public long Reserve(UInt128 target, long earliest)
    {
        lock (_lock)
        {
            var slot = earliest;
            if (_targetGap > 0 && _nextPerTarget.TryGetValue(target, out var targetNext) && targetNext > slot) slot = targetNext;
            if (_globalGap > 0 && _nextGlobal > slot) slot = _nextGlobal;
            if (_targetGap > 0) _nextPerTarget[target] = slot + _targetGap;
            if (_globalGap > 0) _nextGlobal = slot + _globalGap;
            if (++_reservations % 65536 == 0) Prune(slot);
            return slot;
        }
    }

    /// <summary>Waits until a slot for <paramref name="target"/> comes (for TCP and HTTP probes, which are few).</summary>
    public async Task WaitTurnAsync(UInt128 target, CancellationToken cancellationToken)
    {
        var slot = Reserve(target, Stopwatch.GetTimestamp());
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), slot);
        if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);
    }

    private void Prune(long now)
    {
        // Targets not probed for a while are forgotten, so the map stays as small as the live target set.
        foreach (var (key, next) in _nextPerTarget.ToArray())
            if (next < now) _nextPerTarget.Remove(key);
    }
}
