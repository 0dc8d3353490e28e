using System.Diagnostics;
using Swarm.Probing;

namespace Swarm.Bench;

/// <summary>
/// Echoes per second to 200 loopback targets, 200 each, 1 ms per-target period, no global interval (fping -i0 -p1):
/// the engine inside a running process, and whole processes from start to exit (fping, the native swarm, and the
/// same code on the .NET runtime), interleaved run by run.
/// </summary>
public static class ProbeRate
{
    private const int Targets = 200;
    private const int Count = 200;
    private const int Runs = 5;

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        var targets = Enumerable.Range(0, Targets).Select(i => $"127.0.{i / 250}.{i % 250 + 1}").ToArray();
        Console.Error.WriteLine($"rate: {Targets} targets x {Count} echoes, {Runs} runs each");

        static double Rate(string summary, TimeSpan elapsed) =>
            summary.Split('\n').Where(l => l.Contains("xmt/rcv")).Sum(l => int.Parse(l.Split('=')[1].Split('/')[1])) / elapsed.TotalSeconds;
        var fping = new List<double>();
        var native = new List<double>();
        var jit = new List<double>();
        string[] probe = ["probe", "-i", "0", "-p", "1", "-c", Count.ToString(), "-t", "1000", .. targets];
        for (var run = 0; run < Runs; run++)
        {
            var f = Tools.Run("fping", ["-i0", "-p1", $"-c{Count}", "-q", .. targets]);
            fping.Add(Rate(f.Error, f.Elapsed));
            var n = Tools.Run(Tools.NativeSwarm, probe);
            native.Add(Rate(n.Output, n.Elapsed));
            var j = Tools.Run("dotnet", [Tools.SwarmCli, .. probe]);
            jit.Add(Rate(j.Output, j.Elapsed));
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

        string Show(List<double> v) => $"{Tools.F(Tools.Median(v), "#,0")} /s (best {Tools.F(v.Max(), "#,0")})";
        return
        [
            new($"echoes/s, {Targets} loopback targets × {Count}, engine in a running bee", Show(inProcess), Show(fping), "≥ fping"),
            new("echoes/s, same, native `swarm probe` (NativeAOT), process start to exit", Show(native), Show(fping), "≥ fping"),
            new("echoes/s, same, `dotnet swarm.dll probe` (JIT), process start to exit", Show(jit), Show(fping), "—"),
        ];
    }
}
