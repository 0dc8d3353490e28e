using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Tests.Infrastructure;
using Swarm.Verdicts;

namespace Swarm.Tests.Verdicts;

/// <summary>
/// A verdict's life on the broker: taken up from a retained alert by a queen that starts anew, and cleared when no
/// bee probes its subject any more. A real mosquitto and a queen in this process.
/// </summary>
public sealed class VerdictLifecycleTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private Mosquitto _broker = null!;
    private MqttCollector _client = null!;
    private SwarmHost? _queen;
    private long _seq;

    public async Task InitializeAsync()
    {
        _broker = await Mosquitto.StartAsync();
        _client = await MqttCollector.ConnectAsync(_broker.Port, "verdict/#", "alert/#");
    }

    private async Task<SwarmHost> Queen()
    {
        return _queen = await SwarmHost.StartQueenAsync(_broker.Url,
            ("Swarm:Verdict:StaleAfter", "4s"), ("Swarm:Alerts:EnterRounds", "2"), ("Swarm:Alerts:LeaveRounds", "2"));
    }

    private async Task Rounds(string target, int count, double loss, params string[] bees)
    {
        for (var i = 0; i < count; i++)
        {
            _seq++;
            foreach (var bee in bees)
            {
                await _client.PublishAsync(Swarm.Mqtt.Topics.ForResult(target), JsonSerializer.SerializeToUtf8Bytes(new ProbeResult
                {
                    Bee = bee, Seq = _seq, Timestamp = DateTime.UtcNow, Target = target, Kind = "icmp", Sent = 10,
                    Received = (int)(10 - loss / 10), LossPercent = loss, MedianMs = loss >= 100 ? null : 5,
                }, SwarmJson.Wire.ProbeResult));
            }
            await Task.Delay(200);
        }
    }

    private List<string> On(string topic) => _client.Messages.Where(m => m.Topic == topic).Select(m => m.Payload).ToList();

    [Fact]
    public async Task A_queen_that_starts_anew_takes_up_a_raised_alert_and_clears_it_once_instead_of_raising_it_again()
    {
        // An alert raised by this target's entity before (on a queen that is gone), retained on the broker.
        var raised = new Alert("t.example", Alert.AboutTarget, Alert.Raised, VerdictKinds.Everyone, "t.example: down for everyone")
        {
            Since = DateTime.UtcNow.AddMinutes(-5), At = DateTime.UtcNow.AddMinutes(-4), Id = "target:t.example:raised:1",
        };
        await _client.PublishAsync("alert/t.example", JsonSerializer.SerializeToUtf8Bytes(raised, SwarmJson.Wire.Alert), retain: true);
        var queen = await Queen();
        await Eventually.True(() => queen.Services.GetRequiredService<VerdictBoard>().LastAlert("alert/t.example") is not null, Deadline, "the retained alert heard");

        // The target is fine now: the alert clears once ok has held, and is never raised again.
        var deadline = DateTime.UtcNow + Deadline;
        while (On("alert/t.example").Count < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no clear; heard {string.Join(" | ", On("alert/t.example"))}");
            await Rounds("t.example", 1, 0, "b1", "b2");
        }
        var states = On("alert/t.example").Select(p => JsonDocument.Parse(p).RootElement.GetProperty("state").GetString()).ToList();
        Assert.Equal([Alert.Raised, Alert.Cleared], states); // the retained one, then its clearing
        await Rounds("t.example", 5, 0, "b1", "b2");
        Assert.Equal(2, On("alert/t.example").Count);
    }

    [Fact]
    public async Task When_no_bee_probes_a_target_any_more_its_verdict_and_its_bees_verdicts_are_cleared_from_the_broker()
    {
        var queen = await Queen();
        await Rounds("gone.example", 5, 0, "b1", "b2");
        await Eventually.True(() => On("verdict/gone.example").Any(p => p.Length > 0) && On("verdict/bee/b1").Any(p => p.Length > 0), Deadline, "verdicts published");
        var board = queen.Services.GetRequiredService<VerdictBoard>();
        await Eventually.True(() => board.View("gone.example").Targets.Count == 1, Deadline, "the board has it");

        // The bees stop: after StaleAfter (4 s) and a refresh, the retained verdicts are emptied.
        await Eventually.True(() => On("verdict/gone.example").LastOrDefault() == "" && On("verdict/bee/b1").LastOrDefault() == "", Deadline,
            () => $"cleared; heard: {string.Join(" | ", On("verdict/gone.example"))}");
        await Eventually.True(() => board.View("gone.example").Targets.Count == 0 && board.View().Bees.All(b => b.Bee != "b1"), Deadline, "the board forgot them");
    }

    public async Task DisposeAsync()
    {
        if (_queen is not null) await _queen.DisposeAsync();
        await _client.DisposeAsync();
        await _broker.DisposeAsync();
    }
}
