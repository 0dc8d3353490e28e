using System.Diagnostics;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Bench;

/// <summary>
/// Results per second from MQTT through mosquitto and the indexer (a Node process, role indexer) into a bulk listener,
/// beside a raw MQTT flood through the same mosquitto: first cold (a fresh indexer, its code still being compiled), then
/// warm, alternating, as an indexer that has run for a while meets a burst; and the indexer's memory while
/// Elasticsearch is down for 60 s.
/// </summary>
public static class IndexerThroughput
{
    private const int Cold = 50_000;
    private const int Warm = 100_000;
    private const int WarmRounds = 3;

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        Console.Error.WriteLine($"indexer: raw MQTT flood vs through the indexer, {Cold:#,0} results cold, then {WarmRounds} × {Warm:#,0} warm; then a 60 s Elasticsearch outage");
        var dir = Directory.CreateTempSubdirectory("swarm-bench-indexer-").FullName;
        var port = Tools.FreePort();
        File.WriteAllText(Path.Combine(dir, "m.conf"), $"user root\nlistener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\nmax_inflight_messages 1000\n");
        var broker = Tools.Start(Tools.MosquittoBinary, ["-c", Path.Combine(dir, "m.conf")], new());
        using var bulk = new BulkSink();
        Process? indexer = null;
        try
        {
            // Raw: a publisher and a subscriber doing nothing else, QoS 1 both ways. The subscriber opens its connection
            // as Swarm's links do (LinkSocket), like against like; a second one on MQTTnet's own socket (8 KiB buffers,
            // reads straight from the socket) is the reference as MQTTnet ships.
            var got = 0L;
            using var sink = await Connect(port, "raw-sink");
            sink.ApplicationMessageReceivedAsync += _ => { Interlocked.Increment(ref got); return Task.CompletedTask; };
            await sink.SubscribeAsync("raw/+", MqttQualityOfServiceLevel.AtLeastOnce);
            var gotPlain = 0L;
            using var plainSink = await Connect(port, "plain-sink", swarmSockets: false);
            plainSink.ApplicationMessageReceivedAsync += _ => { Interlocked.Increment(ref gotPlain); return Task.CompletedTask; };
            await plainSink.SubscribeAsync("plain/+", MqttQualityOfServiceLevel.AtLeastOnce);
            using var publisher = await Connect(port, "publisher");
            long seq = 0;
            // Each flood's rate, and the CPU each process spent per result meanwhile (µs): on 2 cores the publisher, the
            // broker, the indexer and the bulk listener share the machine, so what the indexer costs is what it takes.
            async Task<Flow> Measure(string prefix, int count, Func<long, long, Task<bool>> arrived)
            {
                var payloads = Payloads(seq, count);
                var (after, clock) = (seq, Stopwatch.StartNew());
                seq += count;
                var cpu = (Bench: Environment.CpuUsage.TotalTime.TotalSeconds, Broker: Tools.CpuSeconds(broker.Id), Indexer: indexer is null ? 0 : Tools.CpuSeconds(indexer.Id));
                var start = prefix switch { "raw" => Interlocked.Read(ref got), "plain" => Interlocked.Read(ref gotPlain), _ => bulk.Unique };
                await Flood(publisher, prefix, after, payloads);
                await Tools.Until(() => arrived(start, count), TimeSpan.FromMinutes(3), prefix == "ping" ? "indexing" : $"the {prefix} flood");
                var elapsed = clock.Elapsed.TotalSeconds;
                double Us(double seconds) => 1e6 * seconds / count;
                return new Flow(count / elapsed, Us(Environment.CpuUsage.TotalTime.TotalSeconds - cpu.Bench), Us(Tools.CpuSeconds(broker.Id) - cpu.Broker),
                    indexer is null || prefix != "ping" ? 0 : Us(Tools.CpuSeconds(indexer.Id) - cpu.Indexer));
            }
            Task<Flow> Raw(int count) => Measure("raw", count, (start, n) => Task.FromResult(Interlocked.Read(ref got) - start >= n));
            Task<Flow> Plain(int count) => Measure("plain", count, (start, n) => Task.FromResult(Interlocked.Read(ref gotPlain) - start >= n));
            Task<Flow> Indexed(int count) => Measure("ping", count, (start, n) => Task.FromResult(bulk.Unique - start >= n));

            var rawCold = await Raw(Cold);
            indexer = Tools.Start("dotnet", [Tools.Binary("Swarm.Node")], new()
            {
                ["Swarm__Roles"] = "indexer",
                ["Swarm__Bee__Id"] = "bench-indexer",
                ["Swarm__DataDir"] = Path.Combine(dir, "indexer"),
                ["Swarm__Management__Url"] = $"http://127.0.0.1:{Tools.FreePort()}",
                ["Swarm__Mqtt__Brokers__0"] = $"mqtt://127.0.0.1:{port}",
                ["Swarm__Elasticsearch__Urls__0"] = bulk.Url,
            });
            await Tools.Until(() => Task.FromResult(bulk.Templates > 0), TimeSpan.FromSeconds(30), "the indexer");
            await Task.Delay(1000); // its subscription, which follows the template by a moment
            var indexedCold = await Indexed(Cold);

            var rounds = new List<(Flow Raw, Flow Indexed, Flow Plain)>();
            for (var round = 1; round <= WarmRounds; round++)
            {
                rounds.Add((await Raw(Warm), await Indexed(Warm), await Plain(Warm)));
                var (r, i, p) = rounds[^1];
                Console.Error.WriteLine($"indexer: warm round {round}: raw {r.Rate:#,0} /s, indexed {i.Rate:#,0} /s ({100 * i.Rate / r.Rate:0}%), " +
                    $"raw on MQTTnet's own socket {p.Rate:#,0} /s; CPU µs per result: raw bench {r.BenchUs:0} broker {r.BrokerUs:0}; " +
                    $"indexed bench {i.BenchUs:0} broker {i.BrokerUs:0} indexer {i.IndexerUs:0}; MQTTnet's socket bench {p.BenchUs:0} broker {p.BrokerUs:0}");
            }
            var median = rounds.OrderBy(r => r.Indexed.Rate / r.Raw.Rate).ElementAt(rounds.Count / 2);
            var plain = rounds.Select(r => r.Plain.Rate).Order().ElementAt(rounds.Count / 2);

            // Elasticsearch down for 60 s while results keep coming: the indexer's memory must stay flat.
            bulk.Down = true;
            var rss = new List<double>();
            var outage = Stopwatch.StartNew();
            var feeding = Task.Run(async () =>
            {
                while (outage.Elapsed < TimeSpan.FromSeconds(55))
                {
                    await Flood(publisher, "ping", seq, Payloads(seq, 5000));
                    seq += 5000;
                    await Task.Delay(1000);
                }
            });
            while (outage.Elapsed < TimeSpan.FromSeconds(60))
            {
                rss.Add(Tools.RssMiB(indexer.Id));
                await Task.Delay(1000);
            }
            await feeding;
            bulk.Down = false;
            return
            [
                new($"results/s, MQTT → mosquitto → indexer → _bulk listener, cold: a fresh indexer's first {Cold:#,0}", $"{indexedCold.Rate:#,0} /s",
                    $"raw MQTT flood: {rawCold.Rate:#,0} /s", $"— ({100 * indexedCold.Rate / rawCold.Rate:0}% of raw)"),
                new($"results/s, the same warm, {Warm:#,0} each, raw and indexed alternating, median of {WarmRounds} rounds " +
                    $"(all: {string.Join(", ", rounds.Select(r => $"{100 * r.Indexed.Rate / r.Raw.Rate:0}%"))})",
                    $"{median.Indexed.Rate:#,0} /s", $"raw MQTT flood: {median.Raw.Rate:#,0} /s", $"≥ 90% of raw ({100 * median.Indexed.Rate / median.Raw.Rate:0}%)"),
                new($"results/s, a raw MQTT flood whose subscriber reads on MQTTnet's own socket (8 KiB buffers, no read buffer), median of {WarmRounds} rounds",
                    $"{plain:#,0} /s", "—", "—"),
                new("CPU per result in that round, µs: the indexer / the broker / the bench (publisher and bulk listener, or publisher and raw subscriber)",
                    $"{median.Indexed.IndexerUs:0} / {median.Indexed.BrokerUs:0} / {median.Indexed.BenchUs:0}", $"raw: — / {median.Raw.BrokerUs:0} / {median.Raw.BenchUs:0}", "—"),
                new("indexer RSS during a 60 s Elasticsearch outage, results still arriving (MiB: first / max / last)",
                    $"{rss.First():0} / {rss.Max():0} / {rss.Last():0}", "—", "bounded"),
            ];
        }
        finally
        {
            foreach (var p in new[] { indexer, broker }) { try { if (p is { HasExited: false }) { p.Kill(true); p.WaitForExit(); } } catch (InvalidOperationException) { } }
            Directory.Delete(dir, true);
        }
    }

    /// <summary>A flood's results per second, and the CPU (µs per result) the bench, the broker and the indexer spent on it.</summary>
    private sealed record Flow(double Rate, double BenchUs, double BrokerUs, double IndexerUs);

    /// <summary>Results <paramref name="after"/> + 1 … of one bee, each for one of 250 loopback targets.</summary>
    private static byte[][] Payloads(long after, int count) => Enumerable.Range(1, count).Select(i => JsonSerializer.SerializeToUtf8Bytes(new ProbeResult
    {
        Bee = "bench", Seq = after + i, Timestamp = DateTime.UtcNow, Target = TargetOf(after + i), Kind = "icmp",
        Address = TargetOf(after + i), Sent = 5, Received = 5, MinMs = 0.01, AvgMs = 0.02, MaxMs = 0.05, StddevMs = 0.01,
    }, SwarmJson.Wire.ProbeResult)).ToArray();

    private static string TargetOf(long seq) => $"127.0.{seq % 250}.1";

    private static async Task<IMqttClient> Connect(int port, string id, bool swarmSockets = true)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(id).WithProtocolVersion(MqttProtocolVersion.V500).Build();
        await client.ConnectAsync(swarmSockets ? options.WithSwarmBuffers() : options);
        return client;
    }

    /// <summary>QoS 1 with a window of 200 publishes in flight, as a busy bee's outbox does.</summary>
    /// <param name="prefix">"ping": each result on its target's topic, where the indexer takes it (it refuses a result on another
    /// target's topic); "raw" and "plain": the same topics under raw/ and plain/, one raw subscriber each.</param>
    /// <param name="after">The sequence number before the first payload's (see <see cref="Payloads"/>).</param>
    private static async Task Flood(IMqttClient client, string prefix, long after, byte[][] payloads)
    {
        var window = new SemaphoreSlim(200);
        var tasks = new List<Task>(payloads.Length);
        for (var i = 0; i < payloads.Length; i++)
        {
            await window.WaitAsync();
            tasks.Add(client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"{prefix}/{TargetOf(after + i + 1)}").WithPayload(payloads[i])
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build()).ContinueWith(_ => window.Release()));
        }
        await Task.WhenAll(tasks);
    }

}
