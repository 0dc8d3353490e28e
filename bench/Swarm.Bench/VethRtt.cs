using System.Text.Json;

namespace Swarm.Bench;

/// <summary>RTT median and p95 across a veth pair between two network namespaces, Swarm and fping from the same side.</summary>
public static class VethRtt
{
    private const int Count = 2000;

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        var a = $"swarm-bench-a{Environment.ProcessId}";
        var b = $"swarm-bench-b{Environment.ProcessId}";
        const string peer = "198.18.254.2"; // RFC 2544 benchmark range, only inside these namespaces
        Console.Error.WriteLine($"rtt: {Count} echoes each across a veth pair between namespaces {a} and {b}");
        try
        {
            Sh("ip", "netns", "add", a);
            Sh("ip", "netns", "add", b);
            Sh("ip", "link", "add", "swbench0", "netns", a, "type", "veth", "peer", "name", "swbench1", "netns", b);
            Sh("ip", "-n", a, "addr", "add", "198.18.254.1/30", "dev", "swbench0");
            Sh("ip", "-n", b, "addr", "add", $"{peer}/30", "dev", "swbench1");
            foreach (var (ns, dev) in new[] { (a, "swbench0"), (b, "swbench1") })
            {
                Sh("ip", "-n", ns, "link", "set", dev, "up");
                Sh("ip", "-n", ns, "link", "set", "lo", "up");
            }

            // Interleaved runs, so that a busy moment of the machine hurts both tools alike.
            var fping = new List<double>();
            var swarm = new List<(double Median, double P95)>();
            for (var run = 0; run < 3; run++)
            {
                var f = Tools.Run("ip", ["netns", "exec", a, "fping", "-C", (Count / 3).ToString(), "-p", "2", "-q", peer]);
                fping.AddRange(f.Error.Split(':')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Where(x => x != "-").Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)));
                var s = Tools.Run("ip", ["netns", "exec", a, "dotnet", Tools.SwarmCli, "probe", "--json", "-c", (Count / 3).ToString(), "-p", "2", "-i", "0", "-t", "1000", peer]);
                var json = JsonDocument.Parse(s.Output).RootElement;
                swarm.Add((json.GetProperty("rtt_median_ms").GetDouble(), json.GetProperty("rtt_p95_ms").GetDouble()));
            }
            await Task.CompletedTask;
            var swarmMedian = Tools.Median(swarm.Select(x => x.Median).ToList());
            var swarmP95 = Tools.Median(swarm.Select(x => x.P95).ToList());
            return
            [
                new("RTT median, veth between two namespaces (ms)", Tools.F(swarmMedian), Tools.F(Tools.Median(fping)), "within 0.2 ms of fping"),
                new("RTT p95, same (ms)", Tools.F(swarmP95), Tools.F(Tools.Percentile(fping, 0.95)), "—"),
            ];
        }
        finally
        {
            Tools.Run("ip", ["netns", "del", a]);
            Tools.Run("ip", ["netns", "del", b]);
        }
    }

    private static void Sh(string file, params string[] args)
    {
        var r = Tools.Run(file, args);
        if (r.Exit != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {r.Error}");
    }
}
