using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Indexing;

/// <summary>The indexer acknowledges every message it takes, a dead-lettered one too, as the broker sees it.</summary>
public class IndexerAckTests
{
    [Fact]
    public async Task Every_message_the_indexer_takes_is_acknowledged_at_the_broker_garbage_included()
    {
        using var broker = await AckRecordingBroker.StartAsync(e => e.ClientId.EndsWith("-indexer") ? e.PublishPacket.Topic : null);
        var (port, acked) = (broker.Port, broker.Acked);
        await using var es = new FakeElasticsearch();
        await using var node = await SwarmHost.StartAsync(("Swarm:Roles", "indexer"), ("Swarm:Bee:Id", "acks"),
            ("Swarm:Mqtt:Brokers:0", $"mqtt://127.0.0.1:{port}"), ("Swarm:Elasticsearch:Urls:0", es.Url.ToString()));
        await Eventually.True(() => node.Health.Problems.Count == 0, TimeSpan.FromSeconds(60), () => string.Join("; ", node.Health.Problems));
        await using var bee = await MqttCollector.ConnectAsync(port);
        byte[] Result(long seq) => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Swarm.Protocol.ProbeResult
        {
            Bee = "b", Seq = seq, Timestamp = DateTime.UtcNow, Target = "127.0.0.1", Kind = "icmp", Sent = 1, Received = 1, AvgMs = 1, MinMs = 1, MaxMs = 1,
        }, Swarm.Serialization.SwarmJson.Wire.ProbeResult);

        await bee.PublishAsync("ping/127.0.0.1", Result(1));
        await bee.PublishAsync("ping/garbage", [0xFF, (byte)'{']);
        await bee.PublishAsync("ping/127.0.0.1", Result(2));
        await Eventually.True(() => acked.Count(t => t.StartsWith("ping/")) == 3, TimeSpan.FromSeconds(30),
            () => $"three acknowledgements (now: {string.Join(", ", acked)}; stored {es.Documents.Count})");
    }
}
