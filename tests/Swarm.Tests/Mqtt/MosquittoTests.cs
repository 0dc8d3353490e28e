using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Mqtt;

/// <summary>A whole swarm node in this process against a real mosquitto.</summary>
public sealed class MosquittoTests : IAsyncLifetime
{
    private Mosquitto _broker = null!;
    private SwarmHost _node = null!;
    private MqttCollector _client = null!;

    public async Task InitializeAsync()
    {
        _broker = await Mosquitto.StartAsync();
        _client = await MqttCollector.ConnectAsync(_broker.Port, "ping/+", "watch/errors");
        _node = await SwarmHost.StartAsync(
            ("Swarm:Mqtt:Brokers:0", _broker.Url),
            ("Swarm:Bee:Id", "mosq-bee"),
            ("Swarm:Bee:Location", "test-lab"),
            ("Swarm:Probe:Interval", "1s"),
            ("Swarm:Probe:Count", "3"),
            ("Swarm:Probe:Spacing", "50ms"),
            ("Swarm:Probe:Timeout", "500ms"),
            ("Swarm:Targets:Default", "127.0.0.1"));
    }

    [Fact]
    public async Task Watch_replaces_what_the_bee_probes_and_results_arrive_on_ping_topics()
    {
        await _client.WaitForAsync((t, _) => t == "ping/127.0.0.1", TimeSpan.FromSeconds(15), "a result for the default list");

        await _client.PublishAsync("watch", "127.0.0.2 ::1");

        var v4 = await _client.WaitForAsync((t, _) => t == "ping/127.0.0.2", TimeSpan.FromSeconds(5), "a result for 127.0.0.2");
        var v6 = await _client.WaitForAsync((t, _) => t == "ping/::1", TimeSpan.FromSeconds(5), "a result for ::1");
        foreach (var result in new[] { v4, v6 })
        {
            Assert.Equal("mosq-bee", result.GetProperty("bee").GetString());
            Assert.Equal("test-lab", result.GetProperty("location").GetString());
            Assert.Equal("icmp", result.GetProperty("kind").GetString());
            Assert.Equal(3, result.GetProperty("sent").GetInt32());
            Assert.Equal(3, result.GetProperty("received").GetInt32());
            Assert.Equal(0, result.GetProperty("loss").GetDouble());
            Assert.InRange(result.GetProperty("rtt_avg_ms").GetDouble(), 0.0001, 50);
            Assert.True(result.GetProperty("seq").GetInt64() > 0);
            Assert.EndsWith("Z", result.GetProperty("ts").GetString());
        }
        Assert.Equal("::1", v6.GetProperty("address").GetString());

        // Once the new list is in force, nothing else is probed.
        _client.Clear();
        await Eventually.True(() => _client.Messages.Count >= 6, TimeSpan.FromSeconds(10), "six more results");
        Assert.All(_client.Messages, m => Assert.Contains(m.Topic, new[] { "ping/127.0.0.2", "ping/::1" }));
    }

    [Fact]
    public async Task Garbage_on_watch_is_answered_on_watch_errors_and_probing_goes_on()
    {
        await _client.WaitForAsync((t, _) => t == "ping/127.0.0.1", TimeSpan.FromSeconds(15), "the node up and publishing");
        await _client.PublishAsync("watch", [0xC3, 0x28, 0x20]);
        await _client.PublishAsync("watch", "");
        await _client.PublishAsync("watch/web", "free.fr ftp://x");

        var notUtf8 = await _client.WaitForAsync((t, j) => t == "watch/errors" && j.GetProperty("error").GetString()!.Contains("UTF-8"),
            TimeSpan.FromSeconds(10), "an error for the non-UTF-8 payload");
        await _client.WaitForAsync((t, j) => t == "watch/errors" && j.GetProperty("error").GetString()!.StartsWith("payload is empty"),
            TimeSpan.FromSeconds(5), "an error for the empty payload");
        var named = await _client.WaitForAsync((t, j) => t == "watch/errors" && j.GetProperty("list").GetString() == "web",
            TimeSpan.FromSeconds(5), "an error for list web");
        Assert.Equal("default", notUtf8.GetProperty("list").GetString());
        Assert.Equal("1 entry refused: 'ftp://x': not a host, tcp://host:port, http(s):// URL, dns://server/name?type=A or trace://host", named.GetProperty("error").GetString());

        _client.Clear();
        await _client.WaitForAsync((t, _) => t == "ping/127.0.0.1", TimeSpan.FromSeconds(5), "the default list still probed");
    }

    public async Task DisposeAsync()
    {
        // Null-safe: when InitializeAsync failed half-way, what did start must still be stopped.
        if (_node is not null) await _node.DisposeAsync();
        if (_client is not null) await _client.DisposeAsync();
        if (_broker is not null) await _broker.DisposeAsync();
    }
}
