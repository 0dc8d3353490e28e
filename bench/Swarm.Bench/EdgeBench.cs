using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using MQTTnet;
using MQTTnet.Protocol;
using Swarm.Bees;
using Swarm.Probing;
using Swarm.Protocol;

namespace Swarm.Bench;

/// <summary>
/// Edge bees (issue #14): their RSS beside a cluster node's, idle and with 1,000 targets; the time from <c>watch</c>
/// to every one of 20 edge bees probing; and the peak load on one target from 100 bees, before and after the phase
/// spread.
/// </summary>
public static class EdgeBench
{
    public static async Task<IEnumerable<Row>> RunAsync()
    {
        var rows = new List<Row>();
        rows.AddRange(await MemoryAsync());
        rows.AddRange(await WatchAsync(20, 20));
        rows.AddRange(await SpreadAsync());
        return rows;
    }

    internal static Dictionary<string, string> Edge(string dir, string id, int mqttPort) => new()
    {
        ["Swarm__Roles"] = "edge",
        ["Swarm__Bee__Id"] = id,
        ["Swarm__DataDir"] = Path.Combine(dir, id),
        ["Swarm__Mqtt__Brokers__0"] = $"mqtt://127.0.0.1:{mqttPort}",
        ["Swarm__Management__Url"] = $"http://127.0.0.1:{Tools.FreePort()}",
        ["Swarm__Bee__Connection"] = "ethernet",
    };

    internal static Task Publish(IMqttClient client, string topic, string payload, bool retain = false) =>
        client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(payload)).WithRetainFlag(retain)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

    /// <summary>RSS sampled each second over the second half of <paramref name="over"/>.</summary>
    internal static async Task<double> SteadyRssMiB(Process process, TimeSpan over)
    {
        var samples = new List<long>();
        var end = DateTime.UtcNow + over;
        while (DateTime.UtcNow < end)
        {
            var line = File.ReadLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:"));
            if (line is not null) samples.Add(long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]));
            await Task.Delay(1000);
        }
        return samples.Skip(samples.Count / 2).Average() / 1024;
    }

    /// <summary>
    /// RSS with its anonymous part (heap, stacks, runtime data) beside it: the native bee hands back its executable's
    /// start-up pages (StartupPages), so its RSS is mostly this part plus the code and files it really uses.
    /// </summary>
    internal static string WithAnonymous(double rssMiB, Process process)
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("RssAnon:"));
        var anonymous = line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        return $"{Tools.F(rssMiB, "0")} (anonymous at the end: {Tools.F(anonymous, "0")})";
    }

    public static async Task<IEnumerable<Row>> MemoryAsync()
    {
        Console.Error.WriteLine("edge: RSS of an edge bee (the .dll and the native build) and of a cluster node, idle then with 1,000 targets (10 s interval)");
        var dir = Directory.CreateTempSubdirectory("swarm-bench-edge-").FullName;
        var processes = new List<Process>();
        try
        {
            var mqttPort = Tools.FreePort();
            processes.Add(Tools.Mosquitto(dir, mqttPort));
            using var client = await Tools.MqttClientAsync(mqttPort);
            // Results per bee, to show each one probes all it holds while its memory is read.
            var results = new ConcurrentDictionary<string, int>();
            client.ApplicationMessageReceivedAsync += e =>
            {
                using var json = JsonDocument.Parse(e.ApplicationMessage.Payload);
                if (json.RootElement.TryGetProperty("bee", out var bee)) results.AddOrUpdate(bee.GetString()!, 1, (_, n) => n + 1);
                return Task.CompletedTask;
            };
            await client.SubscribeAsync("ping/+");
            var edge = Tools.Start("dotnet", [Tools.Binary("Swarm.Node")], Edge(dir, "edge-mem", mqttPort));
            processes.Add(edge);
            var native = Tools.Start(Tools.NativeEdge, [], Edge(dir, "edge-native", mqttPort));
            processes.Add(native);
            var node = Tools.Start("dotnet", [Tools.Binary("Swarm.Node")], new()
            {
                ["Swarm__Roles"] = "bee,queen,indexer",
                ["Swarm__Bee__Id"] = "node-mem",
                ["Swarm__DataDir"] = Path.Combine(dir, "node-mem"),
                ["Swarm__Mqtt__Brokers__0"] = $"mqtt://127.0.0.1:{mqttPort}",
                ["Swarm__Management__Url"] = $"http://127.0.0.1:{Tools.FreePort()}",
                ["Swarm__Bee__Lists"] = "bench-mem",
                ["Swarm__Targets__Default"] = "127.0.0.1",
                ["Swarm__Bee__Connection"] = "ethernet",
            });
            processes.Add(node);
            // 40 s: the second half starts well after the native bee hands back its start-up pages (10 s after it started).
            var idle = await Task.WhenAll(SteadyRssMiB(edge, TimeSpan.FromSeconds(40)), SteadyRssMiB(node, TimeSpan.FromSeconds(40)), SteadyRssMiB(native, TimeSpan.FromSeconds(40)));
            var nativeIdle = WithAnonymous(idle[2], native);

            // 1,000 loopback targets: for the edge bee as a queen publishes them, for the node's bee through watch.
            var targets = Enumerable.Range(0, 1000).Select(i => $"127.20.{i / 250}.{i % 250 + 1}").ToList();
            await Publish(client, "targets/default", JsonSerializer.Serialize(new { list = "default", version = 1, targets }), retain: true);
            await Publish(client, "watch/bench-mem", JsonSerializer.Serialize(new { list = "bench-mem", targets }));
            results.Clear();
            var full = await Task.WhenAll(SteadyRssMiB(edge, TimeSpan.FromSeconds(60)), SteadyRssMiB(node, TimeSpan.FromSeconds(60)), SteadyRssMiB(native, TimeSpan.FromSeconds(60)));
            var nativeFull = WithAnonymous(full[2], native);
            var delivered = $"{results.GetValueOrDefault("edge-native"):#,0} (native), {results.GetValueOrDefault("edge-mem"):#,0} (.dll), {results.GetValueOrDefault("node-mem"):#,0} (node)";
            return
            [
                new("edge bee RSS, idle (MiB; reference: a cluster node bee+queen+indexer, same run)", Tools.F(idle[0], "0"), Tools.F(idle[1], "0"), "< 64"),
                new("edge bee RSS, 1,000 targets at 10 s (MiB; reference: the cluster node)", Tools.F(full[0], "0"), Tools.F(full[1], "0"), "< 80"),
                new("native edge bee (NativeAOT) RSS, idle (MiB; reference: the .dll edge bee, same run)", nativeIdle, Tools.F(idle[0], "0"), "< 64"),
                new("native edge bee RSS, 1,000 targets at 10 s (MiB; reference: the .dll edge bee)", nativeFull, Tools.F(full[0], "0"), "< 80"),
                new("results published over those 60 s, per bee", delivered, "—", "6,000 each at 10 s"),
            ];
        }
        finally
        {
            foreach (var p in processes) { try { p.Kill(entireProcessTree: true); p.WaitForExit(); } catch (InvalidOperationException) { } }
            Directory.Delete(dir, true);
        }
    }

    private static async Task<IEnumerable<Row>> WatchAsync(int bees, int changes)
    {
        Console.Error.WriteLine($"edge: watch → every one of {bees} edge bees probing, {changes} changes");
        var dir = Directory.CreateTempSubdirectory("swarm-bench-edge-watch-").FullName;
        var processes = new List<Process>();
        try
        {
            var mqttPort = Tools.FreePort();
            processes.Add(Tools.Mosquitto(dir, mqttPort));
            processes.Add(Tools.Start("dotnet", [Tools.Binary("Swarm.Node")], new()
            {
                ["Swarm__Roles"] = "queen",
                ["Swarm__Bee__Id"] = "queen-w",
                ["Swarm__DataDir"] = Path.Combine(dir, "queen-w"),
                ["Swarm__Mqtt__Brokers__0"] = $"mqtt://127.0.0.1:{mqttPort}",
                ["Swarm__Management__Url"] = $"http://127.0.0.1:{Tools.FreePort()}",
                ["Swarm__Targets__Default"] = "127.0.0.1",
            }));
            var ids = Enumerable.Range(1, bees).Select(i => $"edge-{i}").ToList();
            foreach (var id in ids)
            {
                var env = Edge(dir, id, mqttPort);
                env["Swarm__Probe__Count"] = "2";
                env["Swarm__Probe__Spacing"] = "50ms";
                processes.Add(Tools.Start("dotnet", [Tools.Binary("Swarm.Node")], env));
            }
            using var mqtt = new MqttClientFactory().CreateMqttClient();
            var results = await FirstResults.ConnectAsync(mqtt, mqttPort);
            await results.AllProbingAsync(ids, "127.0.0.1", TimeSpan.FromSeconds(180));
            var latencies = (await results.WatchChangesAsync(ids, changes, "127.0.4")).Select(c => c.Latency).ToList();
            return
            [
                new($"watch → every one of {bees} edge bees probing (queen publishes targets/<list> retained), {changes} changes: median / p99 (ms)",
                    $"{Tools.F(Tools.Median(latencies), "0")} / {Tools.F(Tools.Percentile(latencies, 0.99), "0")}", "—", "p99 < 1000 ms"),
            ];
        }
        finally
        {
            foreach (var p in processes) { try { p.Kill(entireProcessTree: true); p.WaitForExit(); } catch (InvalidOperationException) { } }
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// 100 real bee actors adopt one 20-target list at the same instant (10 s interval) and probe for 30 s through a
    /// prober that only records when each round started: the most rounds one target got in any one second.
    /// </summary>
    private static async Task<IEnumerable<Row>> SpreadAsync()
    {
        Console.Error.WriteLine("edge: peak rounds per second on one target from 100 bees, without and with the phase spread");
        var before = await PeakAsync(spread: false);
        var after = await PeakAsync(spread: true);
        return
        [
            new("peak rounds/s on one target, 100 bees adopting one 20-target list together, 10 s interval (after the spread; reference: before)",
                $"{after.Steady} steady, {after.First} in the first second", $"{before.Steady} steady, {before.First} in the first second", "≈ 100 / 10 s = 10"),
        ];
    }

    private static async Task<(int Steady, int First)> PeakAsync(bool spread)
    {
        var config = ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.local"
            akka.persistence.snapshot-store.local.dir = "/tmp/swarm-bench-spread-snapshots"
            """);
        using var system = ActorSystem.Create("spread", config);
        var prober = new StampingProber();
        var silent = system.ActorOf(Props.Create(() => new Sink()));
        var interval = TimeSpan.FromSeconds(10);
        var targets = Enumerable.Range(0, 20).Select(i => $"t{i}.example").ToList();
        var bees = Enumerable.Range(1, 100).Select(i =>
        {
            var settings = new BeeSettings($"bee-{i}", null, ["default"], interval, new RoundSettings(1, TimeSpan.Zero, TimeSpan.FromMilliseconds(100)));
            if (!spread) settings = settings with { PhaseOffset = 0 };
            return system.ActorOf(Bee.Props(settings, prober, silent, silent, silent));
        }).ToList();
        await Task.Delay(2000); // every bee recovered (empty journal) before the list comes
        var adopted = DateTime.UtcNow;
        foreach (var bee in bees) bee.Tell(new CurrentTargets("default", 1, targets, true));
        await Task.Delay(TimeSpan.FromSeconds(30));
        await system.Terminate();
        var rounds = prober.Stamps.Where(s => s.Target == "t0.example").Select(s => (s.At - adopted).TotalSeconds).ToList();
        int Peak(IEnumerable<double> seconds) => seconds.GroupBy(s => (int)Math.Floor(s)).Select(g => g.Count()).DefaultIfEmpty(0).Max();
        return (Peak(rounds.Where(s => s >= interval.TotalSeconds)), Peak(rounds.Where(s => s < 1)));
    }

    private sealed class StampingProber : IProber
    {
        public ConcurrentQueue<(string Target, DateTime At)> Stamps { get; } = new();

        public Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken)
        {
            Stamps.Enqueue((target, DateTime.UtcNow));
            return Task.FromResult(new ProbeOutcome(target, "icmp", "127.0.0.1", null, RoundStats.Of(1, [0.1]), null));
        }
    }

    private sealed class Sink : ReceiveActor
    {
        public Sink() => ReceiveAny(_ => { });
    }
}
