using System.Net.Sockets;
using System.Text.Json;
using Swarm.Hosting;
using Swarm.Protocol;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Edge;

/// <summary>The edge bee as users run it: the real Swarm.Node binary, started with Swarm:Roles=edge.</summary>
public sealed class EdgeProcessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static Dictionary<string, string> EdgeEnvironment(string id, string broker, string dataDir, string management) => new()
    {
        ["Swarm__Roles"] = "edge",
        ["Swarm__Bee__Id"] = id,
        ["Swarm__Mqtt__Brokers__0"] = broker,
        ["Swarm__DataDir"] = dataDir,
        ["Swarm__Management__Url"] = management,
        ["Swarm__Probe__Interval"] = "1s",
        ["Swarm__Probe__Count"] = "2",
        ["Swarm__Probe__Spacing"] = "10ms",
        ["Swarm__Probe__Timeout"] = "500ms",
    };

    /// <summary><c>swarm ... --json</c>, or null while the endpoint does not answer yet (its web server starts last).</summary>
    private static async Task<JsonElement?> Json(params string[] args)
    {
        var (code, output) = await SwarmCommand.RunAsync([.. args, "--json"]);
        if (code != 0) return null;
        try { return JsonDocument.Parse(output).RootElement; }
        catch (JsonException) { return null; }
    }

    /// <summary>The edge bee from Swarm.Node.dll, or the native one (NativeAOT, what a Raspberry Pi runs).</summary>
    private static NodeProcess StartEdge(bool native, Dictionary<string, string> environment) =>
        native ? NodeProcess.StartNativeEdge(environment) : NodeProcess.Start(environment);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Restarted_with_the_broker_down_an_edge_bee_probes_its_journaled_list_delivers_without_a_gap_and_adopts_what_came_meanwhile(bool native)
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var collector = await MqttCollector.ConnectAsync(broker.Port, persistent: true, "ping/+");
        await using var queen = await SwarmHost.StartAsync(("Swarm:Roles", "queen"), ("Swarm:Bee:Id", "queen-r"),
            ("Swarm:Mqtt:Brokers:0", broker.Url), ("Swarm:Targets:Default", "127.0.0.1"));
        using var data = new TempDir();
        var management = $"http://127.0.0.1:{Ports.Free()}";
        var environment = EdgeEnvironment("edge-r", broker.Url, data.Path, management);

        await using (var first = StartEdge(native, environment))
        {
            await Eventually.True(() => collector.Sequences("edge-r").Count >= 3, Deadline, () => $"results of the edge bee:\n{first.Output}");
            await broker.ShutdownAsync();
            Assert.Equal(0, await first.StopAsync(TimeSpan.FromSeconds(30)));
        }

        await using var second = StartEdge(native, environment);
        await second.WaitForOutputAsync("1 targets from its journal", Deadline);
        // It probes with no broker: its results wait in the outbox.
        await Eventually.True(async () =>
        {
            var bees = await Json("bees", "--host", management);
            return bees?.EnumerateArray().Single().GetProperty("outboxBacklog").GetInt32() >= 3;
        }, Deadline, "results of the restarted edge bee kept in its outbox");
        // Meanwhile the queen takes a new version of the list; it cannot publish it yet.
        var lists = new Swarm.Management.SwarmManagement(queen.System,
            () => queen.Registry.TryGet<TargetListRegion>(out var region) ? region : null, new Swarm.Management.RecentLog());
        await lists.ChangeTargetsAsync("default", "set", new TargetsChange(["127.0.0.1", "127.0.0.5"]));

        await broker.StartProcessAsync();

        // Both links come back with their backoff (up to 30 s), then the queen publishes the version it could not.
        await collector.WaitForAsync((topic, json) => topic == "ping/127.0.0.5" && json.GetProperty("bee").GetString() == "edge-r", 2 * Deadline,
            "a result for the target added while the broker was down");
        await Eventually.True(() =>
        {
            var seqs = collector.Sequences("edge-r").Distinct().Order().ToList();
            return seqs.Count > 6 && seqs.SequenceEqual(Enumerable.Range(1, seqs.Count).Select(i => (long)i));
        }, Deadline, () => $"every sequence from 1, no gap: {string.Join(' ', collector.Sequences("edge-r").Distinct().Order())}");
    }

    [Fact]
    public async Task The_native_build_runs_edge_bees_only_and_says_so_for_a_cluster_role()
    {
        using var data = new TempDir();
        var environment = EdgeEnvironment("native-bee", "mqtt://127.0.0.1:1", data.Path, $"http://127.0.0.1:{Ports.Free()}");
        environment["Swarm__Roles"] = "bee";
        await using var node = NodeProcess.StartNativeEdge(environment);
        Assert.Equal(2, await node.WaitForExitAsync(Deadline));
        Assert.Contains("this native build runs edge bees only (Swarm:Roles=edge)", node.Output);
    }

    [Fact]
    public async Task The_native_edge_bee_gives_back_its_start_up_pages_and_keeps_probing_and_answering()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var collector = await MqttCollector.ConnectAsync(broker.Port, persistent: true, "ping/+");
        await collector.PublishAsync("targets/default", System.Text.Encoding.UTF8.GetBytes("""{"list":"default","version":1,"targets":["127.0.0.1"]}"""), retain: true);
        using var data = new TempDir();
        var management = $"http://127.0.0.1:{Ports.Free()}";
        await using var bee = NodeProcess.StartNativeEdge(EdgeEnvironment("edge-pages", broker.Url, data.Path, management));

        await bee.WaitForOutputAsync("start-up pages of Swarm.Node", StartupPages.After + Deadline);
        var line = bee.Output.Split('\n').Single(l => l.Contains("start-up pages of Swarm.Node"));
        var rss = System.Text.RegularExpressions.Regex.Match(line, @"gave back ([\d.]+) MiB .*RSS (\d+) \S+ (\d+) MiB");
        Assert.True(rss.Success, line);
        Assert.True(double.Parse(rss.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 10, line);
        Assert.True(int.Parse(rss.Groups[3].Value) < int.Parse(rss.Groups[2].Value) - 10, line);
        Assert.DoesNotContain("kept as they were", line);

        // The pages come back as the bee needs them: it goes on probing, publishing and answering.
        var before = collector.Sequences("edge-pages").Count;
        await Eventually.True(() => collector.Sequences("edge-pages").Count >= before + 3, Deadline, () => $"results after the pages were given back:\n{bee.Output}");
        await Eventually.True(async () => (await Json("bees", "--host", management))?.EnumerateArray().Single().GetProperty("bee").GetString() == "edge-pages",
            Deadline, "swarm bees from the native edge bee");
        Assert.Equal(0, await bee.StopAsync(TimeSpan.FromSeconds(30)));
    }

    [SkippableFact]
    public async Task An_edge_bee_behind_nat_gets_its_list_delivers_its_results_and_shows_in_swarm_bees()
    {
        var (net, reason) = await NatNetwork.TryCreateAsync();
        Skip.If(net is null, reason);
        await using var _ = net;
        await using var broker = await Mosquitto.StartAsync(b => $"listener {b.Port} 127.0.0.1\nlistener {b.Port} {net!.Outside}\nallow_anonymous true");
        var url = $"mqtt://{net!.Outside}:{broker.Port}";
        await using var collector = await MqttCollector.ConnectAsync(net.Outside.ToString(), broker.Port, false, "ping/+");
        var queenManagement = $"http://127.0.0.1:{Ports.Free()}";
        using var queenData = new TempDir();
        await using var queen = NodeProcess.Start(new Dictionary<string, string>
        {
            ["Swarm__Roles"] = "bee,queen",
            ["Swarm__Bee__Id"] = "queen-n",
            ["Swarm__Mqtt__Brokers__0"] = url,
            ["Swarm__DataDir"] = queenData.Path,
            ["Swarm__Management__Url"] = queenManagement,
            ["Swarm__Targets__Default"] = "127.0.0.1",
        });
        using var edgeData = new TempDir();
        var edgePort = Ports.Free();
        await using var edge = NodeProcess.StartIn(net.Home, EdgeEnvironment("home-1", url, edgeData.Path, $"http://127.0.0.1:{edgePort}"));

        // The list reaches the bee through the NAT, and its results come back out.
        await collector.WaitForAsync((topic, json) => topic == "ping/127.0.0.1" && json.GetProperty("bee").GetString() == "home-1", Deadline,
            $"a result of the edge bee behind NAT");
        await Eventually.True(async () => (await Json("bees", "--host", queenManagement))?.EnumerateArray()
            .Any(b => b.GetProperty("bee").GetString() == "home-1" && b.GetProperty("kind").GetString() == "edge") == true, Deadline, "home-1 in swarm bees, as an edge bee");

        // The broker saw it arrive from the router's address, not its own: it is behind NAT. And nothing dials into it:
        // the NAT's outside address forwards nothing in, not even to the port the bee's endpoint listens on at home.
        Assert.Contains($"New client connected from {net.RouterOutside}", broker.Log);
        Assert.DoesNotContain(net.HomeAddress.ToString(), broker.Log);
        using var dialIn = new TcpClient();
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => dialIn.ConnectAsync(net.RouterOutside, edgePort).WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(refused is SocketException or TimeoutException, refused.ToString());
    }
}
