using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Bench;

/// <summary>
/// Results per second from MQTT through mosquitto and the indexer (a Node process, role indexer) into a bulk listener,
/// beside a raw MQTT flood through the same mosquitto; and the indexer's memory while Elasticsearch is down for 60 s.
/// </summary>
public static class IndexerThroughput
{
    private const int Results = 50_000;

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        Console.Error.WriteLine($"indexer: {Results:#,0} results, raw MQTT flood vs through the indexer; then a 60 s Elasticsearch outage");
        var dir = Directory.CreateTempSubdirectory("swarm-bench-indexer-").FullName;
        var port = Tools.FreePort();
        File.WriteAllText(Path.Combine(dir, "m.conf"), $"user root\nlistener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\nmax_inflight_messages 1000\n");
        var broker = Tools.Start(Tools.MosquittoBinary, ["-c", Path.Combine(dir, "m.conf")], new());
        using var bulk = new BulkSink();
        Process? indexer = null;
        try
        {
            var payloads = Enumerable.Range(1, Results).Select(seq => JsonSerializer.SerializeToUtf8Bytes(new ProbeResult
            {
                Bee = "bench", Seq = seq, Timestamp = DateTime.UtcNow, Target = $"127.0.{seq % 250}.1", Kind = "icmp",
                Address = $"127.0.{seq % 250}.1", Sent = 5, Received = 5, MinMs = 0.01, AvgMs = 0.02, MaxMs = 0.05, StddevMs = 0.01,
            }, SwarmJson.Wire.ProbeResult)).ToArray();

            // Raw: a publisher and a subscriber doing nothing else, QoS 1 both ways.
            var got = 0;
            using var sink = await Connect(port, "raw-sink");
            sink.ApplicationMessageReceivedAsync += _ => { Interlocked.Increment(ref got); return Task.CompletedTask; };
            await sink.SubscribeAsync("raw/+", MqttQualityOfServiceLevel.AtLeastOnce);
            using var publisher = await Connect(port, "publisher");
            var raw = Stopwatch.StartNew();
            await Flood(publisher, "raw", payloads);
            await Tools.Until(() => Task.FromResult(got >= Results), TimeSpan.FromMinutes(2), "the raw flood");
            var rawRate = Results / raw.Elapsed.TotalSeconds;

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
            var indexed = Stopwatch.StartNew();
            await Flood(publisher, "ping", payloads);
            await Tools.Until(() => Task.FromResult(bulk.Unique >= Results), TimeSpan.FromMinutes(3), "indexing");
            var indexRate = Results / indexed.Elapsed.TotalSeconds;

            // Elasticsearch down for 60 s while results keep coming: the indexer's memory must stay flat.
            bulk.Down = true;
            var rss = new List<double>();
            var outage = Stopwatch.StartNew();
            var feeding = Task.Run(async () =>
            {
                for (var round = 0; outage.Elapsed < TimeSpan.FromSeconds(55); round++)
                {
                    await Flood(publisher, "ping", payloads.Take(5000).Select((p, i) => Renumber(p, Results + round * 5000 + i + 1)).ToArray());
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
                new($"results/s, MQTT → mosquitto → indexer → _bulk listener ({Results:#,0})", $"{indexRate:#,0} /s", $"raw MQTT flood: {rawRate:#,0} /s",
                    $"≥ 50% of raw ({100 * indexRate / rawRate:0}%)"),
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

    private static byte[] Renumber(byte[] payload, long seq)
    {
        var node = JsonNode.Parse(payload)!;
        node["seq"] = seq;
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    private static async Task<IMqttClient> Connect(int port, string id)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(id)
            .WithProtocolVersion(MqttProtocolVersion.V500).Build());
        return client;
    }

    /// <summary>QoS 1 with a window of 200 publishes in flight, as a busy bee's outbox does.</summary>
    /// <param name="prefix">"ping": each result on its target's topic, where the indexer takes it (it refuses a result on another
    /// target's topic); "raw": the same topics under raw/.</param>
    private static async Task Flood(IMqttClient client, string prefix, byte[][] payloads)
    {
        var window = new SemaphoreSlim(200);
        var tasks = new List<Task>(payloads.Length);
        for (var i = 0; i < payloads.Length; i++)
        {
            await window.WaitAsync();
            tasks.Add(client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(TopicOf(prefix, i)).WithPayload(payloads[i])
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build()).ContinueWith(_ => window.Release()));
        }
        await Task.WhenAll(tasks);
    }

    /// <summary>The topic of the i-th payload: its target is 127.0.{seq % 250}.1, seq = i + 1.</summary>
    private static string TopicOf(string prefix, int i) => $"{prefix}/127.0.{(i + 1) % 250}.1";
}
