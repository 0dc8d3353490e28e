using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Verdicts;

namespace Swarm.Bench;

/// <summary>
/// The verdict engine: results judged per second on one thread (1,000 targets × 100 bees, the judges wired as the
/// entities wire them, with and without reading the JSON off the wire), and the time from the deciding round on
/// <c>ping/&lt;target&gt;</c> to the verdict on <c>verdict/&lt;target&gt;</c> through mosquitto and a queen process.
/// </summary>
public static class VerdictBench
{
    private const int Targets = 1000;
    private const int Bees = 100;
    private const int Decisions = 30;

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        var (plain, parsed) = Throughput();
        var latencies = await LatencyAsync();
        return
        [
            new($"verdict engine, {Targets} targets × {Bees} bees, one thread: results/s judged", Tools.F(plain, "0"), "—", "≥ 50,000"),
            new("verdict engine, same, JSON read and checked as the feed does: results/s", Tools.F(parsed, "0"), "—", "≥ 50,000"),
            new($"deciding round on ping/ → verdict on MQTT, queen process + mosquitto, {Decisions} decisions: median / p99 (ms)",
                $"{Tools.F(Tools.Median(latencies), "0")} / {Tools.F(Tools.Percentile(latencies, 0.99), "0")}", "—", "< 1000 ms"),
        ];
    }

    private static (double Plain, double Parsed) Throughput()
    {
        var settings = new VerdictSettings();
        var judges = Enumerable.Range(0, Targets).Select(t => new TargetJudge($"t{t}.example", settings)).ToArray();
        var bees = Enumerable.Range(0, Bees).Select(b => new BeeJudge($"bee-{b}", settings)).ToDictionary(b => b.Bee);
        var gates = judges.Select(_ => new AlertGate(settings)).ToArray();
        var now = DateTime.UtcNow;
        var random = new Random(7);
        var results = new ProbeResult[200_000];
        for (var i = 0; i < results.Length; i++)
        {
            var lossy = random.Next(20) == 0; // one round in twenty loses echoes: states change, updates flow
            results[i] = new ProbeResult
            {
                Bee = $"bee-{i % Bees}", Seq = i / Bees + 1, Timestamp = now, Target = $"t{i / Bees % Targets}.example", Kind = "icmp",
                Sent = 5, Received = lossy ? 3 : 5, LossPercent = lossy ? 40 : 0, MedianMs = 10 + random.NextDouble() * 5, Location = "dc",
            };
        }
        var payloads = results.Select(r => (Swarm.Mqtt.Topics.ForResult(r.Target), JsonSerializer.SerializeToUtf8Bytes(r, SwarmJson.Wire.ProbeResult))).ToArray();
        var metrics = Swarm.Metrics.SwarmMetrics.Unscraped;

        void Judge(ProbeResult r, int index)
        {
            var judge = judges[index];
            foreach (var u in judge.Observe(r, now))
            {
                var bee = bees[u.Bee];
                var before = bee.LinkDegraded;
                bee.Update(u, now);
                bee.Evaluate(now);
                if (bee.LinkDegraded != before)
                    foreach (var t in bee.TargetNames) judges[int.Parse(t.AsSpan(1, t.IndexOf('.') - 1))].Link(bee.Bee, bee.LinkDegraded, now);
                judge.Evaluate(now);
            }
            gates[index].Feed(judge.Verdict, now);
        }

        double Run(bool parse)
        {
            var watch = Stopwatch.StartNew();
            var n = 0;
            while (watch.Elapsed < TimeSpan.FromSeconds(5))
            {
                for (var i = 0; i < results.Length; i++, n++)
                {
                    var r = parse ? VerdictFeed.Read(payloads[i].Item1, payloads[i].Item2, metrics)! : results[i];
                    Judge(r with { Seq = r.Seq + n }, i / Bees % Targets);
                }
            }
            return n / watch.Elapsed.TotalSeconds;
        }

        Run(parse: false); // warm-up: every pair exists, the JIT has settled
        return (Run(parse: false), Run(parse: true));
    }

    private static async Task<List<double>> LatencyAsync()
    {
        Console.Error.WriteLine($"verdict: queen process + mosquitto, {Decisions} decisions");
        var dir = Directory.CreateTempSubdirectory("swarm-bench-verdict-").FullName;
        var processes = new List<Process>();
        try
        {
            var mqttPort = Tools.FreePort();
            processes.Add(Tools.Mosquitto(dir, mqttPort));
            processes.Add(Tools.Start("dotnet", [Tools.Binary("Swarm.Node")], new()
            {
                ["Swarm__Roles"] = "queen",
                ["Swarm__Bee__Id"] = "queen-1",
                ["Swarm__DataDir"] = Path.Combine(dir, "queen"),
                ["Swarm__Mqtt__Brokers__0"] = $"mqtt://127.0.0.1:{mqttPort}",
                ["Swarm__Management__Url"] = $"http://127.0.0.1:{Tools.FreePort()}",
            }));

            var verdicts = new ConcurrentDictionary<string, (string Verdict, DateTime At)>();
            using var client = await Tools.MqttClientAsync(mqttPort);
            client.ApplicationMessageReceivedAsync += e =>
            {
                var json = JsonDocument.Parse(e.ApplicationMessage.Payload.ToArray()).RootElement;
                verdicts[json.GetProperty("target").GetString()!] = (json.GetProperty("verdict").GetString()!, DateTime.UtcNow);
                return Task.CompletedTask;
            };
            await client.SubscribeAsync("verdict/+", MqttQualityOfServiceLevel.AtLeastOnce);

            long seq = 0;
            async Task Round(string target, string bee, double loss) =>
                await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Swarm.Mqtt.Topics.ForResult(target))
                    .WithPayload(JsonSerializer.SerializeToUtf8Bytes(new ProbeResult
                    {
                        Bee = bee, Seq = ++seq, Timestamp = DateTime.UtcNow, Target = target, Kind = "icmp", Sent = 5,
                        Received = loss > 0 ? 0 : 5, LossPercent = loss, MedianMs = loss > 0 ? null : 10,
                    }, SwarmJson.Wire.ProbeResult)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

            // The queen is up once it judges a first target.
            await Tools.Until(async () => { await Round("warm.example", "b1", 0); await Task.Delay(200); return verdicts.ContainsKey("warm.example"); },
                TimeSpan.FromSeconds(90), "the queen's first verdict");
            var latencies = new List<double>();
            for (var n = 0; n < Decisions; n++)
            {
                var target = $"d{n}.example";
                // Bees of their own per decision: a bee whose earlier targets stayed lossy would be judged on its link.
                var (b1, b2, b3) = ($"d{n}-b1", $"d{n}-b2", $"d{n}-b3");
                foreach (var bee in new[] { b1, b2, b3 })
                    for (var i = 0; i < 3; i++) await Round(target, bee, 0);
                await Tools.Until(() => Task.FromResult(verdicts.TryGetValue(target, out var v) && v.Verdict == VerdictKinds.Ok), TimeSpan.FromSeconds(30), $"{target} ok");
                await Round(target, b1, 100); // two lost rounds make a pair lossy (one is a blip): one bee of three, one-path
                await Round(target, b1, 100);
                await Tools.Until(() => Task.FromResult(verdicts[target].Verdict == VerdictKinds.OnePath), TimeSpan.FromSeconds(30), $"{target} one-path");
                await Round(target, b2, 100);
                await Task.Delay(50);
                var deciding = DateTime.UtcNow;
                await Round(target, b2, 100); // the deciding round: two of three, everyone
                await Tools.Until(() => Task.FromResult(verdicts[target].Verdict == VerdictKinds.Everyone), TimeSpan.FromSeconds(30), $"{target} everyone");
                latencies.Add((verdicts[target].At - deciding).TotalMilliseconds);
            }
            return latencies;
        }
        finally
        {
            foreach (var p in processes) { try { p.Kill(entireProcessTree: true); p.WaitForExit(); } catch (InvalidOperationException) { } }
            Directory.Delete(dir, true);
        }
    }
}
