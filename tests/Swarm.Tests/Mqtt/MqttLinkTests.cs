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
        var settings = new MqttSettings([new Uri(broker.Url)], $"queen-{Guid.NewGuid():N}");
        await using (var first = new MqttLink(settings, NullLogger<MqttLink>.Instance))
        {
            await first.SubscribeAsync("watch", (_, _) => Task.CompletedTask);
            await first.StartAsync(default);
            await Eventually.True(() => first.IsConnected, TimeSpan.FromSeconds(10), "first connect");
            await Task.Yield();
            await first.StopAsync(default); // the session (and its subscription) stays on the broker
        }
        await using (var operatorClient = await MqttCollector.ConnectAsync(broker.Port))
            await operatorClient.PublishAsync("watch", "queued.example"); // queued for the absent session

        var received = new ConcurrentQueue<string>();
        await using var second = new MqttLink(settings, NullLogger<MqttLink>.Instance);
        await second.StartAsync(default);
        await Eventually.True(() => second.IsConnected, TimeSpan.FromSeconds(10), "second connect");
        await second.SubscribeAsync("watch", (_, payload) => { received.Enqueue(Encoding.UTF8.GetString(payload)); return Task.CompletedTask; });

        await Eventually.True(() => received.Contains("queued.example"), TimeSpan.FromSeconds(10), "the queued watch message");
    }
}
