using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Swarm.Bench;

/// <summary>
/// A bee publishing through mosquitto for <c>minutes</c>, the broker down for the middle fifth of the run: results
/// produced, delivered, duplicated and dropped, and the outbox's peak size on disk. Goal: delivered = produced.
/// </summary>
public static class Outage
{
    public static async Task<IEnumerable<Row>> RunAsync(double minutes)
    {
        var total = TimeSpan.FromMinutes(minutes);
        var down = total / 5;
        var downAt = (total - down) / 2;
        Console.Error.WriteLine($"outage: {total.TotalMinutes:0.#} min run, broker down {down.TotalSeconds:0} s from {downAt.TotalSeconds:0} s");
        var dir = Directory.CreateTempSubdirectory("swarm-bench-outage-").FullName;
        var conf = Path.Combine(dir, "mosquitto.conf");
        var mqttPort = Tools.FreePort();
        File.WriteAllText(conf, $"user root\nlistener {mqttPort} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {dir}/\n" +
                                "autosave_interval 1\nmax_queued_messages 1000000\nmax_inflight_messages 100\n");
        var broker = Tools.Start(Tools.MosquittoBinary, ["-c", conf], new());
        Process? bee = null;
        try
        {
            var received = new ConcurrentQueue<long>();
            var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", mqttPort).WithClientId("bench-subscriber")
                .WithProtocolVersion(MqttProtocolVersion.V500).WithCleanStart(false).WithSessionExpiryInterval(3600).Build();
            using var client = new MqttClientFactory().CreateMqttClient();
            client.ApplicationMessageReceivedAsync += e =>
            {
                if (e.ApplicationMessage.Topic.StartsWith("ping/"))
                    received.Enqueue(JsonDocument.Parse(e.ApplicationMessage.Payload.ToArray()).RootElement.GetProperty("seq").GetInt64());
                return Task.CompletedTask;
            };
            var stopping = false;
            client.DisconnectedAsync += async _ =>
            {
                while (!stopping)
                {
                    await Task.Delay(200);
                    try { await client.ConnectAsync(options); return; } catch (Exception) { }
                }
            };
            await Tools.Until(async () => { try { await client.ConnectAsync(options); return true; } catch (Exception) { return false; } },
                TimeSpan.FromSeconds(20), "mosquitto");
            await client.SubscribeAsync("ping/+", MqttQualityOfServiceLevel.AtLeastOnce);

            var data = Path.Combine(dir, "bee");
            bee = Tools.Start("dotnet", [Tools.Binary("Swarm.Node")], new()
            {
                ["Swarm__Roles"] = "bee,queen",
                ["Swarm__Bee__Id"] = "outage",
                ["Swarm__DataDir"] = data,
                ["Swarm__Mqtt__Brokers__0"] = $"mqtt://127.0.0.1:{mqttPort}",
                ["Swarm__Management__Url"] = $"http://127.0.0.1:{Tools.FreePort()}",
                ["Swarm__Probe__Interval"] = "1s",
                ["Swarm__Probe__Count"] = "3",
                ["Swarm__Probe__Spacing"] = "100ms",
                ["Swarm__Probe__Timeout"] = "300ms",
                ["Swarm__Targets__Default"] = string.Join(' ', Enumerable.Range(1, 50).Select(i => $"127.0.8.{i}")),
            });
            var started = Stopwatch.StartNew();
            long peak = 0;
            var brokerDown = false;
            while (started.Elapsed < total)
            {
                peak = Math.Max(peak, DiskBytes(Path.Combine(data, "outbox")));
                if (!brokerDown && started.Elapsed >= downAt)
                {
                    Process.Start("kill", ["-TERM", broker.Id.ToString()])!.WaitForExit();
                    broker.WaitForExit();
                    brokerDown = true;
                    Console.Error.WriteLine($"outage: broker stopped at {started.Elapsed.TotalSeconds:0} s");
                }
                if (brokerDown && broker.HasExited && started.Elapsed >= downAt + down)
                {
                    broker = Tools.Start(Tools.MosquittoBinary, ["-c", conf], new());
                    Console.Error.WriteLine($"outage: broker back at {started.Elapsed.TotalSeconds:0} s");
                }
                await Task.Delay(1000);
            }

            // Stop producing (SIGTERM: a clean stop), then wait for the subscriber to have the last number produced.
            Process.Start("kill", ["-TERM", bee.Id.ToString()])!.WaitForExit();
            bee.WaitForExit();
            var produced = LastSeq(Path.Combine(data, "outbox"));
            var dropped = Dropped(Path.Combine(data, "outbox"));
            await Tools.Until(() => Task.FromResult(received.Distinct().Count() + dropped >= produced), TimeSpan.FromMinutes(2), "the subscriber to catch up");
            stopping = true;
            var all = received.ToList();
            var distinct = all.Distinct().Count();
            return
            [
                new($"{total.TotalMinutes:0.#}-minute run, broker down {down.TotalSeconds:0} s: produced / delivered / duplicates / dropped",
                    $"{produced:#,0} / {distinct:#,0} / {all.Count - distinct:#,0} / {dropped:#,0}", "—", "delivered = produced, drops = 0"),
                new("outbox peak size on disk", $"{peak / 1048576.0:0.0} MiB", "—", "report"),
            ];
        }
        finally
        {
            foreach (var p in new[] { bee, broker }) { try { if (p is { HasExited: false }) { p.Kill(true); p.WaitForExit(); } } catch (InvalidOperationException) { } }
            Directory.Delete(dir, true);
        }
    }

    private static long DiskBytes(string folder) =>
        Directory.Exists(folder) ? new DirectoryInfo(folder).GetFiles().Sum(f => f.Length) : 0;

    /// <summary>The cursor file: done-up-to, dropped, last sequence (three little-endian 64-bit numbers).</summary>
    private static long[] Cursor(string outbox)
    {
        var bytes = File.ReadAllBytes(Path.Combine(outbox, "cursor"));
        return [BitConverter.ToInt64(bytes, 0), BitConverter.ToInt64(bytes, 8), BitConverter.ToInt64(bytes, 16)];
    }

    private static long LastSeq(string outbox) => Cursor(outbox)[2];
    private static long Dropped(string outbox) => Cursor(outbox)[1];
}
