using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Swarm.Mqtt;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Mqtt;

/// <summary>The node's MQTT link against a real mosquitto.</summary>
public class MqttLinkTests
{
    [Fact]
    public async Task Messages_queued_for_a_resumed_session_reach_a_handler_registered_after_connect()
    {
        await using var broker = await Mosquitto.StartAsync();
        var settings = new MqttSettings([BrokerEndpoint.Parse(broker.Url, out _)!], $"queen-{Guid.NewGuid():N}");
        await using var operatorClient = await MqttCollector.ConnectAsync(broker.Port);
        await using (var first = new MqttLink(settings, NullLogger<MqttLink>.Instance))
        {
            var heard = 0;
            await first.SubscribeAsync("watch", (_, _) => { Interlocked.Increment(ref heard); return Task.CompletedTask; });
            await first.StartAsync(default);
            // Connected is not subscribed: wait until a message on watch reaches it, so the broker holds the subscription.
            await Eventually.True(async () =>
            {
                if (first.IsConnected) await operatorClient.PublishAsync("watch", "are-you-there.example");
                return Volatile.Read(ref heard) > 0;
            }, TimeSpan.FromSeconds(30), "the first link subscribed");
            await first.StopAsync(default); // the session (and its subscription) stays on the broker
        }
        await operatorClient.PublishAsync("watch", "queued.example"); // queued for the absent session

        var received = new ConcurrentQueue<string>();
        await using var second = new MqttLink(settings, NullLogger<MqttLink>.Instance);
        await second.StartAsync(default);
        await Eventually.True(() => second.IsConnected, TimeSpan.FromSeconds(30), "second connect");
        await second.SubscribeAsync("watch", (_, payload) => { received.Enqueue(Encoding.UTF8.GetString(payload)); return Task.CompletedTask; });

        await Eventually.True(() => received.Contains("queued.example"), TimeSpan.FromSeconds(30), "the queued watch message");
    }
}
