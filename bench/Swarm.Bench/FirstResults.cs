using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace Swarm.Bench;

/// <summary>
/// The first result of each (bee, target) seen on <c>ping/+</c>, by its round-start stamp (<c>ts</c>): what the
/// watch-latency benchmarks measure. A change's latency is its slowest bee's first round on the new target.
/// </summary>
public sealed class FirstResults
{
    private readonly ConcurrentDictionary<(string Bee, string Target), DateTime> _seen = new();
    private readonly IMqttClient _client;

    private FirstResults(IMqttClient client) => _client = client;

    /// <summary>Connects to the broker on 127.0.0.1:<paramref name="port"/> (waiting for it) and subscribes to ping/+.</summary>
    public static async Task<FirstResults> ConnectAsync(IMqttClient client, int port)
    {
        var results = new FirstResults(client);
        client.ApplicationMessageReceivedAsync += e =>
        {
            var json = JsonDocument.Parse(e.ApplicationMessage.Payload.ToArray()).RootElement;
            results._seen.TryAdd((json.GetProperty("bee").GetString()!, json.GetProperty("target").GetString()!), json.GetProperty("ts").GetDateTime());
            return Task.CompletedTask;
        };
        await Tools.Until(async () =>
        {
            try { await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).Build()); return true; }
            catch (Exception) { return false; }
        }, TimeSpan.FromSeconds(20), "mosquitto");
        await client.SubscribeAsync("ping/+", MqttQualityOfServiceLevel.AtLeastOnce);
        return results;
    }

    public Task AllProbingAsync(IReadOnlyCollection<string> bees, string target, TimeSpan timeout) =>
        Tools.Until(() => Task.FromResult(bees.All(b => _seen.ContainsKey((b, target)))), timeout, $"every bee probing {target}");

    /// <summary>One list change: its new target, when it was published, and its latency (ms): when its slowest bee began probing it.</summary>
    public sealed record Change(string Target, DateTime Published, double Latency);

    /// <summary>Publishes <paramref name="changes"/> lists on <c>watch</c>, one new target each.</summary>
    public async Task<List<Change>> WatchChangesAsync(IReadOnlyCollection<string> bees, int changes, string subnet)
    {
        var done = new List<Change>();
        for (var n = 0; n < changes; n++)
        {
            var target = $"{subnet}.{n + 1}";
            var published = DateTime.UtcNow;
            await _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("watch").WithPayload(Encoding.UTF8.GetBytes(target))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            await AllProbingAsync(bees, target, TimeSpan.FromSeconds(30));
            done.Add(new(target, published, bees.Max(b => (_seen[(b, target)] - published).TotalMilliseconds)));
        }
        return done;
    }
}
