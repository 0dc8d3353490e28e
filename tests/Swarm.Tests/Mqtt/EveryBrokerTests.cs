using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Swarm.Hosting;
using Swarm.Mqtt;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Mqtt;

/// <summary>
/// Queens and indexers read every broker at once (Swarm:Mqtt:EveryBroker), against two real mosquittos: a bee may
/// publish to whichever broker it reaches; what comes through two brokers (bridged) is stored and applied once.
/// </summary>
public class EveryBrokerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public void The_kth_copy_from_a_broker_is_new_only_when_no_broker_gave_k_copies_yet()
    {
        var copies = new CopyFilter(brokers: 2);
        var t0 = new DateTime(2026, 12, 2, 3, 0, 0, DateTimeKind.Utc);
        byte[] a = "free.fr"u8.ToArray(), b = "yahoo.fr"u8.ToArray();
        Assert.True(copies.FirstCopy(0, "watch", a, t0));
        Assert.True(copies.FirstCopy(0, "watch", b, t0));
        Assert.False(copies.FirstCopy(1, "watch", a, t0.AddSeconds(1))); // the bridged, late copy of "A" does not undo "B"
        Assert.False(copies.FirstCopy(1, "watch", b, t0.AddSeconds(1)));
        Assert.True(copies.FirstCopy(0, "watch", a, t0.AddSeconds(2))); // sent again: applied again
        Assert.False(copies.FirstCopy(1, "watch", a, t0.AddSeconds(2)));
        Assert.True(copies.FirstCopy(1, "watch/other", a, t0.AddSeconds(2))); // another topic is another message
        // Past the memory, a broker that missed copies is not held to the count of the others.
        Assert.True(copies.FirstCopy(1, "watch", b, t0 + CopyFilter.Memory + TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void A_flood_of_distinct_messages_does_not_grow_the_filter_without_bound()
    {
        var copies = new CopyFilter(brokers: 2);
        var now = DateTime.UtcNow;
        for (var i = 0; i < CopyFilter.Capacity * 3; i++)
        {
            Assert.True(copies.FirstCopy(i % 2, "watch", BitConverter.GetBytes(i), now));
            Assert.True(copies.Count <= CopyFilter.Capacity);
        }
        Assert.True(copies.FirstCopy(0, "watch", "after"u8.ToArray(), now));
    }

    [Theory]
    [InlineData("bee", "true", false)] // a bee fails over, one broker at a time
    [InlineData("queen", "true", true)]
    [InlineData("indexer", "true", true)]
    [InlineData("bee,queen,indexer", "true", true)]
    [InlineData("queen,indexer", "false", false)] // brokers bridged into one: read one
    public void Queens_and_indexers_read_every_broker_bees_fail_over(string roles, string everyBroker, bool expected)
    {
        var options = SwarmOptions.Load(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Swarm:Roles"] = roles, ["Swarm:Mqtt:EveryBroker"] = everyBroker, ["Swarm:Bee:Connection"] = "ethernet",
            ["Swarm:Mqtt:Brokers:0"] = "mqtt://127.0.0.1:1", ["Swarm:Mqtt:Brokers:1"] = "mqtt://127.0.0.1:2",
        }).Build());
        Assert.Equal(expected, SwarmHosting.MqttSettingsFor(options).EveryBroker);
    }

    [Fact]
    public void A_flag_that_is_not_true_or_false_is_refused_naming_the_key()
    {
        var e = Assert.Throws<SwarmConfigurationException>(() => SwarmOptions.Load(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Swarm:Mqtt:EveryBroker"] = "yes please" }).Build()));
        Assert.Contains("Swarm:Mqtt:EveryBroker = 'yes please': must be true or false", e.Message);
    }

    [Fact]
    public async Task A_link_reading_every_broker_hears_both_retains_on_both_and_keeps_reading_the_one_left()
    {
        await using var a = await Mosquitto.StartAsync();
        await using var b = await Mosquitto.StartAsync();
        var settings = new MqttSettings([BrokerEndpoint.Parse(a.Url, out _)!, BrokerEndpoint.Parse(b.Url, out _)!], $"queen-{Guid.NewGuid():N}")
        {
            EveryBroker = true,
            MinBackoff = TimeSpan.FromMilliseconds(100),
        };
        await using var link = new MqttLink(settings, NullLogger<MqttLink>.Instance);
        Assert.Equal(2, link.Readers);
        var results = new ConcurrentQueue<string>();
        var watches = new ConcurrentQueue<string>();
        await link.SubscribeAsync("ping/+", (topic, payload) => { results.Enqueue($"{topic} {Encoding.UTF8.GetString(payload)}"); return Task.CompletedTask; });
        await link.SubscribeAsync("watch", (_, payload) => { watches.Enqueue(Encoding.UTF8.GetString(payload)); return Task.CompletedTask; }, once: true);
        await link.StartAsync(default);
        await using var onA = await MqttCollector.ConnectAsync(a.Port, "targets/#");
        await using var onB = await MqttCollector.ConnectAsync(b.Port, "targets/#");

        // Each broker's connection is subscribed once a message published there arrives.
        await Eventually.True(async () =>
        {
            await onA.PublishAsync("ping/a.example", "via-a");
            await onB.PublishAsync("ping/b.example", "via-b");
            return results.Contains("ping/a.example via-a") && results.Contains("ping/b.example via-b");
        }, Deadline, () => $"a result through each broker (heard: {string.Join(", ", results.Distinct())})");

        // A retained message lands on both, so a reader of either finds it.
        await link.PublishAsync("targets/default", """{"version":1}"""u8.ToArray(), retain: true);
        await onA.WaitForAsync((t, _) => t == "targets/default", Deadline, "the retained list on broker A");
        await onB.WaitForAsync((t, _) => t == "targets/default", Deadline, "the retained list on broker B");

        // A watch bridged from A to B: the late copy of "A" on B does not undo "B"; what B says after is heard.
        await onA.PublishAsync("watch", "A");
        await onA.PublishAsync("watch", "B");
        await Eventually.True(() => watches.Count == 2, Deadline, "both watches through broker A");
        await onB.PublishAsync("watch", "A");
        await onB.PublishAsync("watch", "B");
        await onB.PublishAsync("watch", "C");
        await Eventually.True(() => watches.Contains("C"), Deadline, "the watch said only on broker B");
        Assert.Equal(["A", "B", "C"], watches.ToArray());

        // Broker A gone: the link reads B and publishes there.
        await a.StopAsync();
        await Eventually.True(() => link.ConnectedBroker?.Port == b.Port, Deadline, "publishing through broker B");
        await using var pings = await MqttCollector.ConnectAsync(b.Port, "ping/+");
        await Eventually.True(async () =>
        {
            try { await link.PublishAsync("ping/c.example", "from-link"u8.ToArray()); } catch (MqttNotConnectedException) { }
            return pings.Messages.Any(m => m.Payload == "from-link");
        }, Deadline, "a result the link published on broker B");
        Assert.True(link.IsConnected);

        // Retained with a broker down: a list or verdict goes where it can (readers keep the newest; it is published
        // again when the broker is back), but a clear must reach every broker or fail, lest the old one come back.
        await link.PublishAsync("verdict/x.example", """{"ts":"2026-12-02T04:00:00Z"}"""u8.ToArray(), retain: true);
        var clear = await Assert.ThrowsAsync<MqttNotConnectedException>(() => link.PublishAsync("verdict/x.example", [], retain: true));
        Assert.Contains("cleared on 1 of 2 brokers", clear.Message);
    }

    [Fact]
    public async Task A_queen_and_indexer_store_a_result_from_either_broker_once_and_apply_a_watch_once()
    {
        await using var a = await Mosquitto.StartAsync();
        await using var b = await Mosquitto.StartAsync();
        await using var es = new FakeElasticsearch();
        await using var node = await SwarmHost.StartAsync(
            ("Swarm:Roles", "queen,indexer"), ("Swarm:Bee:Id", "reader-1"),
            ("Swarm:Mqtt:Brokers:0", a.Url), ("Swarm:Mqtt:Brokers:1", b.Url),
            ("Swarm:Elasticsearch:Urls:0", es.Url.ToString()), ("Swarm:Elasticsearch:DataStream", "swarm-two"));
        await Eventually.True(() => node.Health.Problems.Count == 0, TimeSpan.FromSeconds(60), () => string.Join("; ", node.Health.Problems));
        await using var onA = await MqttCollector.ConnectAsync(a.Port, "targets/default");
        await using var onB = await MqttCollector.ConnectAsync(b.Port);

        static byte[] Result(string bee, long seq) => JsonSerializer.SerializeToUtf8Bytes(new ProbeResult
        {
            Bee = bee, Seq = seq, Timestamp = DateTime.UtcNow, Target = "127.0.0.1", Kind = "icmp", Address = "127.0.0.1",
            Sent = 3, Received = 3, AvgMs = 0.1, MinMs = 0.05, MaxMs = 0.2,
        }, SwarmJson.Wire.ProbeResult);

        // Results only: the queen's verdicts on them are documents too.
        IReadOnlyList<string> Stored() => es.Documents.Keys.Where(id => !id.StartsWith("verdict-") && !id.StartsWith("alert-"))
            .Select(FakeElasticsearch.ResultOf).Order().ToList();

        // A bee near broker B only, another near A; and one result that came through both (bridged brokers).
        await onB.PublishAsync("ping/127.0.0.1", Result("near-b", 1));
        await onA.PublishAsync("ping/127.0.0.1", Result("near-a", 1));
        var twice = Result("both", 1);
        await onA.PublishAsync("ping/127.0.0.1", twice);
        await onB.PublishAsync("ping/127.0.0.1", twice);
        await Eventually.True(() => Stored().Count == 3, Deadline, () => $"the three results stored (now {string.Join(", ", Stored())})");
        // The second copy of "both" is answered 409 (already stored): once it is through, still one document.
        await onB.PublishAsync("ping/127.0.0.1", Result("near-b", 2));
        await Eventually.True(() => Stored().Contains("near-b-2"), Deadline, "a later result through broker B");
        Assert.Equal(["both-1", "near-a-1", "near-b-1", "near-b-2"], Stored());

        // watch on A twice, then the bridged copies on B: the list is not put back, and B's own next watch is applied.
        long VersionOf(JsonElement list) => list.GetProperty("version").GetInt64();
        await onA.PublishAsync("watch", "127.0.0.2");
        await onA.WaitForAsync((_, l) => l.GetProperty("targets")[0].GetString() == "127.0.0.2", Deadline, "the first watch applied");
        await onA.PublishAsync("watch", "127.0.0.3");
        var second = await onA.WaitForAsync((_, l) => l.GetProperty("targets")[0].GetString() == "127.0.0.3", Deadline, "the second watch applied");
        await onB.PublishAsync("watch", "127.0.0.2");
        await onB.PublishAsync("watch", "127.0.0.3");
        await onB.PublishAsync("watch", "127.0.0.3 127.0.0.4");
        var third = await onA.WaitForAsync((_, l) => l.GetProperty("targets").GetArrayLength() == 2, Deadline, "the watch said on broker B");
        Assert.Equal(VersionOf(second) + 1, VersionOf(third));
        Assert.DoesNotContain(onA.Messages, m => m.Topic == "targets/default"
            && JsonNode.Parse(m.Payload)!["version"]!.GetValue<long>() > VersionOf(second) && m.Payload.Contains("\"127.0.0.2\""));
    }

    [Fact]
    public async Task Brokers_bridged_with_the_shipped_configuration_let_readers_of_the_hub_alone_hear_every_bee()
    {
        await using var hub = await Mosquitto.StartAsync();
        // deploy/mosquitto/bridge.conf as shipped, but for the hub's address and the TLS files (this hub is plain).
        var bridge = string.Join('\n', File.ReadAllLines(Repo.File("deploy", "mosquitto", "bridge.conf"))
            .Where(l => !l.StartsWith("bridge_cafile") && !l.StartsWith("bridge_certfile") && !l.StartsWith("bridge_keyfile"))
            .Select(l => l.StartsWith("address ") ? $"address 127.0.0.1:{hub.Port}" : l));
        Assert.Contains("topic ping/# both 1", bridge);
        await using var edge = await Mosquitto.StartAsync(m => $"listener {m.Port} 127.0.0.1\nallow_anonymous true\n{bridge}");
        await using var es = new FakeElasticsearch();
        await using var node = await SwarmHost.StartAsync(
            ("Swarm:Roles", "queen,indexer"), ("Swarm:Bee:Id", "hub-reader"), ("Swarm:Mqtt:EveryBroker", "false"),
            ("Swarm:Mqtt:Brokers:0", hub.Url), ("Swarm:Mqtt:Brokers:1", edge.Url),
            ("Swarm:Elasticsearch:Urls:0", es.Url.ToString()), ("Swarm:Elasticsearch:DataStream", "swarm-bridged"));
        await Eventually.True(() => node.Health.Problems.Count == 0, TimeSpan.FromSeconds(60), () => string.Join("; ", node.Health.Problems));
        await using var bee = await MqttCollector.ConnectAsync(edge.Port, "targets/default");

        // A bee on the edge broker: its results reach the indexer reading the hub (first publishes may precede the bridge).
        var result = JsonSerializer.SerializeToUtf8Bytes(new ProbeResult
        {
            Bee = "edge-bee", Seq = 1, Timestamp = DateTime.UtcNow, Target = "127.0.0.1", Kind = "icmp", Address = "127.0.0.1",
            Sent = 1, Received = 1, AvgMs = 0.1, MinMs = 0.1, MaxMs = 0.1,
        }, SwarmJson.Wire.ProbeResult);
        await Eventually.True(async () =>
        {
            await bee.PublishAsync("ping/127.0.0.1", result); // the same result each time: one document however many arrive
            return es.Documents.Keys.Any(id => id.StartsWith("edge-bee-1-"));
        }, Deadline, "a result published on the edge broker, indexed from the hub");
        Assert.Single(es.Documents.Keys, id => id.StartsWith("edge-bee-"));

        // An operator's watch on the edge broker reaches the queen; the list it publishes reaches the edge broker.
        await bee.PublishAsync("watch", "127.0.0.5");
        await bee.WaitForAsync((_, l) => l.GetProperty("targets")[0].GetString() == "127.0.0.5", Deadline, "the list, back on the edge broker");
    }
}
