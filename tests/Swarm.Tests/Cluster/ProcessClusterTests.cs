using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Cluster;

/// <summary>The real Lighthouse and Node binaries as processes on 127.0.0.x, sharing mosquitto and PostgreSQL.</summary>
public sealed class ProcessClusterTests : IAsyncLifetime
{
    private readonly List<NodeProcess> _processes = [];
    private readonly TempDir _data = new();
    private Mosquitto _broker = null!;
    private MqttCollector _client = null!;
    private string _journal = null!;
    private readonly int _lighthousePort = Ports.Free();

    public async Task InitializeAsync()
    {
        _broker = await Mosquitto.StartAsync();
        _client = await MqttCollector.ConnectAsync(_broker.Port, "ping/+");
        _journal = await Postgres.NewDatabaseAsync();
    }

    private string Seed => $"akka.tcp://swarm@127.0.0.1:{_lighthousePort}";

    private NodeProcess Lighthouse()
    {
        var process = NodeProcess.StartLighthouse(new Dictionary<string, string>
        {
            ["CLUSTER_IP"] = "127.0.0.1",
            ["CLUSTER_PORT"] = _lighthousePort.ToString(),
            ["Swarm__Cluster__DownAfter"] = "2s",
        });
        _processes.Add(process);
        return process;
    }

    private NodeProcess Node(string id, string roles, string ip)
    {
        var process = NodeProcess.Start(new Dictionary<string, string>
        {
            ["Swarm__Roles"] = roles,
            ["Swarm__Bee__Id"] = id,
            ["Swarm__DataDir"] = Path.Combine(_data.Path, id),
            ["Swarm__Mqtt__Brokers__0"] = _broker.Url,
            ["Swarm__Persistence__Provider"] = "postgresql",
            ["Swarm__Persistence__ConnectionString"] = _journal,
            ["Swarm__Management__Url"] = $"http://127.0.0.1:{Ports.Free()}",
            ["Swarm__Probe__Interval"] = "1s",
            ["Swarm__Probe__Count"] = "2",
            ["Swarm__Probe__Spacing"] = "50ms",
            ["Swarm__Probe__Timeout"] = "500ms",
            ["Swarm__Targets__Default"] = "127.0.0.1",
            ["Swarm__Cluster__DownAfter"] = "2s",
            ["CLUSTER_IP"] = ip,
            ["CLUSTER_SEEDS"] = Seed,
        });
        _processes.Add(process);
        return process;
    }

    private async Task Probing(string bee, string target, TimeSpan timeout)
    {
        try
        {
            await _client.WaitForAsync((t, j) => t == $"ping/{target}" && j.GetProperty("bee").GetString() == bee, timeout, $"{bee} probing {target}");
        }
        catch (TimeoutException e)
        {
            // What the processes said is the only way to know why, after the fact.
            // Its first lines say how it started (a port it could not bind ends it there), its last ones how it ended.
            var tails = _processes.Select(p => p.Output.Split('\n')).Select((lines, i) =>
                $"--- process {_processes[i].Pid}:\n{string.Join('\n', lines.Take(15))}\n[...]\n{string.Join('\n', lines.Skip(15).TakeLast(40))}");
            throw new TimeoutException(e.Message + "\n" + string.Join('\n', tails), e);
        }
    }

    [Fact]
    public async Task After_kill_9_of_one_node_the_others_keep_working_and_the_list_survives()
    {
        Lighthouse();
        var a = Node("node-a", "queen,bee", "127.0.0.2");
        Node("node-b", "queen,bee", "127.0.0.3");
        await Task.WhenAll(Probing("node-a", "127.0.0.1", TimeSpan.FromSeconds(60)), Probing("node-b", "127.0.0.1", TimeSpan.FromSeconds(60)));
        await _client.PublishAsync("watch", "127.0.0.5");
        await Task.WhenAll(Probing("node-a", "127.0.0.5", TimeSpan.FromSeconds(15)), Probing("node-b", "127.0.0.5", TimeSpan.FromSeconds(15)));

        await a.KillAsync();
        _client.Clear();

        // node-b goes on with the list it had; once node-a is downed, the list's shard (wherever it was) answers on node-b.
        await Probing("node-b", "127.0.0.5", TimeSpan.FromSeconds(10));
        await _client.PublishAsync("watch", """{"add": ["127.0.0.6"]}""");
        await Probing("node-b", "127.0.0.6", TimeSpan.FromSeconds(60));
        Assert.DoesNotContain(_client.Messages, m => m.Payload.Contains("\"bee\":\"node-a\""));
    }

    [Fact]
    public async Task A_bee_cut_off_keeps_probing_its_last_list_and_converges_when_the_cluster_returns()
    {
        var lighthouse = Lighthouse();
        var queen = Node("queen", "queen", "127.0.0.2");
        var bee = Node("lonely", "bee", "127.0.0.4");
        await Probing("lonely", "127.0.0.1", TimeSpan.FromSeconds(60));
        await _client.PublishAsync("watch", "127.0.0.7");
        await Probing("lonely", "127.0.0.7", TimeSpan.FromSeconds(15));

        await Task.WhenAll(lighthouse.KillAsync(), queen.KillAsync());

        // Alone, the bee is the minority: the Split Brain Resolver downs it and it exits 3 for its supervisor (us) to restart.
        Assert.Equal(3, await bee.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        _client.Clear();
        bee = Node("lonely", "bee", "127.0.0.4");
        await Probing("lonely", "127.0.0.7", TimeSpan.FromSeconds(30)); // from its journal, with no cluster at all

        Lighthouse();
        Node("queen", "queen", "127.0.0.2");
        await _client.PublishAsync("watch", "127.0.0.8");
        await Probing("lonely", "127.0.0.8", TimeSpan.FromSeconds(90));
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes) await process.DisposeAsync();
        if (_client is not null) await _client.DisposeAsync();
        if (_broker is not null) await _broker.DisposeAsync();
        _data.Dispose();
    }
}
