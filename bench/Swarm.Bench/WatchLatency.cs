using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace Swarm.Bench;

/// <summary>
/// Time from publishing on <c>watch</c> to every bee probing the new list, with 1 Lighthouse + 4 Node processes and
/// mosquitto on this machine. A change's latency is its slowest bee: the round-start stamp (<c>ts</c>) of that bee's
/// first result for the new target, minus the moment of publishing.
/// </summary>
public static class WatchLatency
{
    private const int Changes = 50;
    private static readonly string[] Bees = ["bee-1", "bee-2", "bee-3", "bee-4"];

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        Console.Error.WriteLine($"watch: 1 lighthouse + {Bees.Length} nodes, {Changes} changes");
        var dir = Directory.CreateTempSubdirectory("swarm-bench-watch-").FullName;
        var processes = new List<Process>();
        try
        {
            var mqttPort = Tools.FreePort();
            processes.Add(Tools.Mosquitto(dir, mqttPort));
            var lighthousePort = Tools.FreePort();
            processes.Add(Tools.Start("dotnet", [Tools.Binary("Swarm.Lighthouse")], new() { ["CLUSTER_PORT"] = lighthousePort.ToString(), ["Swarm__Management__Url"] = $"http://127.0.0.1:{Tools.FreePort()}" }));
            for (var i = 0; i < Bees.Length; i++)
            {
                processes.Add(Tools.Start("dotnet", [Tools.Binary("Swarm.Node")], new()
                {
                    ["Swarm__Roles"] = i == 0 ? "queen,bee" : "bee",
                    ["Swarm__Bee__Id"] = Bees[i],
                    ["Swarm__DataDir"] = Path.Combine(dir, Bees[i]),
                    ["Swarm__Mqtt__Brokers__0"] = $"mqtt://127.0.0.1:{mqttPort}",
                    ["Swarm__Management__Url"] = $"http://127.0.0.1:{Tools.FreePort()}",
                    ["Swarm__Probe__Count"] = "2",
                    ["Swarm__Probe__Spacing"] = "50ms",
                    ["Swarm__Targets__Default"] = "127.0.0.1",
                    ["CLUSTER_IP"] = $"127.0.0.{i + 2}",
                    ["CLUSTER_SEEDS"] = $"akka.tcp://swarm@127.0.0.1:{lighthousePort}",
                }));
            }

            using var client = new MqttClientFactory().CreateMqttClient();
            var results = await FirstResults.ConnectAsync(client, mqttPort);
            await results.AllProbingAsync(Bees, "127.0.0.1", TimeSpan.FromSeconds(90));
            var latencies = await results.WatchChangesAsync(Bees, Changes, "127.0.3");
            return
            [
                new($"watch → every bee probing, 1 lighthouse + {Bees.Length} nodes, {Changes} changes: median / p99 (ms)",
                    $"{Tools.F(Tools.Median(latencies), "0")} / {Tools.F(Tools.Percentile(latencies, 0.99), "0")}", "—", "p99 < 1000 ms"),
            ];
        }
        finally
        {
            foreach (var p in processes) { try { p.Kill(entireProcessTree: true); p.WaitForExit(); } catch (InvalidOperationException) { } }
            Directory.Delete(dir, true);
        }
    }
}
