using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Protocol;
using Swarm.Edge;
using Swarm.Hosting;
using Swarm.Management;
using Swarm.Protocol;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Edge;

/// <summary>
/// The seed's Python agents (athoune/swarming) beside Swarm's bees: their exact payloads, through a real mosquitto, into
/// the indexer and <c>swarm bees</c>. An agent connects as <c>ping/&lt;hostname&gt;</c> with an empty last will on
/// <c>rip/agent/&lt;hostname&gt;</c>, and publishes at QoS 1 on <c>ping/&lt;target&gt;</c>.
/// </summary>
public sealed class LegacyAgentTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private Mosquitto _broker = null!;
    private FakeElasticsearch _es = null!;
    private SwarmHost _node = null!;

    public async Task InitializeAsync()
    {
        _broker = await Mosquitto.StartAsync();
        _es = new FakeElasticsearch();
        _node = await SwarmHost.StartAsync(
            ("Swarm:Roles", "indexer"),
            ("Swarm:Bee:Id", "indexer-l"),
            ("Swarm:Mqtt:Brokers:0", _broker.Url),
            ("Swarm:Elasticsearch:Urls:0", _es.Url.ToString()),
            ("Swarm:Elasticsearch:DataStream", "swarm-legacy"));
        await Eventually.True(() => _node.Health.Problems.Count == 0, Deadline, () => string.Join("; ", _node.Health.Problems));
    }

    /// <summary>An agent as swarming.py connects: client id ping/&lt;hostname&gt;, last will an empty message on rip/agent/&lt;hostname&gt;.</summary>
    private async Task<IMqttClient> Agent(string hostname)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", _broker.Port)
            .WithClientId($"ping/{hostname}")
            .WithWillTopic($"rip/agent/{hostname}")
            .WithWillPayload([])
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(5))
            .Build());
        return client;
    }

    private static Task Publish(IMqttClient agent, string target, string payload) =>
        agent.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"ping/{target}").WithPayload(Encoding.UTF8.GetBytes(payload))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

    [Fact]
    public async Task A_seed_agents_results_are_indexed_as_documents_of_the_same_shape_and_it_is_listed_as_a_legacy_bee()
    {
        var agent = await Agent("oldbox");
        await Publish(agent, "free.fr", """["oldbox", "ok", {"Error": null, "loss": 20.0, "Round trip": [0.041, 0.052, 0.077, 0.011]}]""");
        await Publish(agent, "nowhere.example", """["oldbox", "error", "Unknown host"]""");

        await Eventually.True(() => _es.Documents.Count == 2, Deadline, () => $"two documents (now {_es.Documents.Count})");
        var ok = _es.Documents.Values.Single(d => d["monitor"]!["name"]!.GetValue<string>() == "free.fr");
        Assert.Equal("up", ok["monitor"]!["status"]!.GetValue<string>());
        Assert.Equal("icmp", ok["monitor"]!["type"]!.GetValue<string>());
        Assert.Equal("oldbox", ok["observer"]!["name"]!.GetValue<string>());
        var swarm = ok["swarm"]!;
        Assert.Equal(("oldbox", true, 10, 8, 20.0), (swarm["bee"]!.GetValue<string>(), swarm["legacy"]!.GetValue<bool>(),
            swarm["sent"]!.GetValue<int>(), swarm["received"]!.GetValue<int>(), swarm["loss"]!.GetValue<double>()));
        Assert.Equal(0.052, swarm["rtt"]!["avg_ms"]!.GetValue<double>());
        Assert.Equal(52, ok["icmp"]!["rtt"]!["us"]!.GetValue<long>());
        Assert.Null(swarm["seq"]);
        var error = _es.Documents.Values.Single(d => d["monitor"]!["name"]!.GetValue<string>() == "nowhere.example");
        Assert.Equal("down", error["monitor"]!["status"]!.GetValue<string>());
        Assert.Equal("Unknown host", error["error"]!["message"]!.GetValue<string>());
        Assert.All(_es.Documents.Keys, id => Assert.StartsWith("legacy-oldbox-", id));

        var management = new SwarmManagement(_node.System, () => null, new RecentLog())
        {
            Directory = _node.Services.GetRequiredService<BeeDirectory>(),
        };
        var listed = (await management.BeesAsync()).Single(b => b.Bee == "oldbox");
        Assert.Equal((BeeKinds.Legacy, "online"), (listed.Kind, listed.Status));

        // Its last will (the connection dropped, no DISCONNECT) says it is gone.
        agent.Dispose();
        await Eventually.True(async () => (await management.BeesAsync()).Single(b => b.Bee == "oldbox").Status == "dead", Deadline,
            "the agent dead after its last will");
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _es.DisposeAsync();
        await _broker.DisposeAsync();
    }
}
