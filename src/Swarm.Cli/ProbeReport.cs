using System.Globalization;
using Swarm.Probing;

namespace Swarm.Cli;

/// <summary>How the one-shot <c>swarm probe</c> prints rounds and what its exit code says, as fping does.</summary>
public static class ProbeReport
{
    public const int AllAnswered = 0;
    public const int SomeUnreachable = 1;
    public const int SomeUnresolved = 2;
    public const int BadArguments = 3;
    public const int SystemFailure = 4;

    /// <summary>fping's summary line, with the figures fping lacks after it: <c>host : xmt/rcv/%loss = 10/10/0%, min/avg/max = …</c></summary>
    public static string SummaryLine(ProbeOutcome o, int width = 0)
    {
        var s = o.Stats;
        var line = $"{o.Target.PadRight(width)} : xmt/rcv/%loss = {s.Sent}/{s.Received}/{F(s.LossPercent, "0.#")}%";
        if (s.Received > 0)
        {
            line += $", min/avg/max = {F(s.MinMs)}/{F(s.AvgMs)}/{F(s.MaxMs)}, stddev/median/p95 = {F(s.StddevMs)}/{F(s.MedianMs)}/{F(s.P95Ms)}";
            if (s.JitterMs is { } jitter) line += $", jitter = {F(jitter)}";
        }
        if (o.StatusCode is { } status) line += $", status = {status}";
        if (o.Dns is { Rcode: { } rcode } dns)
        {
            var answers = dns.Answers ?? [];
            var shown = string.Join(" ", answers.Take(4).Select(a => a.Data));
            line += $", {rcode} via {dns.Server}/{dns.Transport}: {(answers.Count == 0 ? "no answers" : shown)}{(answers.Count > 4 ? $" (+{answers.Count - 4} more)" : "")}";
        }
        if (o.Error is not null) line += $" ({o.Error})";
        return line;
    }

    /// <summary>
    /// A path as <c>mtr --report</c> prints it: one line per hop with Loss%, Snt, Last, Avg, Best, Wrst and StDev (ms,
    /// one decimal), <c>???</c> for a hop where no router answered, then where loss or delay starts, if anywhere.
    /// </summary>
    public static IEnumerable<string> PathLines(ProbeOutcome o)
    {
        if (o.Path is not { } path) yield break;
        var hosts = path.Hops.Select(h => h.Address is null ? "???" : h.Name is null ? h.Address : $"{h.Name} ({h.Address})").ToList();
        var width = Math.Max(25, hosts.Count == 0 ? 0 : hosts.Max(h => h.Length));
        yield return $"  {"HOST".PadRight(width + 7)} Loss%   Snt   Last   Avg  Best  Wrst StDev";
        for (var i = 0; i < path.Hops.Count; i++)
        {
            var h = path.Hops[i];
            yield return $"{h.Hop,3}.|-- {hosts[i].PadRight(width)} {F(h.LossPercent, "0.0"),5}% {h.Sent,5} {M(h.LastMs),6} {M(h.AvgMs),5} {M(h.BestMs),5} {M(h.WorstMs),5} {M(h.StddevMs),5}";
            foreach (var other in h.Others ?? []) yield return $"    |   {other}";
        }
        if (path.LossFrom is { } loss) yield return $"  loss starts at hop {loss}";
        if (path.DelayFrom is { } delay) yield return $"  delay starts at hop {delay}";
    }

    private static string M(double? ms) => ms?.ToString("0.0", CultureInfo.InvariantCulture) ?? "";

    /// <summary>0 when every target answered at least once, 2 when a name did not resolve, else 1 when one never answered.</summary>
    public static int ExitCode(IReadOnlyCollection<ProbeOutcome> outcomes)
    {
        if (outcomes.Any(o => o.Address is null && o.Error?.StartsWith("cannot resolve", StringComparison.Ordinal) == true)) return SomeUnresolved;
        return outcomes.Any(o => o.Stats.Received == 0) ? SomeUnreachable : AllAnswered;
    }

    private static string F(double? ms, string format = "0.000") =>
        ms?.ToString(format, CultureInfo.InvariantCulture) ?? "-";
}
