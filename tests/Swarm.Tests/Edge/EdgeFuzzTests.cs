using System.Text;
using System.Text.Json;
using Swarm.Edge;
using Swarm.Indexing;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Swarm.Tests.Edge;

/// <summary>
/// What edge bees and the seed's agents bring in crosses a trust boundary: <c>targets/&lt;list&gt;</c> (read by every
/// edge bee), <c>rip/#</c> (read by every node) and the seed agents' arrays on <c>ping/+</c> (read by the indexer). Any
/// client the broker lets publish there can send anything: generated payloads (valid ones, then mutated: flipped and
/// cut bytes, wrong types, huge and deeply nested values, control characters, forged names) never throw, and what is
/// accepted is always well-formed. Fixed seed in CI; <c>SWARM_FUZZ_RUNS</c> and <c>SWARM_FUZZ_SEED</c> change it.
/// </summary>
public sealed class EdgeFuzzTests(ITestOutputHelper output)
{
    private static int Runs => int.TryParse(Environment.GetEnvironmentVariable("SWARM_FUZZ_RUNS"), out var n) ? n : 10_000;
    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("SWARM_FUZZ_SEED"), out var s) ? s : 20261201;
    private static readonly ListLimits Limits = new(MaxTargets: 100, MaxListBytes: 8192);

    [Fact]
    public void Every_published_list_is_adopted_well_formed_or_refused_with_a_reason()
    {
        var random = new Random(Seed);
        var (accepted, refused) = (0, 0);
        for (var run = 0; run < Runs; run++)
        {
            var list = random.Next(10) == 0 ? "other" : "default";
            var targets = Enumerable.Range(0, random.Next(1, 20)).Select(i => random.Next(3) switch
            {
                0 => $"127.0.{i}.{random.Next(1, 255)}",
                1 => $"tcp://h{i}.example:{random.Next(1, 65535)}",
                _ => $"h{i}.example",
            }).Distinct().ToList();
            var valid = JsonSerializer.Serialize(new { list, version = random.Next(0, 100), targets });
            var topic = random.Next(20) == 0 ? "targets/" + Mutations.Hostile[random.Next(Mutations.Hostile.Length)] : "targets/default";
            var (parsed, error) = PublishedListCheck.Parse(topic, Mutations.Mutate(random, valid), Limits);
            if (error is null)
            {
                accepted++;
                Assert.Equal("default", parsed!.List);
                Assert.True(parsed.Version >= 0);
                Assert.InRange(parsed.Targets.Count, 1, Limits.MaxTargets);
                Assert.All(parsed.Targets, t => Assert.Equal(t, ProbeTarget.Normalize(t)));
                Assert.All(parsed.Targets, t => Assert.Null(ProbeTarget.Problem(t, AddressPolicy.Default)));
            }
            else
            {
                refused++;
                Assert.DoesNotContain(error, c => char.IsControl(c)); // safe to log and to publish in a status
            }
        }
        output.WriteLine($"accepted {accepted}, refused {refused}");
        Assert.True(accepted > 0 && refused > 0, $"the generator reaches both sides: accepted {accepted}, refused {refused}");
    }

    [Fact]
    public void Every_status_on_rip_is_taken_for_the_bee_it_names_or_ignored()
    {
        var random = new Random(Seed);
        var directory = new BeeDirectory();
        for (var run = 0; run < Runs; run++)
        {
            var bee = $"edge-{random.Next(50)}";
            var status = JsonSerializer.Serialize(new BeeStatus(bee, new[] { "online", "offline", "dead", "zombie" }[random.Next(4)], "lab")
            {
                Kind = random.Next(5) == 0 ? "queen" : BeeKinds.Edge,
                Lists = [new BeeListView("default", random.Next(10), random.Next(100))],
                Connection = "wifi",
            }, Swarm.Serialization.SwarmJson.Wire.BeeStatus);
            var topic = random.Next(10) switch
            {
                0 => $"rip/edge-{random.Next(50)}", // a status for another bee than its topic's: forged
                1 => $"rip/agent/{bee}",
                2 => "rip/" + Mutations.Hostile[random.Next(Mutations.Hostile.Length)],
                _ => $"rip/{bee}",
            };
            directory.Heard(topic, Mutations.Mutate(random, status));
            directory.SawLegacy(bee.Replace("edge", "agent"), DateTime.UtcNow);
        }
        var reports = directory.Reports(BeeKinds.Edge, BeeKinds.Legacy, BeeKinds.Cluster);
        Assert.NotEmpty(reports);
        Assert.All(reports, r =>
        {
            Assert.True(Swarm.Targets.WatchPayload.IsBeeId(r.Bee), r.Bee);
            Assert.Contains(r.Status, new[] { "online", "offline", "dead" });
            Assert.Contains(r.Kind, new[] { BeeKinds.Edge, BeeKinds.Legacy, BeeKinds.Cluster });
        });
        Assert.True(directory.Ignored > 0);
        output.WriteLine($"{reports.Count} bees known, {directory.Ignored} statuses ignored");
    }

    [Fact]
    public void Every_seed_agent_array_becomes_a_checked_result_or_a_reason()
    {
        var random = new Random(Seed);
        var (accepted, refused) = (0, 0);
        for (var run = 0; run < Runs; run++)
        {
            var valid = random.Next(3) == 0
                ? $"[\"agent-{random.Next(9)}\", \"error\", \"Unknown host\"]"
                : $"[\"agent-{random.Next(9)}\", \"ok\", {{\"Error\": null, \"loss\": {random.Next(0, 101)}.0, \"Round trip\": [0.041, 0.052, 0.077, 0.011]}}]";
            var topic = random.Next(10) == 0 ? "ping/" + Mutations.Hostile[random.Next(Mutations.Hostile.Length)] : "ping/free.fr";
            var (result, error) = LegacyResult.Parse(topic, Mutations.Mutate(random, valid), DateTime.UtcNow);
            if (error is null)
            {
                accepted++;
                // What the indexer would store passes the same checks as a Swarm result, sequence aside.
                Assert.Null(ResultCheck.Problem(result! with { Seq = 1 }, topic));
                HeartbeatDocument.ToJson(result!, legacy: true);
            }
            else
            {
                refused++;
                Assert.DoesNotContain(error, c => char.IsControl(c));
            }
        }
        output.WriteLine($"accepted {accepted}, refused {refused}");
        Assert.True(accepted > 0 && refused > 0);
    }
}
