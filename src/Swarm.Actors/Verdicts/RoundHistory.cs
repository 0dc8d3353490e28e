using System.Collections.Concurrent;
using Swarm.Protocol;

namespace Swarm.Verdicts;

/// <summary>
/// The latest rounds of each (target, bee) series this node hears on <c>ping/+</c>, for the live page: a fixed ring
/// of <see cref="Points"/> per series, 16 bytes a round (times in half precision: three significant digits are what
/// a chart shows), at most <see cref="MaxSeries"/> series (a new series past that replaces the one heard of least
/// recently). 10,000 series of 1,080 rounds (three hours at 10 s) take about 175 MB.
/// </summary>
public sealed class RoundHistory(int maxSeries, int points)
{
    private readonly ConcurrentDictionary<(string Target, string Bee), Series> _series = new();

    public int MaxSeries => maxSeries;

    public int Points => points;

    public int Count => _series.Count;

    /// <summary>Raised (on an MQTT thread) after each round is kept: what the page's event stream forwards.</summary>
    public event Action<string, string, RoundPoint>? Added;

    public void Add(ProbeResult r)
    {
        if (maxSeries == 0) return;
        var key = (r.Target, r.Bee);
        if (!_series.TryGetValue(key, out var series))
        {
            // Full: a series silent for ten minutes makes room; when none is, the new one is not kept (a flood of
            // made-up bee names cannot push out the series people watch).
            if (_series.Count >= maxSeries && !EvictSilent()) return;
            series = _series.GetOrAdd(key, _ => new Series(points));
        }
        if (!series.Takes(r.Seq)) return; // a redelivery, or the second copy of a round
        var point = new RoundPoint(new DateTimeOffset(r.Timestamp.ToUniversalTime()).ToUnixTimeSeconds(),
            (float?)(r.MedianMs ?? r.TotalMs), (float?)r.MinMs, (float?)r.P95Ms, (float?)(r.MaxMs ?? r.TotalMs), (float)r.LossPercent);
        series.Add(point);
        if (r.Path is not null) series.Path = r.Path; // a path's latest hops, for the page's mtr-style table
        Added?.Invoke(r.Target, r.Bee, point);
    }

    private bool EvictSilent()
    {
        var oldest = _series.MinBy(s => s.Value.LastAdded);
        if (Environment.TickCount64 - oldest.Value.LastAdded < 600_000) return false;
        return _series.TryRemove(oldest.Key, out _);
    }

    /// <summary>The bees with a series for this target.</summary>
    public IReadOnlyList<string> BeesOf(string target) => _series.Keys.Where(k => k.Target == target).Select(k => k.Bee).Order(StringComparer.Ordinal).ToList();

    /// <summary>The latest path of a <c>trace://</c> series, hop by hop; null for other kinds, or when unknown.</summary>
    public PathInfo? PathOf(string target, string bee) => _series.TryGetValue((target, bee), out var s) ? s.Path : null;

    /// <summary>One series, oldest round first; empty when unknown.</summary>
    public IReadOnlyList<RoundPoint> Read(string target, string bee) => _series.TryGetValue((target, bee), out var s) ? s.Read() : [];

    /// <summary>A ring of rounds; one writer at a time per series (MQTT delivers one message at a time), readers take a lock.</summary>
    private sealed class Series(int capacity)
    {
        private readonly uint[] _time = new uint[capacity]; // seconds since 2020-01-01: good until 2156
        private readonly Half[] _median = new Half[capacity], _min = new Half[capacity], _p95 = new Half[capacity], _max = new Half[capacity];
        private readonly byte[] _loss = new byte[capacity]; // percent, rounded
        private int _next, _count;
        private long _lastSeq;

        public long LastAdded;
        public volatile PathInfo? Path;

        /// <summary>Whether a round of this sequence is new here (a bee that lost its outbox starts again far below: taken).</summary>
        public bool Takes(long seq)
        {
            lock (this)
            {
                if (seq > 0 && seq <= _lastSeq && _lastSeq - seq < 100_000) return false;
                _lastSeq = seq;
                return true;
            }
        }

        private static readonly long Epoch = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

        public void Add(RoundPoint p)
        {
            lock (this)
            {
                _time[_next] = (uint)Math.Clamp(p.UnixSeconds - Epoch, 0, uint.MaxValue);
                (_median[_next], _min[_next], _p95[_next], _max[_next]) = (Pack(p.Median), Pack(p.Min), Pack(p.P95), Pack(p.Max));
                _loss[_next] = (byte)Math.Clamp(Math.Round(p.Loss), 0, 100);
                _next = (_next + 1) % capacity;
                _count = Math.Min(_count + 1, capacity);
                LastAdded = Environment.TickCount64;
            }
        }

        public IReadOnlyList<RoundPoint> Read()
        {
            lock (this)
            {
                var points = new RoundPoint[_count];
                var start = (_next - _count + capacity) % capacity;
                for (var i = 0; i < _count; i++)
                {
                    var k = (start + i) % capacity;
                    points[i] = new RoundPoint(_time[k] + Epoch, Unpack(_median[k]), Unpack(_min[k]), Unpack(_p95[k]), Unpack(_max[k]), _loss[k]);
                }
                return points;
            }
        }

        // Half's largest value is 65,504: a round slower than 65 s is charted at 65 s (no Infinity, which JSON cannot carry).
        private static Half Pack(float? value) => value is { } v ? (Half)Math.Min(v, 65_504f) : Half.NaN;

        private static float? Unpack(Half value) => Half.IsNaN(value) ? null : (float)value;
    }
}
