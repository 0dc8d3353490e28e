using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Swarm.Protocol;
using Swarm.Tests.Infrastructure;
using Swarm.Verdicts;

namespace Swarm.Tests.Verdicts;

/// <summary>
/// A queen judging what a real mosquitto carries on <c>ping/+</c>: rounds of three bees against two targets, published
/// as bees publish them, verdicts and alerts read back from the broker, the webhook delivered to a real HTTP receiver.
/// </summary>
public sealed class VerdictNodeTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly string[] Bees = ["b1", "b2", "c"];
    private static readonly string[] Targets = ["a.example", "b.example"];
    private Mosquitto _broker = null!;
    private MqttCollector _client = null!;
    private TestHttpServer _receiver = null!;
    private SwarmHost _queen = null!;
    private long _seq;

    public async Task InitializeAsync()
    {
        _broker = await Mosquitto.StartAsync();
        _client = await MqttCollector.ConnectAsync(_broker.Port, "verdict/#", "alert/#");
        _receiver = new TestHttpServer { Status = 503 }; // fails until the test lets it answer
        _queen = await SwarmHost.StartQueenAsync(_broker.Url,
            ("Swarm:Verdict:StaleAfter", "30s"),
            // Three rounds: bee c's link verdict (which takes its view out of b.example's) lands within one, even on a loaded machine.
            ("Swarm:Alerts:EnterRounds", "3"),
            ("Swarm:Alerts:LeaveRounds", "2"),
            ("Swarm:Alerts:Webhook", $"http://127.0.0.1:{_receiver.Port}/hooks/swarm?key=secret"));
    }

    /// <summary>One round from every bee against every target, at the loss the fault gives it.</summary>
    private async Task Round(Func<string, string, double> loss)
    {
        _seq++;
        foreach (var bee in Bees)
            foreach (var target in Targets)
            {
                var lost = loss(bee, target);
                var result = new ProbeResult
                {
                    Bee = bee, Seq = _seq, Timestamp = DateTime.UtcNow, Target = target, Kind = "icmp", Location = bee == "c" ? "home" : "dc",
                    Connection = bee == "c" ? "dsl" : "ethernet", Sent = 10, Received = (int)(10 - lost / 10), LossPercent = lost, MedianMs = 20,
                };
                await _client.PublishAsync(Swarm.Mqtt.Topics.ForResult(target), JsonSerializer.SerializeToUtf8Bytes(result, Swarm.Serialization.SwarmJson.Wire.ProbeResult));
            }
    }

    /// <summary>Rounds every 200 ms until the condition holds.</summary>
    private async Task RoundsUntil(Func<string, string, double> loss, Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{what}; heard: {string.Join(" | ", _client.Messages.TakeLast(6).Select(m => m.Topic + " " + m.Payload))}");
            await Round(loss);
            await Task.Delay(200);
        }
    }

    private JsonElement? Latest(string topic)
    {
        var last = _client.Messages.LastOrDefault(m => m.Topic == topic);
        return last.Topic is null ? null : JsonDocument.Parse(last.Payload).RootElement;
    }

    private string? VerdictOn(string topic) => Latest(topic)?.GetProperty("verdict").GetString();

    private List<string> Alerts(string topic) =>
        _client.Messages.Where(m => m.Topic == topic).Select(m => JsonDocument.Parse(m.Payload).RootElement.GetProperty("state").GetString()!).ToList();

    [Fact]
    public async Task A_lossy_target_is_everyone_a_lossy_link_is_one_bee_each_alert_raises_and_clears_once_and_the_webhook_gets_them_after_failing()
    {
        await RoundsUntil((_, _) => 0, () => VerdictOn("verdict/a.example") == "ok" && VerdictOn("verdict/b.example") == "ok", "both targets judged ok");

        double Faults(string bee, string target) => (target == "a.example" ? 30 : 0) + (bee == "c" ? 30 : 0);
        await RoundsUntil(Faults, () => Alerts("alert/a.example").Count == 1 && Alerts("alert/bee/c").Count == 1, "alerts raised for a.example and bee c");
        Assert.Equal(VerdictKinds.Everyone, VerdictOn("verdict/a.example"));
        Assert.Equal(VerdictKinds.OneBee, VerdictOn("verdict/bee/c"));
        Assert.Equal(VerdictKinds.Ok, VerdictOn("verdict/b.example"));
        Assert.Equal(VerdictKinds.Ok, VerdictOn("verdict/bee/b1"));
        var a = Latest("verdict/a.example")!.Value;
        Assert.Equal(2, a.GetProperty("judged").GetInt32());
        Assert.Equal(["b1", "b2", "c"], a.GetProperty("bees").EnumerateArray().Select(b => b.GetProperty("bee").GetString()));
        Assert.True(a.GetProperty("bees")[2].GetProperty("own_link").GetBoolean());
        Assert.Equal([Alert.Raised], Alerts("alert/a.example"));
        Assert.Empty(Alerts("alert/b.example"));

        // Every node's board hears the same, and answers /api/verdicts and the metrics from it.
        var board = _queen.Services.GetRequiredService<VerdictBoard>();
        await Eventually.True(() => board.View("a.example").Targets is [{ Verdict: VerdictKinds.Everyone }], Deadline, "the board has a.example's verdict");
        Assert.Contains(board.View().Bees, b => b is { Bee: "c", Verdict: VerdictKinds.OneBee });

        // The receiver failed the first deliveries (503); once it answers, both alerts arrive, each once.
        await Eventually.True(() => _receiver.Requests >= 2, Deadline, "the webhook tried again after a 503");
        _receiver.Status = 200;
        await Eventually.True(() => _receiver.Received.Count(r => r.Answered == 200) == 2, Deadline, "both raised alerts delivered");
        var delivered = _receiver.Received.Where(r => r.Answered == 200).Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
        Assert.All(_receiver.Received, r => Assert.Equal("POST /hooks/swarm?key=secret HTTP/1.1", r.Line));
        Assert.Equal(["a.example", "c"], delivered.Select(d => d.GetProperty("subject").GetString()).Order());
        Assert.All(delivered, d => Assert.Equal(Alert.Raised, d.GetProperty("state").GetString()));

        await RoundsUntil((_, _) => 0, () => Alerts("alert/a.example").Count == 2 && Alerts("alert/bee/c").Count == 2, "alerts cleared");
        Assert.Equal([Alert.Raised, Alert.Cleared], Alerts("alert/a.example"));
        Assert.Equal([Alert.Raised, Alert.Cleared], Alerts("alert/bee/c"));
        Assert.Equal(VerdictKinds.Ok, VerdictOn("verdict/a.example"));
        Assert.Equal(VerdictKinds.Ok, VerdictOn("verdict/bee/c"));
        await Eventually.True(() => _receiver.Received.Count(r => r.Answered == 200) == 4, Deadline, "both cleared alerts delivered");

        // A few more clean rounds: nothing new is raised.
        for (var i = 0; i < 5; i++) await Round((_, _) => 0);
        Assert.Equal(2, Alerts("alert/a.example").Count);
        Assert.Equal(2, Alerts("alert/bee/c").Count);
        Assert.Empty(Alerts("alert/bee/b1"));
    }

    [Fact]
    public async Task Results_that_are_not_results_are_counted_and_judge_nothing()
    {
        await _client.PublishAsync("ping/a.example", "not json");
        await _client.PublishAsync("ping/a.example", """{"bee":"x","seq":1,"ts":"2026-01-01T00:00:00Z","target":"b.example","kind":"icmp"}""");
        await _client.PublishAsync("ping/a.example", """{"bee":"bad bee","seq":1,"ts":"2026-01-01T00:00:00Z","target":"a.example","kind":"icmp"}""");
        await RoundsUntil((_, _) => 0, () => VerdictOn("verdict/a.example") == "ok", "a.example judged");
        var metrics = await Scrape();
        Assert.Contains("swarm_verdict_results_total{outcome=\"invalid\"} 3", metrics);
        Assert.Contains("swarm_verdict{target=\"a.example\",verdict=\"ok\"} 1", metrics);
        Assert.DoesNotContain("bad bee", string.Join("", _client.Messages.Select(m => m.Payload)));
    }

    private async Task<string> Scrape()
    {
        using var stream = new MemoryStream();
        await _queen.Services.GetRequiredService<Swarm.Metrics.SwarmMetrics>().Registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    public async Task DisposeAsync()
    {
        await _queen.DisposeAsync();
        await _client.DisposeAsync();
        await _receiver.DisposeAsync();
        await _broker.DisposeAsync();
    }
}
