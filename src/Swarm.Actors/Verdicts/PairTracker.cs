using Swarm.Protocol;

namespace Swarm.Verdicts;

/// <summary>
/// One bee's recent rounds against one target, and the state they give: down, lossy, slow (against this pair's own
/// baseline, so a bee far away is not slow for being far) or ok. Fixed-size rings: no allocation per round.
/// </summary>
public sealed class PairTracker
{
    private readonly VerdictSettings _settings;
    private readonly float[] _loss;
    private readonly float[] _rtt; // NaN: no answer that round
    private readonly float[] _history; // RTTs of answered rounds, for the baseline
    private int _rounds, _next, _historyCount, _historyNext, _sinceBaseline, _slowRounds;
    private float _baseline = float.NaN;
    private long _lastSeq;

    public PairTracker(string bee, VerdictSettings settings)
    {
        Bee = bee;
        _settings = settings;
        _loss = new float[settings.Window];
        _rtt = new float[settings.Window];
        _history = new float[settings.BaselineRounds];
    }

    public string Bee { get; }
    public string State { get; private set; } = PairStates.Ok;
    public DateTime Since { get; private set; }
    public DateTime LastSeen { get; private set; }
    public string? Location { get; private set; }
    public string? Connection { get; private set; }
    public string? Address { get; private set; }

    /// <summary>Takes one round; true when the pair's state changed. A redelivered round (same or older seq) is ignored.</summary>
    public bool Observe(ProbeResult r, DateTime now)
    {
        // A bee whose journal was wiped starts again from a low seq: far below the last one is a new life, not a replay.
        if (r.Seq <= _lastSeq && _lastSeq - r.Seq < 100_000) return false;
        _lastSeq = r.Seq;
        LastSeen = now;
        (Location, Connection, Address) = (r.Location, r.Connection, r.Address ?? Address);
        // A server error is no answer: HTTP 5xx, and a resolver's SERVFAIL or REFUSED (NXDOMAIN is an answer).
        var answered = r.Received > 0 && r.StatusCode is null or < 500 && r.Dns?.Rcode is null or "NOERROR" or "NXDOMAIN";
        var loss = r.Sent > 0 ? (float)r.LossPercent : answered ? 0f : 100f;
        var rtt = answered ? (float)(r.MedianMs ?? r.TotalMs ?? r.AvgMs ?? double.NaN) : float.NaN;
        _loss[_next] = loss;
        _rtt[_next] = rtt;
        _next = (_next + 1) % _loss.Length;
        _rounds++;
        // While slow, only every fourth round joins the baseline: a slowdown that lasts an hour stays slow; one that
        // lasts about four times BaselineRounds becomes the new normal (a new route is not an outage forever).
        _slowRounds = State == PairStates.Slow ? _slowRounds + 1 : 0;
        if (!float.IsNaN(rtt) && (_slowRounds == 0 || _slowRounds % 4 == 0))
        {
            _history[_historyNext] = rtt;
            _historyNext = (_historyNext + 1) % _history.Length;
            _historyCount = Math.Min(_historyCount + 1, _history.Length);
            // The 25th percentile moves slowly: every fourth round is often enough, and keeps a round cheap.
            if (++_sinceBaseline >= 4 || float.IsNaN(_baseline)) (_baseline, _sinceBaseline) = (Percentile(_history.AsSpan(0, _historyCount), 0.25f), 0);
        }
        var state = Judge();
        if (state == State && _rounds > 1) return false;
        var changed = state != State;
        (State, Since) = (state, changed || _rounds == 1 ? now : Since);
        return changed;
    }

    /// <summary>Mean loss over the window, percent.</summary>
    public double Loss
    {
        get
        {
            var n = Math.Min(_rounds, _loss.Length);
            var sum = 0f;
            for (var i = 0; i < n; i++) sum += _loss[i];
            return n == 0 ? 0 : Math.Round(sum / n, 1);
        }
    }

    /// <summary>Median RTT of the window's answered rounds, or null when none answered.</summary>
    public double? Rtt
    {
        get
        {
            Span<float> answered = stackalloc float[_rtt.Length];
            var n = 0;
            for (var i = 0; i < Math.Min(_rounds, _rtt.Length); i++)
                if (!float.IsNaN(_rtt[i])) answered[n++] = _rtt[i];
            return n == 0 ? null : Math.Round(Percentile(answered[..n], 0.5f), 3);
        }
    }

    public double? Baseline => _historyCount < _settings.MinBaselineRounds ? null : Math.Round(_baseline, 3);

    private string Judge()
    {
        var n = Math.Min(_rounds, _loss.Length);
        if (n >= _settings.DownRounds)
        {
            var silent = 0;
            for (var k = 1; k <= _settings.DownRounds; k++)
                if (float.IsNaN(_rtt[(_next - k + _rtt.Length) % _rtt.Length])) silent++;
            if (silent == _settings.DownRounds) return PairStates.Down;
        }
        // Lossy wants loss in two rounds at least: one request that timed out (an HTTP or TCP round has one) is a blip.
        var lossyRounds = 0;
        for (var i = 0; i < n; i++) if (_loss[i] > 0) lossyRounds++;
        if (Loss >= _settings.LossyPercent && lossyRounds >= 2) return PairStates.Lossy;
        if (Baseline is { } baseline && Rtt is { } rtt && rtt > baseline * _settings.SlowFactor && rtt > baseline + _settings.SlowMinMs)
            return PairStates.Slow;
        return PairStates.Ok;
    }

    public PairView View() => new(Bee, State)
    {
        Since = Since,
        Location = Location,
        Connection = Connection,
        Address = Address,
        Loss = Loss,
        RttMs = Rtt,
        BaselineMs = Baseline,
    };

    private static float Percentile(ReadOnlySpan<float> values, float p)
    {
        Span<float> sorted = stackalloc float[values.Length];
        values.CopyTo(sorted);
        sorted.Sort();
        return sorted[(int)Math.Round(p * (sorted.Length - 1))];
    }
}
