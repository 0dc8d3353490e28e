using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Swarm.Probing;
using Swarm.Tests.Infrastructure;

namespace Swarm.Bench;

/// <summary>
/// Paths: 100 targets, each 30 hops away (a chain of 29 router namespaces), traced in one round with a bee's default
/// settings and budget (5 probes per hop 200 ms apart, 1 s timeout, 5,000 probes/s, 50 ms per hop), beside
/// <c>mtr --report -c 5</c> on one of them, on the same chain. The worker runs inside the bee's namespace.
/// </summary>
public static class PathBench
{
    public const string WorkerVerb = "path-worker";
    private const int Routers = 29;
    private const int Targets = 100;

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        var (chain, reason) = await RouterChain.TryCreateAsync(Routers);
        if (chain is null) return [new Row("path rounds", reason!, "", "")];
        await using var _ = chain;
        var targets = await chain.AddTargetAddressesAsync(Targets);

        var self = typeof(PathBench).Assembly.Location;
        var (exit, output) = await chain.RunInBeeAsync(["dotnet", self, WorkerVerb, .. targets.Select(t => t.ToString())]);
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        if (exit != 0 || line is null) return [new Row("path rounds", $"worker failed ({exit}): {output}", "", "")];
        var figures = JsonDocument.Parse(line).RootElement;

        var mtr = Stopwatch.StartNew();
        var (mtrExit, report) = await chain.RunInBeeAsync("mtr", "-n", "--report", "-c", "5", targets[0].ToString());
        mtr.Stop();
        var mtrHops = report.Split('\n').Count(l => l.Contains(".|--"));
        var reference = mtrExit == 0 ? $"mtr --report -c 5, one target: {mtr.Elapsed.TotalSeconds:0.0} s, {mtrHops} hops" : $"mtr failed: {report}";

        return
        [
            new Row($"path round, {Targets} targets × {figures.GetProperty("hops").GetInt32()} hops, 5 probes a hop (bee defaults and budget)",
                $"{figures.GetProperty("seconds").GetDouble():0.0} s for all {Targets}; {figures.GetProperty("probes").GetInt32():N0} probes " +
                $"({figures.GetProperty("rate").GetDouble():N0}/s, budget 5,000/s); {figures.GetProperty("reached").GetInt32()} reached",
                reference, "inside the default 10 s interval"),
        ];
    }

    /// <summary>Inside the bee's namespace: one round over every target at once, as a bee's schedule would start them.</summary>
    public static async Task<int> RunWorkerAsync(string[] targets)
    {
        var pacer = new ProbePacer(new ProbeLimits());
        using var prober = new TraceProber(pacer, AddressPolicy.Operator);
        var round = new RoundSettings(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1));
        var clock = Stopwatch.StartNew();
        var outcomes = await Task.WhenAll(targets.Select(t => prober.ProbeAsync($"trace://{t}", round, default)));
        clock.Stop();
        var probes = outcomes.Sum(o => o.Path?.Hops.Sum(h => h.Sent) ?? 0);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            seconds = clock.Elapsed.TotalSeconds,
            probes,
            rate = probes / clock.Elapsed.TotalSeconds,
            reached = outcomes.Count(o => o.Path?.Reached == true),
            hops = outcomes.Max(o => o.Path?.Hops.Count ?? 0),
        }));
        return 0;
    }
}
