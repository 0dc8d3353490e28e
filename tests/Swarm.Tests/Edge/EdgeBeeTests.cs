using System.Text.Json;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Swarm.Edge;
using Swarm.Hosting;
using Swarm.Management;
using Swarm.Protocol;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Edge;

/// <summary>Edge bees as nodes run them, in this process: a real mosquitto, a queen of the cluster, an edge bee beside it.</summary>
public sealed class EdgeBeeTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private Mosquitto _broker = null!;
    private MqttCollector _client = null!;
    private readonly List<SwarmHost> _nodes = [];

    public async Task InitializeAsync()
    {
        _broker = await Mosquitto.StartAsync();
        _client = await MqttCollector.ConnectAsync(_broker.Port, "ping/+", "rip/#");
    }

    private async Task<SwarmHost> Start(string id, string roles, params (string, string)[] more)
    {
        var node = await SwarmHost.StartAsync([
            ("Swarm:Roles", roles),
            ("Swarm:Bee:Id", id),
            ("Swarm:Mqtt:Brokers:0", _broker.Url),
            ("Swarm:Targets:Default", "127.0.0.1"),
            ("Swarm:Probe:Interval", "1s"),
            ("Swarm:Probe:Count", "2"),
            ("Swarm:Probe:Spacing", "10ms"),
            ("Swarm:Probe:Timeout", "500ms"),
            .. more,
        ]);
        _nodes.Add(node);
        return node;
    }

    /// <summary>Ready as /health/ready says it: for a queen, the broker holds its subscription to watch.</summary>
    private static Task Ready(SwarmHost node) =>
        Eventually.True(() => node.Health.Problems.Count == 0, Deadline, () => string.Join("; ", node.Health.Problems));

    /// <summary>What the bee probes now; an empty duty while it does not answer (recovering, or restarting).</summary>
    private static async Task<BeeDuty> Duty(SwarmHost node)
    {
        try { return await node.Registry.Get<BeeActor>().Ask<BeeDuty>(GetBeeDuty.Instance, TimeSpan.FromSeconds(10)); }
        catch (AskTimeoutException) { return new BeeDuty("", [], []); }
    }

    [Fact]
    public async Task A_cluster_bee_and_an_edge_bee_follow_one_list_to_the_same_version_and_the_queen_lists_the_edge_bee()
    {
        var queen = await Start("queen-bee", "bee,queen");
        var edge = await Start("edge-1", "edge");
        await Ready(queen);
        await Ready(edge);

        await _client.PublishAsync("watch", "127.0.0.2 127.0.0.3");

        // Both bees converge: the same version of the list, the same targets.
        await Eventually.True(async () =>
        {
            var (q, e) = (await Duty(queen), await Duty(edge));
            return q.Lists.Count == 1 && e.Lists.Count == 1 && q.Lists[0].Version == e.Lists[0].Version
                   && e.Targets.SequenceEqual(["127.0.0.2", "127.0.0.3"]);
        }, Deadline, "the cluster bee and the edge bee on the same version of list default");
        await _client.WaitForAsync((topic, json) => topic == "ping/127.0.0.3" && json.GetProperty("bee").GetString() == "edge-1", Deadline,
            "a result of the edge bee for the new target");

        // Its retained status tells the swarm what it is and what it follows; the queen lists it among the bees.
        var status = await _client.WaitForAsync((topic, json) => topic == "rip/edge-1" && json.TryGetProperty("lists", out _), Deadline,
            "the edge bee's status with its lists");
        Assert.Equal("edge", status.GetProperty("kind").GetString());
        var management = new SwarmManagement(queen.System, () => queen.Registry.TryGet<TargetListRegion>(out var r) ? r : null, new RecentLog())
        {
            Directory = queen.Services.GetRequiredService<BeeDirectory>(),
        };
        var version = (await Duty(edge)).Lists.Single().Version;
        IReadOnlyList<BeeReport> bees = [];
        await Eventually.True(async () =>
        {
            bees = await management.BeesAsync();
            return bees.Any(b => b.Bee == "edge-1" && b.Lists.Any(l => l.Version == version)) && bees.Any(b => b.Bee == "queen-bee" && b.Error is null);
        }, Deadline, () => $"the queen lists edge-1 at version {version}: {JsonSerializer.Serialize(bees)}");
        Assert.Equal(("cluster", "edge"), (bees.Single(b => b.Bee == "queen-bee").Kind, bees.Single(b => b.Bee == "edge-1").Kind));
        Assert.Equal("online", bees.Single(b => b.Bee == "edge-1").Status);
    }

    [Fact]
    public async Task Bad_retained_lists_leave_the_edge_bee_on_its_list_with_the_reason_in_its_status()
    {
        await Ready(await Start("queen-b", "queen"));
        var edge = await Start("edge-b", "edge", ("Swarm:Targets:MaxListBytes", "1024"));
        await Ready(edge);
        await _client.PublishAsync("watch", "127.0.0.4");
        await Eventually.True(async () => (await Duty(edge)).Targets.SequenceEqual(["127.0.0.4"]), Deadline, "the edge bee on the queen's list");
        var held = (await Duty(edge)).Lists.Single().Version;

        var cases = new (string Payload, string Reason)[]
        {
            ("this is not json {", "not a published list"),
            (JsonSerializer.Serialize(new { list = "default", version = held - 1, targets = new[] { "127.0.0.9" } }), "older than version"),
            (JsonSerializer.Serialize(new { list = "default", version = held + 1, targets = Enumerable.Range(1, 200).Select(i => $"host-{i}.example") }),
                "over the limit"),
            (JsonSerializer.Serialize(new { list = "other", version = held + 1, targets = new[] { "127.0.0.9" } }), "names list 'other'"),
            (JsonSerializer.Serialize(new { list = "default", version = held + 1, targets = new[] { "not a target!" } }), "refused"),
        };
        foreach (var (payload, reason) in cases)
        {
            _client.Clear();
            await _client.PublishAsync("targets/default", System.Text.Encoding.UTF8.GetBytes(payload), retain: true);
            await _client.WaitForAsync((topic, json) => topic == "rip/edge-b" && json.TryGetProperty("refused", out var r)
                    && r.GetProperty("reason").GetString()!.Contains(reason), Deadline, $"the refusal '{reason}' in the edge bee's status");
            var duty = await Duty(edge);
            Assert.Equal(held, duty.Lists.Single().Version);
            Assert.Equal(["127.0.0.4"], duty.Targets);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        await _client.DisposeAsync();
        await _broker.DisposeAsync();
    }
}
