using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.EndToEnd;

/// <summary>
/// The new kinds through a whole node, as any other target: scheduled by the bee, numbered by the outbox, published on
/// <c>ping/&lt;target&gt;</c>, counted in the metrics. A DNS question to a dnsmasq on loopback, and a name asked over
/// both families, whose two results come from one round.
/// </summary>
public sealed class NewProbeKindsTests
{
    [Fact]
    public async Task Dns_and_both_family_targets_flow_from_the_bee_to_the_broker_and_the_metrics()
    {
        await using var dns = await Dnsmasq.StartAsync();
        using var data = new TempDir();
        var (management, broker) = (Ports.Free(), Ports.Free());
        var question = $"dns://127.0.0.1:{dns.Port}/alias.swarm.test?type=A";
        await using var node = NodeProcess.StartProbing("kinds-bee", data.Path, management, $"{question} icmp://localhost?family=both",
            ("Swarm__Mqtt__EmbeddedPort", broker.ToString()), ("Swarm__Probe__AllowNetworks__0", "127.0.0.0/8"));
        await using var results = await MqttCollector.ConnectAsync(broker, "ping/#");

        var answer = await results.WaitForAsync((topic, r) => r.GetProperty("target").GetString() == question && r.GetProperty("seq").GetInt64() > 0,
            TimeSpan.FromSeconds(60), $"a DNS result; node said:\n{node.Output}");
        Assert.Equal(("dns", "NOERROR", "udp"), (answer.GetProperty("kind").GetString(), answer.GetProperty("dns").GetProperty("rcode").GetString(),
            answer.GetProperty("dns").GetProperty("transport").GetString()));
        Assert.Equal(["www.swarm.test.", "192.0.2.10"], answer.GetProperty("dns").GetProperty("answers").EnumerateArray().Select(a => a.GetProperty("data").GetString()));
        Assert.Equal(10, answer.GetProperty("received").GetInt32());

        // One round over each family: IPv4 answers; this machine's hosts file gives localhost no IPv6 address, which the IPv6 result says.
        var v4 = await results.WaitForAsync((_, r) => r.GetProperty("target").GetString() == "icmp4://localhost", TimeSpan.FromSeconds(60), "the IPv4 result");
        var v6 = await results.WaitForAsync((_, r) => r.GetProperty("target").GetString() == "icmp6://localhost" && r.GetProperty("ts").GetString() == v4.GetProperty("ts").GetString(),
            TimeSpan.FromSeconds(60), "the IPv6 result of the same round");
        Assert.Equal((4, 10), (v4.GetProperty("family").GetInt32(), v4.GetProperty("received").GetInt32()));
        var v6Answered = v6.TryGetProperty("family", out var family) && family.GetInt32() == 6;
        Assert.True(v6Answered || v6.GetProperty("error").GetString() == "cannot resolve localhost: it has no IPv6 address", v6.ToString());

        using var http = new HttpClient();
        await Eventually.True(async () => (await http.GetStringAsync($"http://127.0.0.1:{management}/metrics")).Contains("swarm_probe_rounds_total{kind=\"dns\",status=\"up\"}"),
            TimeSpan.FromSeconds(30), "DNS rounds counted in the metrics");
    }
}
