using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet.Server;
using Swarm.Mqtt;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Mqtt;

/// <summary>
/// Manual acknowledgements (the indexer's) reach the broker in the order the messages came, however the handler
/// finishes them: MQTT requires it of a QoS 1 receiver ([MQTT-4.6.0-2]).
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

        // The last nine first (their tasks complete: a handler awaiting one is not held), m0 last: sent as they came,
        // the broker would see m9 … m1 before m0.
        var acks = held.ToArray();
        foreach (var (_, ack) in acks.Skip(1).Reverse()) await ack(default);
        await acks[0].Ack(default);
        await Eventually.True(() => acked.Count == 10, Deadline, "ten acknowledgements at the broker");
        Assert.Equal(acks.Select(a => a.Payload), acked);
    }

    [Fact]
    public async Task Acknowledgements_given_at_once_from_many_threads_each_reach_the_broker_once_in_arrival_order()
    {
        // One call sends while the others, finding it busy, leave their acknowledgements to it: none may be lost in
        // between (the sender looks at the line again after it lets go), none sent twice.
        const int Count = 2000;
        using var broker = await AckRecordingBroker.StartAsync(e => e.ClientId == "many" ? Encoding.UTF8.GetString(e.PublishPacket.Payload) : null);
        var (port, acked) = (broker.Port, broker.Acked);
        await using var link = new MqttLink(new MqttSettings([BrokerEndpoint.Loopback(port)], "many") { ReceiveMaximum = Count }, NullLogger<MqttLink>.Instance);
        var held = new ConcurrentQueue<(string Payload, Func<CancellationToken, Task> Ack)>();
        await link.SubscribeWithAckAsync("ping/+", null, (_, payload, ack) => { held.Enqueue((Encoding.UTF8.GetString(payload), ack)); return Task.CompletedTask; });
        var subscribed = false;
        link.Connected += () => subscribed = true;
        await link.StartAsync(default);
        await Eventually.True(() => subscribed, Deadline, "connected and subscribed");

        await using var publisher = await MqttCollector.ConnectAsync(port);
        for (var i = 0; i < Count; i++) await publisher.PublishAsync("ping/x", $"m{i}");
        await Eventually.True(() => held.Count == Count, Deadline, () => $"{Count} messages held (now {held.Count})");

        var acks = held.ToArray();
        var order = acks.Select((_, i) => i).OrderBy(_ => Random.Shared.Next()).ToArray();
        await Parallel.ForEachAsync(order, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) => await acks[i].Ack(ct));
        await Eventually.True(() => acked.Count >= Count, Deadline, () => $"{Count} acknowledgements at the broker (now {acked.Count})");
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
        // Nothing is held now: a message published after is delivered.
        await publisher.PublishAsync("ping/x", "after");
        await Eventually.True(() => seen.Contains("after"), Deadline, "a message after the restart");
    }
}
