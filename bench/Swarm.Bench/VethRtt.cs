using System.Globalization;
using System.Text.Json;

namespace Swarm.Bench;

/// <summary>
/// RTTs across a veth pair between two network namespaces, the native swarm and fping from the same side, idle and
/// with both cores loaded by a CPU hog (stress-ng): median and p95 of rounds, and the first echo of a cold process.
/// </summary>
public static class VethRtt
{
    private const int Count = 1500;
    private const int Runs = 3;
    private const int ColdRuns = 15;
    private const string Peer = "198.18.254.2"; // RFC 2544 benchmark range, only inside these namespaces

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        var a = $"swarm-bench-a{Environment.ProcessId}";
        var b = $"swarm-bench-b{Environment.ProcessId}";
        Console.Error.WriteLine($"rtt: {Runs} x {Count / Runs} echoes and {ColdRuns} cold single echoes each, across a veth pair between {a} and {b}, idle then loaded");
        var rows = new List<Row>();
        try
        {
            Sh("ip", "netns", "add", a);
            Sh("ip", "netns", "add", b);
            Sh("ip", "link", "add", "swbench0", "netns", a, "type", "veth", "peer", "name", "swbench1", "netns", b);
            Sh("ip", "-n", a, "addr", "add", "198.18.254.1/30", "dev", "swbench0");
            Sh("ip", "-n", b, "addr", "add", $"{Peer}/30", "dev", "swbench1");
            foreach (var (ns, dev) in new[] { (a, "swbench0"), (b, "swbench1") })
            {
                Sh("ip", "-n", ns, "link", "set", dev, "up");
                Sh("ip", "-n", ns, "link", "set", "lo", "up");
            }
            rows.AddRange(Measure(a, "idle"));
            using (Hog())
                rows.AddRange(Measure(a, $"both cores loaded (stress-ng --cpu {Environment.ProcessorCount})"));
        }
        finally
        {
            Tools.Run("ip", ["netns", "del", a]);
            Tools.Run("ip", ["netns", "del", b]);
        }
        await Task.CompletedTask;
        return rows;
    }

    private static IEnumerable<Row> Measure(string ns, string condition)
    {
        // Interleaved runs, so that a busy moment of the machine hurts both tools alike.
        var fping = new List<(double Median, double P95)>();
        var swarm = new List<(double Median, double P95)>();
        for (var run = 0; run < Runs; run++)
        {
            var f = Tools.Run("ip", ["netns", "exec", ns, "fping", "-C", (Count / Runs).ToString(), "-p", "2", "-q", Peer]);
            var rtts = f.Error.Split(':')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(x => x != "-").Select(Parse).ToList();
            fping.Add((Tools.Median(rtts), Tools.Percentile(rtts, 0.95)));
            var s = Tools.Run("ip", ["netns", "exec", ns, Tools.NativeSwarm, "probe", "--json", "-c", (Count / Runs).ToString(), "-p", "2", "-i", "0", "-t", "1000", Peer]);
            var json = JsonDocument.Parse(s.Output).RootElement;
            swarm.Add((json.GetProperty("rtt_median_ms").GetDouble(), json.GetProperty("rtt_p95_ms").GetDouble()));
        }
        var fpingFirst = new List<double>();
        var swarmFirst = new List<double>();
        for (var run = 0; run < ColdRuns; run++)
        {
            fpingFirst.Add(Parse(Tools.Run("ip", ["netns", "exec", ns, "fping", "-C", "1", "-q", Peer]).Error.Split(':')[1].Trim()));
            var s = Tools.Run("ip", ["netns", "exec", ns, Tools.NativeSwarm, "probe", "--json", "-c", "1", "-t", "1000", Peer]);
            swarmFirst.Add(JsonDocument.Parse(s.Output).RootElement.GetProperty("rtt_max_ms").GetDouble());
        }
        double M(IEnumerable<double> v) => Tools.Median(v.ToList());
        return
        [
            new($"RTT median, veth, {condition} (ms)", Tools.F(M(swarm.Select(x => x.Median))), Tools.F(M(fping.Select(x => x.Median))), "within 0.02 ms of fping"),
            new($"RTT p95, veth, {condition} (ms)", Tools.F(M(swarm.Select(x => x.P95))), Tools.F(M(fping.Select(x => x.P95))), "≤ 2× fping"),
            new($"first echo of a cold process, veth, {condition} (ms, median of {ColdRuns})", Tools.F(M(swarmFirst)), Tools.F(M(fpingFirst)), "≤ 2× fping"),
        ];
    }

    /// <summary>stress-ng busy on every core until disposed.</summary>
    public static IDisposable Hog()
    {
        var hog = Tools.Start("stress-ng", ["--cpu", Environment.ProcessorCount.ToString(), "--timeout", "1800s"], []);
        return new Stop(() => { try { hog.Kill(entireProcessTree: true); hog.WaitForExit(); } catch (InvalidOperationException) { } });
    }

    private sealed class Stop(Action stop) : IDisposable
    {
        public void Dispose() => stop();
    }

    private static double Parse(string x) => double.Parse(x, CultureInfo.InvariantCulture);

    private static void Sh(string file, params string[] args)
    {
        var r = Tools.Run(file, args);
        if (r.Exit != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {r.Error}");
    }
}
