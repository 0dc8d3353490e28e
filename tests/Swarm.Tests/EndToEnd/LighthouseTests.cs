using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.EndToEnd;

/// <summary>The real Lighthouse and Node binaries, as processes on loopback, forming one cluster.</summary>
public sealed class LighthouseTests : IDisposable
{
    private readonly TempDir _data = new();

    [Fact]
    public async Task A_node_joins_the_lighthouse_seed_and_keeps_publishing()
    {
        var lighthousePort = Ports.Free();
        var seed = $"akka.tcp://swarm@127.0.0.1:{lighthousePort}";
        await using var lighthouse = NodeProcess.StartLighthouse(new Dictionary<string, string>
        {
            ["CLUSTER_IP"] = "127.0.0.1",
            ["CLUSTER_PORT"] = lighthousePort.ToString(),
        });
        await lighthouse.WaitForOutputAsync($"seeds {seed}", TimeSpan.FromSeconds(20));

        var mqttPort = Ports.Free();
        await using var node = NodeProcess.Start(new Dictionary<string, string>
        {
            ["Swarm__DataDir"] = _data.Path,
            ["Swarm__Mqtt__EmbeddedPort"] = mqttPort.ToString(),
            ["Swarm__Management__Url"] = $"http://127.0.0.1:{Ports.Free()}",
            ["Swarm__Bee__Id"] = "joined-bee",
            ["CLUSTER_SEEDS"] = seed,
        });

        await node.WaitForOutputAsync($"Welcome from [{seed}]", TimeSpan.FromSeconds(30));
        // The lighthouse moves itself to Up first: a second such line is the node's admission.
        await Eventually.True(() => lighthouse.Output.Split('\n').Count(l => l.Contains("Leader is moving node") && l.Contains("to [Up]")) >= 2,
            TimeSpan.FromSeconds(30), "the lighthouse admitting the node");
        await using var client = await MqttCollector.ConnectAsync(mqttPort, "ping/+");
        await client.WaitForAsync((t, _) => t == "ping/127.0.0.1", TimeSpan.FromSeconds(15), "a result from the node in the lighthouse's cluster");
    }

    [Fact]
    public async Task A_lighthouse_with_a_bad_seed_exits_2_naming_it()
    {
        await using var lighthouse = NodeProcess.StartLighthouse(new Dictionary<string, string> { ["CLUSTER_SEEDS"] = "lighthouse-0:4053" });

        Assert.Equal(2, await lighthouse.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Swarm:Cluster:Seeds: 'lighthouse-0:4053' is not a seed address", lighthouse.Output);
    }

    public void Dispose() => _data.Dispose();
}
