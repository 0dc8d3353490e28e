namespace Swarm.Probing;

/// <summary>The summary of one round of echoes, as <c>ping -c N</c> and fping print it, plus median, p95 and jitter.</summary>
public sealed record RoundStats(
    int Sent, int Received, double LossPercent,
    double? MinMs, double? AvgMs, double? MaxMs, double? StddevMs,
    double? MedianMs, double? P95Ms, double? JitterMs)
{
    /// <summary>Computes the summary from the RTTs of the replies that came back, in the order the echoes were sent.</summary>
    public static RoundStats Of(int sent, IReadOnlyList<double> rttsMs)
    {
        if (sent < 0 || rttsMs.Count > sent)
            throw new ArgumentException($"{rttsMs.Count} replies for {sent} echoes sent");
        var received = rttsMs.Count;
        var loss = sent == 0 ? 0 : Round(100.0 * (sent - received) / sent);
        if (received == 0)
            return new RoundStats(sent, 0, loss, null, null, null, null, null, null, null);

        double min = double.MaxValue, max = double.MinValue, sum = 0, sumSquares = 0, jitterSum = 0;
        for (var i = 0; i < received; i++)
        {
            var rtt = rttsMs[i];
            min = Math.Min(min, rtt);
            max = Math.Max(max, rtt);
            sum += rtt;
            sumSquares += rtt * rtt;
            if (i > 0) jitterSum += Math.Abs(rtt - rttsMs[i - 1]);
        }
        var avg = sum / received;
        // Population deviation, as ping's "mdev": sqrt(E[x²] − E[x]²).
        var stddev = Math.Sqrt(Math.Max(0, sumSquares / received - avg * avg));
        var sorted = rttsMs.Order().ToArray();
        var median = received % 2 == 1
            ? sorted[received / 2]
            : (sorted[received / 2 - 1] + sorted[received / 2]) / 2;
        // Nearest-rank percentile: the smallest RTT with at least 95% of the replies at or below it.
        var p95 = sorted[Math.Max(0, (int)Math.Ceiling(0.95 * received) - 1)];
        double? jitter = received > 1 ? Round(jitterSum / (received - 1)) : null;
        return new RoundStats(sent, received, loss, Round(min), Round(avg), Round(max), Round(stddev), Round(median), Round(p95), jitter);
    }

    /// <summary>Microsecond resolution is all a network RTT carries; it keeps payloads short.</summary>
    private static double Round(double ms) => Math.Round(ms, 3, MidpointRounding.AwayFromZero);
}
