using System.Text.Json;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Tests.Infrastructure;
using Swarm.Verdicts;
using Xunit.Abstractions;

namespace Swarm.Tests.Verdicts;

/// <summary>
/// What the verdict parts read crosses a trust boundary: <c>verdict/#</c> (every node's board, hence the API and the
/// page) and <c>ping/+</c> (the queens' judges and every node's round history). Generated payloads, valid then
/// damaged, never throw, and what is taken is well-formed. Fixed seed in CI; <c>SWARM_FUZZ_RUNS</c> and
/// <c>SWARM_FUZZ_SEED</c> change it.
/// </summary>
public sealed class VerdictFuzzTests(ITestOutputHelper output)
{
    private static int Runs => int.TryParse(Environment.GetEnvironmentVariable("SWARM_FUZZ_RUNS"), out var n) ? n : 10_000;
    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("SWARM_FUZZ_SEED"), out var s) ? s : 20261201;

    [Fact]
    public void Every_verdict_on_the_broker_is_taken_for_the_subject_its_topic_names_or_ignored()
    {
        var random = new Random(Seed);
        var board = new VerdictBoard();
        string[] kinds = ["ok", "everyone", "some-places", "one-path", "one-bee", "fine"];
        for (var run = 0; run < Runs; run++)
        {
            var target = $"t{random.Next(40)}.example";
            var bee = $"bee-{random.Next(20)}";
            string valid, topic;
            if (random.Next(3) == 0)
            {
                valid = JsonSerializer.Serialize(new BeeVerdict(bee, kinds[random.Next(kinds.Length)], "words")
                {
                    Evidence = [new BeeTargetView(target, "lossy") { Shared = random.Next(2) == 0 }],
                }, SwarmJson.Wire.BeeVerdict);
                topic = random.Next(10) == 0 ? $"verdict/bee/bee-{random.Next(20)}" : $"verdict/bee/{bee}";
            }
            else
            {
                valid = JsonSerializer.Serialize(new TargetVerdict(target, kinds[random.Next(kinds.Length)], "words")
                {
                    Bees = Enumerable.Range(0, random.Next(0, 4)).Select(i => new PairView($"bee-{i}", "ok") { Loss = random.Next(100) }).ToList(),
                }, SwarmJson.Wire.TargetVerdict);
                topic = random.Next(10) switch
                {
                    0 => $"verdict/t{random.Next(40)}.example", // a verdict for another target than its topic's: forged
                    1 => "verdict/" + Mutations.Hostile[random.Next(Mutations.Hostile.Length)],
                    _ => $"verdict/{target}",
                };
            }
            board.Heard(topic, random.Next(50) == 0 ? [] : Mutations.Mutate(random, valid));
        }
        var view = board.View();
        var matrix = board.Matrix();
        Assert.NotEmpty(view.Targets);
        Assert.NotEmpty(view.Bees);
        Assert.All(view.Targets, v =>
        {
            Assert.Contains(v.Verdict, kinds[..5]);
            Assert.NotNull(v.Text);
            Assert.All(v.Bees, b => Assert.NotNull(b.Bee));
        });
        Assert.All(view.Bees, b => Assert.Contains(b.Verdict, kinds[..5]));
        Assert.Equal(view.Targets.Count, matrix.Rows.Count);
        Assert.NotEmpty(JsonSerializer.SerializeToUtf8Bytes(matrix, SwarmJson.Wire.MatrixView)); // what /api/matrix writes
        Assert.True(board.Ignored > 0);
        output.WriteLine($"{view.Targets.Count} targets, {view.Bees.Count} bees on the board, {board.Ignored} payloads ignored");
    }

    [Fact]
    public void Every_result_on_ping_is_judged_and_kept_well_formed_or_dropped()
    {
        var random = new Random(Seed);
        var settings = new VerdictSettings();
        var judges = new Dictionary<string, TargetJudge>();
        var history = new RoundHistory(maxSeries: 50, points: 20);
        var (taken, dropped) = (0, 0);
        var now = DateTime.UtcNow;
        for (var run = 0; run < Runs; run++)
        {
            var target = $"t{random.Next(10)}.example";
            var sent = random.Next(0, 12);
            var received = random.Next(0, sent + 1);
            var valid = JsonSerializer.Serialize(new ProbeResult
            {
                Bee = $"bee-{random.Next(80)}", Seq = random.Next(1, 1000), Timestamp = now, Target = target, Kind = "icmp",
                Sent = sent, Received = received, LossPercent = sent == 0 ? 100 : 100.0 * (sent - received) / sent,
                MedianMs = received > 0 ? random.NextDouble() * 300 : null, MinMs = received > 0 ? random.NextDouble() : null,
                MaxMs = received > 0 ? random.NextDouble() * 1000 : null, P95Ms = received > 0 ? random.NextDouble() * 500 : null,
            }, SwarmJson.Wire.ProbeResult);
            var topic = random.Next(10) == 0 ? "ping/" + Mutations.Hostile[random.Next(Mutations.Hostile.Length)] : $"ping/{target}";
            if (VerdictFeed.Read(topic, Mutations.Mutate(random, valid), metrics: null) is not { } r)
            {
                dropped++;
                continue;
            }
            taken++;
            if (!judges.TryGetValue(r.Target, out var judge)) judges[r.Target] = judge = new TargetJudge(r.Target, settings);
            judge.Observe(r, now.AddSeconds(run));
            history.Add(r);
        }
        Assert.True(taken > 0 && dropped > 0, $"the generator reaches both sides: taken {taken}, dropped {dropped}");
        Assert.InRange(history.Count, 1, 50);
        foreach (var judge in judges.Values)
        {
            var (verdict, _) = judge.Evaluate(now.AddSeconds(Runs));
            Assert.Contains(verdict.Verdict, new[] { "ok", "everyone", "some-places", "one-path" });
            Assert.All(verdict.Bees, b =>
            {
                Assert.InRange(b.Loss, 0, 100);
                Assert.True(b.RttMs is null || double.IsFinite(b.RttMs.Value));
                Assert.True(b.BaselineMs is null || double.IsFinite(b.BaselineMs.Value));
            });
            foreach (var bee in history.BeesOf(judge.Target))
                Assert.All(history.Read(judge.Target, bee), p => Assert.InRange(p.Loss, 0, 100));
        }
        output.WriteLine($"taken {taken}, dropped {dropped}, {judges.Count} targets judged, {history.Count} series kept");
    }
}
