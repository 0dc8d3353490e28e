using System.Diagnostics;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.EndToEnd;

/// <summary>The Node binary run as a user runs it: no configuration but free ports and a throwaway data folder.</summary>
public sealed class NodeProcessTests : IDisposable
{
    private readonly TempDir _data = new();
    private readonly int _mqttPort = Ports.Free();

    private Dictionary<string, string> Environment(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string>
        {
            ["Swarm__DataDir"] = _data.Path,
            ["Swarm__Mqtt__EmbeddedPort"] = _mqttPort.ToString(),
            ["Swarm__Management__Url"] = $"http://127.0.0.1:{Ports.Free()}",
            ["Swarm__Bee__Id"] = "e2e-bee",
        };
        foreach (var (k, v) in extra) env[k] = v;
        return env;
    }

    [Fact]
    public async Task Node_alone_publishes_on_its_embedded_broker_and_keeps_the_watch_list_across_restart()
    {
        // Deadlines fit a loaded 2-core machine; how fast it really is, is measured in bench/, not asserted here.
        await using (var node = NodeProcess.Start(Environment()))
        await using (var client = await MqttCollector.ConnectAsync(_mqttPort, "ping/+", "watch/errors"))
        {
            await client.WaitForAsync((t, j) => t.StartsWith("ping/") && j.GetProperty("bee").GetString() == "e2e-bee",
                TimeSpan.FromSeconds(60), "a result after start");
            await node.WaitForOutputAsync("mosquitto_sub -h 127.0.0.1 -p " + _mqttPort, TimeSpan.FromSeconds(10));

            await client.PublishAsync("watch", "127.0.0.3 ::1");
            await client.WaitForAsync((t, _) => t == "ping/127.0.0.3", TimeSpan.FromSeconds(30), "a result for the new list");

            await client.PublishAsync("watch", "this is; garbage!");
            var error = await client.WaitForAsync((t, _) => t == "watch/errors", TimeSpan.FromSeconds(5), "an answer to garbage");
            Assert.Equal("2 entries refused: 'is;': not a host, tcp://host:port, http(s):// URL, dns://server/name?type=A or trace://host; 'garbage!': not a host, tcp://host:port, http(s):// URL, dns://server/name?type=A or trace://host", error.GetProperty("error").GetString());

            Assert.Equal(0, await node.StopAsync(TimeSpan.FromSeconds(20)));
        }

        await using (var node = NodeProcess.Start(Environment()))
        await using (var client = await MqttCollector.ConnectAsync(_mqttPort, "ping/+"))
        {
            // One round per target comes within the first second; the default list must not come back.
            await Eventually.True(() => client.Messages.Count >= 2, TimeSpan.FromSeconds(15), "a round per target after restart");
            Assert.Equal(new HashSet<string> { "ping/127.0.0.3", "ping/::1" }, client.Messages.Take(2).Select(m => m.Topic).ToHashSet());
            await node.StopAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task A_killed_bee_leaves_its_last_will_on_rip_and_a_stopped_one_says_offline()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var client = await MqttCollector.ConnectAsync(broker.Port, "ping/+", "rip/+");
        await using var node = NodeProcess.Start(Environment(("Swarm__Mqtt__Brokers__0", broker.Url), ("Swarm__Bee__Id", "doomed"), ("Swarm__Bee__Location", "lab")));
        await client.WaitForAsync((_, j) => j.TryGetProperty("seq", out System.Text.Json.JsonElement _) && j.GetProperty("bee").GetString() == "doomed",
            TimeSpan.FromSeconds(20), "a result from the bee");

        await node.KillAsync();

        var will = await client.WaitForAsync((t, j) => t == "rip/doomed" && j.GetProperty("status").GetString() == "dead",
            TimeSpan.FromSeconds(30), "the last will on rip/doomed");
        Assert.Equal("lab", will.GetProperty("location").GetString());

        // Retained: a newcomer sees at once that this bee is dead.
        await using var newcomer = await MqttCollector.ConnectAsync(broker.Port, "rip/+");
        var seen = await newcomer.WaitForAsync((t, _) => t == "rip/doomed", TimeSpan.FromSeconds(10), "the retained status");
        Assert.Equal("dead", seen.GetProperty("status").GetString());

        await using var polite = NodeProcess.Start(Environment(("Swarm__Mqtt__Brokers__0", broker.Url), ("Swarm__Bee__Id", "polite"),
            ("Swarm__DataDir", System.IO.Path.Combine(_data.Path, "polite"))));
        await newcomer.WaitForAsync((t, j) => t == "rip/polite" && j.GetProperty("status").GetString() == "online", TimeSpan.FromSeconds(30), "polite online");
        Assert.Equal(0, await polite.StopAsync(TimeSpan.FromSeconds(20)));
        await newcomer.WaitForAsync((t, j) => t == "rip/polite" && j.GetProperty("status").GetString() == "offline", TimeSpan.FromSeconds(10), "polite offline");
    }

    [Fact]
    public async Task Invalid_configuration_exits_2_naming_the_key_and_value()
    {
        await using var node = NodeProcess.Start(Environment(("Swarm__Probe__Count", "lots"), ("Swarm__Mqtt__Brokers__0", "http://nope")));

        Assert.Equal(2, await node.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Swarm:Probe:Count = 'lots': must be a whole number from 1 to 1000", node.Output);
        Assert.Contains("Swarm:Mqtt:Brokers: 'http://nope' is not a broker URL", node.Output);
    }

    [Fact]
    public async Task Help_lists_the_configuration_keys()
    {
        await using var node = NodeProcess.Start(Environment(), "--help");

        Assert.Equal(0, await node.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Swarm:Mqtt:Brokers", node.Output);
        Assert.Contains("mosquitto_sub -h 127.0.0.1 -t 'ping/+' -v", node.Output);
    }

    public void Dispose() => _data.Dispose();
}
