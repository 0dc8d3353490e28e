using System.Text.Json;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Management;

/// <summary>The <c>swarm</c> CLI against a live cluster of processes: a Lighthouse and two nodes, sharing mosquitto.</summary>
public sealed class CliClusterTests : IAsyncLifetime
{
    private readonly List<NodeProcess> _processes = [];
    private readonly TempDir _data = new();
    private readonly int _lighthousePort = Ports.Free();
    private Mosquitto _broker = null!;
    private MqttCollector _results = null!;

    public async Task InitializeAsync()
    {
        _broker = await Mosquitto.StartAsync();
        _results = await MqttCollector.ConnectAsync(_broker.Port, "ping/+");
    }

    private string Seed => $"akka.tcp://swarm@127.0.0.1:{_lighthousePort}";

    private string StartLighthouse()
    {
        var url = $"http://127.0.0.1:{Ports.Free()}";
        _processes.Add(NodeProcess.StartLighthouse(new Dictionary<string, string>
        {
            ["CLUSTER_IP"] = "127.0.0.1",
            ["CLUSTER_PORT"] = _lighthousePort.ToString(),
            ["Swarm__Management__Url"] = url,
        }));
        return url;
    }

    private (NodeProcess Process, string Url) StartNode(string id, string roles, string ip)
    {
        var url = $"http://127.0.0.1:{Ports.Free()}";
        var process = NodeProcess.Start(new Dictionary<string, string>
        {
            ["Swarm__Roles"] = roles,
            ["Swarm__Bee__Id"] = id,
            ["Swarm__Bee__Location"] = $"{id}-site",
            ["Swarm__DataDir"] = Path.Combine(_data.Path, id),
            ["Swarm__Mqtt__Brokers__0"] = _broker.Url,
            ["Swarm__Management__Url"] = url,
            ["Swarm__Probe__Interval"] = "1s",
            ["Swarm__Probe__Count"] = "2",
            ["Swarm__Probe__Spacing"] = "50ms",
            ["Swarm__Probe__Timeout"] = "500ms",
            ["Swarm__Targets__Default"] = "127.0.0.1",
            ["CLUSTER_IP"] = ip,
            ["CLUSTER_SEEDS"] = Seed,
        });
        _processes.Add(process);
        return (process, url);
    }

    private static async Task<JsonElement> Json(params string[] args)
    {
        var (code, output) = await SwarmCommand.RunAsync([.. args, "--json"]);
        Assert.True(code == 0, $"swarm {string.Join(' ', args)} exited {code}: {output}");
        return JsonDocument.Parse(output).RootElement;
    }

    private async Task Members(string host, int count)
    {
        var last = "";
        try
        {
            await Eventually.True(async () =>
            {
                var (code, output) = await SwarmCommand.RunAsync("cluster", "show", "--json", "--host", host);
                last = output;
                if (code != 0) return false;
                var members = JsonDocument.Parse(output).RootElement.GetProperty("members").EnumerateArray().ToList();
                return members.Count == count && members.All(m => m.GetProperty("status").GetString() == "up");
            }, TimeSpan.FromSeconds(60), $"{count} members up");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; last answer: {last}\n" + string.Join('\n', _processes.Select(p => $"--- {p.Pid}:\n{string.Join('\n', p.Output.Split('\n').TakeLast(30))}")), e);
        }
    }

    [Fact]
    public async Task The_cli_shows_the_cluster_steers_targets_and_makes_a_node_leave()
    {
        var lighthouse = StartLighthouse();
        var (_, queen) = StartNode("cli-a", "queen,bee", "127.0.0.2");
        var (beeProcess, bee) = StartNode("cli-b", "bee", "127.0.0.3");

        // cluster show, asked of the Lighthouse: 3 members, all up, with their roles.
        await Members(lighthouse, 3);
        var (showCode, table) = await SwarmCommand.RunAsync("cluster", "show", "--host", lighthouse);
        Assert.Equal(0, showCode);
        Assert.Contains("(this node)", table);
        Assert.Contains("lighthouse", table);
        Assert.Contains("3 members", table);

        // sharding regions lists target-list; its stats show the default list's shard on the queen.
        var (regionsCode, regions) = await SwarmCommand.RunAsync("cluster", "sharding", "regions", "--host", queen);
        Assert.Equal(0, regionsCode);
        Assert.Contains("target-list", regions.Split('\n'));

        // targets set, through the bee-only node, with the list's own count: both bees probe the new list with it.
        var (setCode, set) = await SwarmCommand.RunAsync("targets", "set", "--list", "default", "127.0.0.9", "tcp://127.0.0.1:9", "--probe", """{"count": 2}""", "--host", bee);
        Assert.True(setCode == 0, set);
        Assert.Contains("127.0.0.9", set);
        Assert.Contains("probe: count 2", set);
        await _results.WaitForAsync((t, j) => t == "ping/127.0.0.9" && j.GetProperty("bee").GetString() == "cli-a" && j.GetProperty("sent").GetInt32() == 2,
            TimeSpan.FromSeconds(30), "cli-a probing 127.0.0.9 twice a round");
        await _results.WaitForAsync((t, j) => t == "ping/127.0.0.9" && j.GetProperty("bee").GetString() == "cli-b" && j.GetProperty("sent").GetInt32() == 2,
            TimeSpan.FromSeconds(30), "cli-b probing 127.0.0.9 twice a round");
        var (shownCode, shown) = await SwarmCommand.RunAsync("targets", "show", "--host", queen);
        Assert.True(shownCode == 0, shown);
        Assert.Contains("2 targets, probed with count 2", shown);

        var entities = await Json("cluster", "sharding", "fetch-entities", "-r", "target-list", "--host", bee);
        Assert.Contains(entities.GetProperty("nodes").EnumerateArray(), n => n.GetProperty("shards").EnumerateArray()
            .Any(s => s.GetProperty("entities").EnumerateArray().Any(e => e.GetString() == "default")));

        // bees: both, with their place, the list version they adopted and their broker.
        await Eventually.True(async () =>
        {
            var bees = (await Json("bees", "--host", lighthouse)).EnumerateArray().ToList();
            return bees.Count == 2 && bees.All(b => b.GetProperty("targets").GetInt32() == 2 && b.GetProperty("broker").GetString()!.Contains(_broker.Port.ToString()));
        }, TimeSpan.FromSeconds(30), "both bees report 2 targets and their broker");
        var report = (await Json("bees", "--host", queen)).EnumerateArray().Single(b => b.GetProperty("bee").GetString() == "cli-b");
        Assert.Equal("cli-b-site", report.GetProperty("location").GetString());
        Assert.Equal("count 2", report.GetProperty("lists")[0].GetProperty("probe").GetString()); // each list's settings, as the bee follows them
        Assert.True(report.TryGetProperty("lastResult", out _));

        // A list exactly at the byte bound reaches the bee in the other process (over DistributedPubSub, one remoting
        // message); one byte more is refused, saying why, and the list stays as it was.
        var atBound = ListOfSize(Swarm.Targets.TargetList.DefaultMaxBytes);
        // (--probe {}: back to the bees' own settings, which take no bytes of the list)
        var (boundCode, boundOutput) = await SwarmCommand.RunAsync(["targets", "set", .. atBound, "--probe", "{}", "--host", queen]);
        Assert.True(boundCode == 0, boundOutput);
        await Eventually.True(async () => (await Json("bees", "--host", lighthouse)).EnumerateArray()
            .Count(b => b.GetProperty("targets").GetInt32() == atBound.Length) == 2, TimeSpan.FromSeconds(30), "both bees adopt the list at the bound");
        var (overCode, overOutput) = await SwarmCommand.RunAsync(["targets", "set", .. ListOfSize(Swarm.Targets.TargetList.DefaultMaxBytes + 1), "--host", queen]);
        Assert.Equal(1, overCode);
        Assert.Contains($"that would make a list of {Swarm.Targets.TargetList.DefaultMaxBytes + 1} bytes, over the limit of {Swarm.Targets.TargetList.DefaultMaxBytes}", overOutput);
        var remote = await Json("targets", "show", "--host", bee); // asked through the bee-only process
        Assert.Equal(atBound, remote.GetProperty("targets").EnumerateArray().Select(t => t.GetString()!));

        // cluster leave on the bee node: it leaves, and its process ends with exit code 0.
        var (leaveCode, leave) = await SwarmCommand.RunAsync("cluster", "leave", "--host", bee);
        Assert.True(leaveCode == 0, leave);
        Assert.Equal(0, await beeProcess.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        await Members(lighthouse, 2);
    }

    /// <summary>
    /// HTTP URLs on loopback whose sizes add up to exactly <paramref name="bytes"/>. Long, so few; and refused at probe
    /// time by the address policy (loopback without AllowNetworks) without a socket or a DNS query: cheap to probe.
    /// </summary>
    private static string[] ListOfSize(int bytes)
    {
        var urls = new List<string>();
        for (var i = 0; bytes > 0; i++)
        {
            var prefix = $"http://127.0.0.1:9/p{i:D3}/";
            var length = Math.Min(bytes - 1, 2000); // each target costs its length and one separator
            if (bytes - (length + 1) is > 0 and < 100) length -= 100; // leave room for a last URL of a sensible size
            var url = prefix + new string('a', length - prefix.Length);
            urls.Add(url);
            bytes -= url.Length + 1;
        }
        return [.. urls];
    }

    [Fact]
    public async Task Scripts_can_tell_refusals_from_an_unreachable_node_by_the_exit_code()
    {
        var lighthouse = StartLighthouse();
        await Members(lighthouse, 1);

        var (unknownRegion, unknownOutput) = await SwarmCommand.RunAsync("cluster", "sharding", "region-stats", "-r", "nope", "--host", lighthouse);
        Assert.Equal(1, unknownRegion);
        Assert.Contains("no shard region 'nope'", unknownOutput);

        var (badAddress, badOutput) = await SwarmCommand.RunAsync("cluster", "down", "not-an-address", "--host", lighthouse);
        Assert.Equal(1, badAddress);
        Assert.Contains("is not a cluster address; write akka.tcp://swarm@host:port", badOutput);

        var (noTargets, noTargetsOutput) = await SwarmCommand.RunAsync("targets", "show", "--host", lighthouse);
        Assert.Equal(1, noTargets);
        Assert.Contains("ask a swarm node", noTargetsOutput);

        var (unreachable, unreachableOutput) = await SwarmCommand.RunAsync("cluster", "show", "--host", $"http://127.0.0.1:{Ports.Free()}");
        Assert.Equal(2, unreachable);
        Assert.Contains("cannot reach", unreachableOutput);

        var (badArgs, _) = await SwarmCommand.RunAsync("cluster", "sharding", "region-stats");
        Assert.Equal(3, badArgs);
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes) await process.DisposeAsync();
        await _results.DisposeAsync();
        await _broker.DisposeAsync();
        _data.Dispose();
    }
}
