using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Swarm.Hosting;
using Swarm.Protocol;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Cluster;

/// <summary>Lighthouse + 2 queens + 2 bees, each wired as the binaries wire it, in this process on loopback.</summary>
public sealed class InProcessClusterTests : IAsyncLifetime
{
    private readonly List<SwarmHost> _hosts = [];
    private Mosquitto _broker = null!;
    private MqttCollector _client = null!;
    private SwarmHost _lighthouse = null!;
    private SwarmHost _queen1 = null!;
    private SwarmHost _queen2 = null!;

    public async Task InitializeAsync()
    {
        _broker = await Mosquitto.StartAsync();
        _client = await MqttCollector.ConnectAsync(_broker.Port, "ping/+");
        var journal = await Postgres.NewDatabaseAsync();
        var lighthousePort = Ports.Free();
        _lighthouse = await SwarmHost.StartLighthouseAsync(lighthousePort);
        _hosts.Add(_lighthouse);

        Task<SwarmHost> Node(string id, string roles) => SwarmHost.StartAsync(
            ("Swarm:Roles", roles),
            ("Swarm:Bee:Id", id),
            ("Swarm:Mqtt:Brokers:0", _broker.Url),
            ("Swarm:Persistence:Provider", "postgresql"),
            ("Swarm:Persistence:ConnectionString", journal),
            ("Swarm:Cluster:Seeds", $"akka.tcp://swarm@127.0.0.1:{lighthousePort}"),
            ("Swarm:Cluster:DownAfter", "2s"),
            ("Swarm:Probe:Interval", "1s"),
            ("Swarm:Probe:Count", "2"),
            ("Swarm:Probe:Spacing", "50ms"),
            ("Swarm:Probe:Timeout", "500ms"),
            ("Swarm:Targets:Default", "127.0.0.1"));
        _queen1 = await Node("queen-1", "queen");
        _queen2 = await Node("queen-2", "queen");
        _hosts.AddRange([_queen1, _queen2, await Node("bee-1", "bee"), await Node("bee-2", "bee")]);

        var lighthouse = Akka.Cluster.Cluster.Get(_lighthouse.System);
        await Eventually.True(() => lighthouse.State.Members.Count(m => m.Status == MemberStatus.Up) == 5,
            TimeSpan.FromSeconds(30), "five members up");
    }

    private Task BothBeesProbe(string target, TimeSpan timeout) => Task.WhenAll(
        _client.WaitForAsync((t, j) => t == $"ping/{target}" && j.GetProperty("bee").GetString() == "bee-1", timeout, $"bee-1 probing {target}"),
        _client.WaitForAsync((t, j) => t == $"ping/{target}" && j.GetProperty("bee").GetString() == "bee-2", timeout, $"bee-2 probing {target}"));

    private static async Task<CurrentTargets> ListThrough(SwarmHost queen) =>
        await queen.Registry.Get<TargetListRegion>().Ask<CurrentTargets>(new GetTargets("default"), TimeSpan.FromSeconds(10));

    [Fact]
    public async Task A_watch_change_reaches_every_bee_and_the_list_survives_its_queen()
    {
        await BothBeesProbe("127.0.0.1", TimeSpan.FromSeconds(30));

        // Both queens see the message and relay it: the second relay must be a no-op, not a new version.
        await _client.PublishAsync("watch", "127.0.0.2 ::1");
        await BothBeesProbe("127.0.0.2", TimeSpan.FromSeconds(30));
        var before = await ListThrough(_queen1);
        Assert.Equal(1, before.Version);
        Assert.Equal(["127.0.0.2", "::1"], before.Targets);

        // Stop the queen that hosts the list: its shard moves and the entity recovers from the journal.
        var (host, survivor) = await HostOf("default") == _queen1 ? (_queen1, _queen2) : (_queen2, _queen1);
        await host.StopAsync();
        var after = await ListThrough(survivor);
        Assert.Equal(before.Version, after.Version);
        Assert.Equal(before.Targets, after.Targets);
        Assert.Same(survivor, await HostOf("default"));

        await _client.PublishAsync("watch", "127.0.0.3");
        await BothBeesProbe("127.0.0.3", TimeSpan.FromSeconds(30));
        Assert.Equal(2, (await ListThrough(survivor)).Version);
    }

    private async Task<SwarmHost> HostOf(string list)
    {
        foreach (var queen in new[] { _queen1, _queen2 })
        {
            if (queen.System.WhenTerminated.IsCompleted) continue;
            var state = await queen.Registry.Get<TargetListRegion>()
                .Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
            if (state.Shards.Any(s => s.EntityIds.Contains(list))) return queen;
        }
        throw new InvalidOperationException($"no queen hosts list {list}");
    }

    [Fact]
    public async Task With_two_queens_each_verdict_change_is_published_once_by_the_one_entity_that_judges_its_target()
    {
        await using var verdicts = await MqttCollector.ConnectAsync(_broker.Port, "verdict/#");
        await BothBeesProbe("127.0.0.1", TimeSpan.FromSeconds(60));
        // Both bees judged: the verdict names them both (the queens split ping/+ between them, the entity is one).
        await verdicts.WaitForAsync((t, j) => t == "verdict/127.0.0.1" && j.GetProperty("judged").GetInt32() == 2, TimeSpan.FromSeconds(30), "both bees judged");
        var first = verdicts.Messages.Count(m => m.Topic == "verdict/127.0.0.1" && m.Payload.Contains("\"judged\":2"));
        for (var i = 0; i < 3; i++) // more rounds from both: nothing new to say
        {
            _client.Clear();
            await BothBeesProbe("127.0.0.1", TimeSpan.FromSeconds(10));
        }
        Assert.Equal(1, first);
        Assert.Equal(1, verdicts.Messages.Count(m => m.Topic == "verdict/127.0.0.1" && m.Payload.Contains("\"judged\":2")));
        var region = await _queen1.Registry.Get<VerdictRegion>().Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(10));
        var other = await _queen2.Registry.Get<VerdictRegion>().Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(10));
        var entities = region.Shards.Concat(other.Shards).SelectMany(s => s.EntityIds).Where(e => e == "target:127.0.0.1").ToList();
        Assert.Single(entities); // one entity for the target across both queens
    }

    public async Task DisposeAsync()
    {
        foreach (var host in Enumerable.Reverse(_hosts)) await host.DisposeAsync();
        if (_client is not null) await _client.DisposeAsync();
        if (_broker is not null) await _broker.DisposeAsync();
    }
}
