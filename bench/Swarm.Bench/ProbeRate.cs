using System.Diagnostics;
using Swarm.Probing;

namespace Swarm.Bench;

/// <summary>Echoes per second to 200 loopback targets, 100 each, 1 ms per-target period, no global interval (fping -i0 -p1).</summary>
public static class ProbeRate
{
    private const int Targets = 200;
    private const int Count = 100;
    private const int Runs = 5;

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        var targets = Enumerable.Range(0, Targets).Select(i => $"127.0.{i / 250}.{i % 250 + 1}").ToArray();
        Console.Error.WriteLine($"rate: {Targets} targets x {Count} echoes, {Runs} runs each");

        var fping = new List<double>();
        for (var run = 0; run < Runs; run++)
        {
            var r = Tools.Run("fping", ["-i0", "-p1", $"-c{Count}", "-q", .. targets]);
            var received = r.Error.Split('\n').Where(l => l.Contains("xmt/rcv")).Sum(l => int.Parse(l.Split('=')[1].Split('/')[1]));
            fping.Add(received / r.Elapsed.TotalSeconds);
        }

        var inProcess = new List<double>();
        using (var engine = IcmpEngine.Open(ProbeLimits.Unlimited))
        {
            var prober = new IcmpProber(engine);
            var settings = new RoundSettings(Count, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));
            await Task.WhenAll(targets.Take(20).Select(t => prober.ProbeAsync(t, settings with { Count = 3 }, default))); // JIT warm-up
            for (var run = 0; run < Runs; run++)
            {
                var sw = Stopwatch.StartNew();
                var outcomes = await Task.WhenAll(targets.Select(t => prober.ProbeAsync(t, settings, default)));
                inProcess.Add(outcomes.Sum(o => o.Stats.Received) / sw.Elapsed.TotalSeconds);
            }
        }

        var cli = new List<double>();
        for (var run = 0; run < Runs; run++)
        {
            var r = Tools.Run("dotnet", [Tools.SwarmCli, "probe", "-i", "0", "-p", "1", "-c", Count.ToString(), "-t", "1000", .. targets]);
            var received = r.Output.Split('\n').Where(l => l.Contains("xmt/rcv")).Sum(l => int.Parse(l.Split('=')[1].Split('/')[1]));
            cli.Add(received / r.Elapsed.TotalSeconds);
        }

        string Show(List<double> v) => $"{Tools.F(Tools.Median(v), "#,0")} /s (best {Tools.F(v.Max(), "#,0")})";
        return
        [
            new("echoes/s, 200 loopback targets × 100, engine in a running bee", Show(inProcess), Show(fping), "≥ fping"),
            new("echoes/s, same, `swarm probe` process start to exit", Show(cli), Show(fping), "≥ fping"),
        ];
    }
}
