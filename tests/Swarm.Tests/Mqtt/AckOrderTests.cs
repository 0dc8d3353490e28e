using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet.Server;
using Swarm.Mqtt;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Mqtt;

/// <summary>
/// Manual acknowledgements (the indexer's) reach the broker in the order the messages came, however the handler
/// finishes them: MQTT requires it of a QoS 1 receiver, and mosquitto 2.0.11 slows to a crawl without it.
/// </summary>
public class AckOrderTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Acknowledgements_given_in_reverse_reach_the_broker_in_arrival_order()
    {
        using var broker = await AckRecordingBroker.StartAsync(e => e.ClientId == "indexer" ? Encoding.UTF8.GetString(e.PublishPacket.Payload) : null);
        var (port, acked) = (broker.Port, broker.Acked);
        await using var link = new MqttLink(new MqttSettings([BrokerEndpoint.Loopback(port)], "indexer"), NullLogger<MqttLink>.Instance);
        var held = new ConcurrentQueue<(string Payload, Func<CancellationToken, Task> Ack)>();
        await link.SubscribeWithAckAsync("ping/+", null, (_, payload, ack) => { held.Enqueue((Encoding.UTF8.GetString(payload), ack)); return Task.CompletedTask; });
        var subscribed = false;
        link.Connected += () => subscribed = true; // raised once the subscriptions are restored
        await link.StartAsync(default);
        await Eventually.True(() => subscribed, Deadline, "connected and subscribed");

        await using var publisher = await MqttCollector.ConnectAsync(port);
        for (var i = 0; i < 10; i++) await publisher.PublishAsync("ping/x", $"m{i}");
        await Eventually.True(() => held.Count == 10, Deadline, "ten messages held unacknowledged");
        Assert.Empty(acked);

        // The last nine first: none may go before m0 (their tasks complete: a handler awaiting one is not held).
        var acks = held.ToArray();
        foreach (var (_, ack) in acks.Skip(1).Reverse()) await ack(default);
        await Task.Delay(200); // a PUBACK sent too early would be at the broker by now
        Assert.Empty(acked);
        await acks[0].Ack(default);
        await Eventually.True(() => acked.Count == 10, Deadline, "ten acknowledgements at the broker");
        Assert.Equal(acks.Select(a => a.Payload), acked);
    }

    [Fact]
    public async Task A_message_whose_handler_throws_is_acknowledged_and_holds_back_nothing()
    {
        using var broker = await AckRecordingBroker.StartAsync(e => e.ClientId == "throws" ? Encoding.UTF8.GetString(e.PublishPacket.Payload) : null);
        var (port, acked) = (broker.Port, broker.Acked);
        await using var link = new MqttLink(new MqttSettings([BrokerEndpoint.Loopback(port)], "throws"), NullLogger<MqttLink>.Instance);
        await link.SubscribeWithAckAsync("ping/+", null, async (_, payload, ack) =>
        {
            if (payload[0] == (byte)'!') throw new InvalidOperationException("a handler that fails");
            await ack(default);
        });
        var subscribed = false;
        link.Connected += () => subscribed = true;
        await link.StartAsync(default);
        await Eventually.True(() => subscribed, Deadline, "connected and subscribed");
        await using var publisher = await MqttCollector.ConnectAsync(port);
        await publisher.PublishAsync("ping/x", "!boom");
        await publisher.PublishAsync("ping/x", "after");
        await Eventually.True(() => acked.Count == 2, Deadline, () => $"both acknowledged (now: {string.Join(", ", acked)})");
        Assert.Equal(["!boom", "after"], acked);
    }

    [Fact]
    public async Task A_message_its_handler_never_acknowledges_is_delivered_again_and_the_rest_are_not_held_forever()
    {
        await using var broker = await Mosquitto.StartAsync();
        var settings = new MqttSettings([BrokerEndpoint.Parse(broker.Url, out _)!], "indexer-stuck") { AckStuckAfter = TimeSpan.FromSeconds(2) };
        await using var link = new MqttLink(settings, NullLogger<MqttLink>.Instance);
        var seen = new ConcurrentQueue<string>();
        await link.SubscribeWithAckAsync("ping/+", null, async (_, payload, ack) =>
        {
            var text = Encoding.UTF8.GetString(payload);
            // The first delivery of m0 is lost by the handler; every other message is acknowledged at once.
            var lost = text == "m0" && !seen.Contains("m0");
            seen.Enqueue(text);
            if (!lost) await ack(default);
        });
        await link.StartAsync(default);
        await Eventually.True(() => link.IsConnected, Deadline, "connected");
        await using var publisher = await MqttCollector.ConnectAsync(broker.Port);
        await Eventually.True(async () =>
        {
            if (!seen.Contains("m0")) await publisher.PublishAsync("ping/x", "m0");
            return seen.Contains("m0");
        }, Deadline, "m0 delivered");
        for (var i = 1; i <= 5; i++) await publisher.PublishAsync("ping/x", $"m{i}");

        await Eventually.True(() => seen.Count(s => s == "m0") >= 2, Deadline, () => $"m0 delivered again (seen: {string.Join(", ", seen)})");
        Assert.True(link.Connections >= 2); // by a new connection
        // Nothing is held now: a message published after is delivered and acknowledged, and no more reconnects come.
        var connections = link.Connections;
        await publisher.PublishAsync("ping/x", "after");
        await Eventually.True(() => seen.Contains("after"), Deadline, "a message after the restart");
        await Task.Delay(TimeSpan.FromSeconds(3)); // longer than AckStuckAfter: a wrongly stuck line would reconnect
        Assert.Equal(connections, link.Connections);
    }
}

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

/// <summary>MQTTnet's broker on a free loopback port, recording what clients acknowledged (as <c>record</c> says), in order.</summary>
internal sealed class AckRecordingBroker : IDisposable
{
    private readonly MqttServer _server;

    private AckRecordingBroker(MqttServer server, int port) => (_server, Port) = (server, port);

    public int Port { get; }
    public ConcurrentQueue<string> Acked { get; } = new();

    /// <param name="record">What to keep of an acknowledgement, or null to skip it.</param>
    public static async Task<AckRecordingBroker> StartAsync(Func<ClientAcknowledgedPublishPacketEventArgs, string?> record)
    {
        var port = Ports.Free();
        var server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder()
            .WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(System.Net.IPAddress.Loopback)
            .WithDefaultEndpointBoundIPV6Address(System.Net.IPAddress.None).WithDefaultEndpointPort(port).Build());
        var broker = new AckRecordingBroker(server, port);
        server.ClientAcknowledgedPublishPacketAsync += e =>
        {
            if (record(e) is { } kept) broker.Acked.Enqueue(kept);
            return Task.CompletedTask;
        };
        await server.StartAsync();
        return broker;
    }

    public void Dispose() => _server.Dispose();
}
