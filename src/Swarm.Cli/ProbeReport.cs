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

    /// <summary>0 when every target answered at least once, 2 when a name did not resolve, else 1 when one never answered.</summary>
    public static int ExitCode(IReadOnlyCollection<ProbeOutcome> outcomes)
    {
        if (outcomes.Any(o => o.Address is null && o.Error?.StartsWith("cannot resolve", StringComparison.Ordinal) == true)) return SomeUnresolved;
        return outcomes.Any(o => o.Stats.Received == 0) ? SomeUnreachable : AllAnswered;
    }

    private static string F(double? ms, string format = "0.000") =>
        ms?.ToString(format, CultureInfo.InvariantCulture) ?? "-";
}
