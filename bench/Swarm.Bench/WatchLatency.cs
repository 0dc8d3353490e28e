using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace Swarm.Bench;

/// <summary>
/// Time from publishing on <c>watch</c> to every bee probing the new list, with 1 Lighthouse + 4 Node processes and
/// mosquitto on this machine, the nodes built as they are deployed (<see cref="Tools.Deployed"/>). A change's latency
/// is its slowest bee: the round-start stamp (<c>ts</c>) of that bee's first result for the new target, minus the
/// moment of publishing.
/// </summary>
public static class WatchLatency
{
    private const int Changes = 50;

    /// <summary>
    /// <paramref name="nodes"/> bee nodes (the first also a queen) and a Lighthouse. With <paramref name="cluster"/>,
    /// also each node's memory, and how long membership takes to converge after a node is killed (kill -9): until
    /// every other node sees it unreachable, then until none lists it.
    /// </summary>
    public static async Task<IEnumerable<Row>> RunAsync(int nodes = 4, bool cluster = false)
    {
        var Bees = Enumerable.Range(1, nodes).Select(i => $"bee-{i}").ToArray();
        Console.Error.WriteLine($"watch: 1 lighthouse + {Bees.Length} nodes, {Changes} changes");
        var dir = Directory.CreateTempSubdirectory("swarm-bench-watch-").FullName;
        var processes = new List<Process>();
        var management = new List<string>();
        var logs = new ConcurrentQueue<string>();
        try
        {
            var mqttPort = Tools.FreePort();
            processes.Add(Tools.Mosquitto(dir, mqttPort));
            var lighthousePort = Tools.FreePort();
            processes.Add(Tools.Start("dotnet", [Tools.Deployed("Swarm.Lighthouse")], new() { ["CLUSTER_PORT"] = lighthousePort.ToString(), ["Swarm__Management__Url"] = $"http://127.0.0.1:{Tools.FreePort()}" }));
            for (var i = 0; i < Bees.Length; i++)
            {
                management.Add($"http://127.0.0.1:{Tools.FreePort()}");
                processes.Add(Tools.Start("dotnet", [Tools.Deployed("Swarm.Node")], new()
                {
                    ["Swarm__Roles"] = i == 0 ? "queen,bee" : "bee",
                    ["Swarm__Bee__Id"] = Bees[i],
                    ["Swarm__DataDir"] = Path.Combine(dir, Bees[i]),
                    ["Swarm__Mqtt__Brokers__0"] = $"mqtt://127.0.0.1:{mqttPort}",
                    ["Swarm__Management__Url"] = management[i],
                    ["Swarm__Probe__Count"] = "2",
                    ["Swarm__Probe__Spacing"] = "50ms",
                    ["Swarm__Targets__Default"] = "127.0.0.1",
                    ["CLUSTER_IP"] = $"127.0.0.{i + 2}",
                    ["CLUSTER_SEEDS"] = $"akka.tcp://swarm@127.0.0.1:{lighthousePort}",
                }, logs.Enqueue));
            }

            using var client = new MqttClientFactory().CreateMqttClient();
            var results = await FirstResults.ConnectAsync(client, mqttPort);
            await results.AllProbingAsync(Bees, "127.0.0.1", TimeSpan.FromSeconds(90));
            var changes = await results.WatchChangesAsync(Bees, Changes, "127.0.3");
            var latencies = changes.Select(c => c.Latency).ToList();
            Console.Error.WriteLine($"watch: latencies (ms) in order: {string.Join(" ", latencies.Select(l => l.ToString("0")))}");
            Breakdown(changes, logs, Bees);
            List<Row> rows =
            [
                new($"watch → every bee probing, 1 lighthouse + {Bees.Length} nodes, {Changes} changes: median / p99 (ms)",
                    $"{Tools.F(Tools.Median(latencies), "0")} / {Tools.F(Tools.Percentile(latencies, 0.99), "0")}", "—", cluster ? "p99 < 500 ms" : "p99 < 1000 ms"),
            ];
            if (!cluster) return rows;
            var rss = processes.Skip(2).Select(p => Tools.RssMiB(p.Id)).ToList();
            rows.Add(new($"RSS per node, {Bees.Length} bee nodes probing 1 target (MiB): min / median / max; lighthouse",
                $"{rss.Min():0} / {Tools.Median(rss):0} / {rss.Max():0}; {Tools.RssMiB(processes[1].Id):0}", "—", "—"));
            // kill -9 the last node: how long until every other node sees it unreachable, then until none lists it.
            var victim = processes[^1];
            var address = $"127.0.0.{Bees.Length + 1}";
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            async Task<bool> Everyone(Func<System.Text.Json.JsonElement, bool> seen)
            {
                foreach (var url in management.SkipLast(1))
                {
                    try
                    {
                        var view = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"{url}/api/cluster")).RootElement;
                        if (!seen(view.GetProperty("members"))) return false;
                    }
                    catch (Exception) { return false; }
                }
                return true;
            }
            bool Listed(System.Text.Json.JsonElement members, bool unreachable) => members.EnumerateArray()
                .Any(m => m.GetProperty("address").GetString()!.Contains($"@{address}:") && (!unreachable || !m.GetProperty("reachable").GetBoolean()));
            await Tools.Until(() => Everyone(m => Listed(m, unreachable: false)), TimeSpan.FromSeconds(30), "every node listing the victim");
            var killed = Stopwatch.StartNew();
            victim.Kill(entireProcessTree: true);
            await Tools.Until(() => Everyone(m => Listed(m, unreachable: true)), TimeSpan.FromMinutes(2), "every node seeing the victim unreachable");
            var unreachableAfter = killed.Elapsed;
            await Tools.Until(() => Everyone(m => !Listed(m, unreachable: false)), TimeSpan.FromMinutes(3), "no node listing the victim");
            rows.Add(new($"membership after kill -9 of one of {Bees.Length} nodes: every node sees it unreachable / it is removed everywhere (s)",
                $"{unreachableAfter.TotalSeconds:0.0} / {killed.Elapsed.TotalSeconds:0.0}", "—", "—"));
            return rows;
        }
        finally
        {
            foreach (var p in processes) { try { p.Kill(entireProcessTree: true); p.WaitForExit(); } catch (InvalidOperationException) { } }
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// Where each change's time went, from the nodes' own log lines (their timestamps, to the millisecond): published →
    /// the queen's list journaled the version → the slowest bee journaled it → the slowest bee's first round began.
    /// </summary>
    private static void Breakdown(IReadOnlyList<FirstResults.Change> changes, IEnumerable<string> logs, IReadOnlyList<string> bees)
    {
        static DateTime? At(string line) =>
            line.Length > 24 && DateTime.TryParse(line[..24], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
                ? t : null;
        var lines = logs.Select(l => (Line: l, At: At(l))).Where(l => l.At is not null).ToList();
        var rows = new List<(double Journaled, double Adopted, double Round)>();
        foreach (var change in changes)
        {
            var bridged = lines.FirstOrDefault(l => l.Line.Contains("watch: list default changed, now version") && l.Line.EndsWith($": {change.Target}"));
            if (bridged.Line is null) continue;
            var version = bridged.Line.Split("now version ")[1].Split(':')[0];
            var journaled = lines.FirstOrDefault(l => l.Line.Contains($"target list default is now version {version} ")).At;
            var adopted = lines.Where(l => l.Line.Contains($": list default version {version} adopted")).Select(l => l.At!.Value).ToList();
            if (journaled is null || adopted.Count < bees.Count) continue;
            rows.Add(((journaled.Value - change.Published).TotalMilliseconds, (adopted.Max() - change.Published).TotalMilliseconds, change.Latency));
            Console.Error.WriteLine($"watch: {change.Target} v{version}: journaled by the queen +{rows[^1].Journaled:0} ms, adopted by every bee +{rows[^1].Adopted:0} ms (first {(adopted.Min() - change.Published).TotalMilliseconds:0}), probed +{change.Latency:0} ms");
        }
        if (rows.Count == 0) return;
        Console.Error.WriteLine($"watch: median / max of {rows.Count} changes: journaled {Tools.Median(rows.Select(r => r.Journaled).ToList()):0} / {rows.Max(r => r.Journaled):0} ms, " +
            $"adopted {Tools.Median(rows.Select(r => r.Adopted).ToList()):0} / {rows.Max(r => r.Adopted):0} ms, probed {Tools.Median(rows.Select(r => r.Round).ToList()):0} / {rows.Max(r => r.Round):0} ms");
    }
}
