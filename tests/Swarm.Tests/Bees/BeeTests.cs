using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit;
using Swarm.Bees;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Bees;

public abstract class BeeTests : JournalTestKit
{
    private readonly FakeProber _prober = new();
    private readonly TestProbe _lists;
    private readonly TestProbe _results;
    private readonly TestProbe _mediator;

    protected BeeTests(string provider) : base(provider)
    {
        _lists = CreateTestProbe();
        _results = CreateTestProbe();
        _mediator = CreateTestProbe();
    }

    // Deadlines on messages are 30 s: the first journal write of a cold test process (linq2db and SQLite JIT) can
    // take seconds on a loaded 2-core machine. They cost nothing when the machine is quiet.
    private static BeeSettings Settings(string id = "bee-a", int intervalMs = 300) =>
        new(id, "lab", ["default"], TimeSpan.FromMilliseconds(intervalMs), new RoundSettings(3, TimeSpan.Zero, TimeSpan.FromMilliseconds(100)))
        {
            FirstRoundWindow = TimeSpan.FromMilliseconds(50),
            Geo = "48.8566,2.3522",
        };

    private IActorRef Spawn(string id = "bee-a", int intervalMs = 300) =>
        Sys.ActorOf(Bee.Props(Settings(id, intervalMs), _prober, _lists.Ref, _results.Ref, _mediator.Ref));

    [Fact]
    public void A_new_bee_subscribes_to_its_list_and_asks_for_it()
    {
        Spawn();

        Assert.Equal("targets/default", _mediator.ExpectMsg<Subscribe>().Topic);
        Assert.Equal("default", _lists.ExpectMsg<GetTargets>().ListId);
    }

    [Fact]
    public void A_bee_probes_its_list_and_hands_every_round_to_the_outbox_unnumbered()
    {
        var bee = Spawn();
        bee.Tell(new CurrentTargets("default", 1, ["a.example", "b.example"], true));

        var results = Enumerable.Range(0, 6).Select(_ => _results.ExpectMsg<ProbeResult>(TimeSpan.FromSeconds(30))).ToList();

        Assert.Equal(["a.example", "b.example"], results.Select(r => r.Target).Distinct().Order());
        Assert.All(results, r =>
        {
            Assert.Equal(0, r.Seq); // the outbox numbers it, from what its disk holds
            Assert.Equal("bee-a", r.Bee);
            Assert.Equal(("lab", "48.8566,2.3522"), (r.Location, r.Geo));
            Assert.Equal((3, 3, 0.0, 0.5), (r.Sent, r.Received, r.LossPercent, r.AvgMs!.Value));
        });
    }

    [Fact]
    public void A_target_asked_over_both_families_gives_one_result_per_family_from_the_same_round()
    {
        var bee = Sys.ActorOf(Bee.Props(Settings(), new ProberRouter(_prober, _prober, _prober, _prober), _lists.Ref, _results.Ref, _mediator.Ref));
        bee.Tell(new CurrentTargets("default", 1, ["icmp://a.example?family=both"], true));

        var results = Enumerable.Range(0, 4).Select(_ => _results.ExpectMsg<ProbeResult>(TimeSpan.FromSeconds(30))).ToList();

        Assert.Equal(["icmp4://a.example", "icmp6://a.example", "icmp4://a.example", "icmp6://a.example"], results.Select(r => r.Target));
        Assert.Equal(results[0].Timestamp, results[1].Timestamp); // one round, two families
        Assert.NotEqual(results[0].Timestamp, results[2].Timestamp);
        Assert.Equal(["icmp4://a.example", "icmp6://a.example"], _prober.Probed.Distinct().Order()); // each family probed under its own target
    }

    [Fact]
    public async Task A_list_with_its_own_settings_is_probed_with_them_and_a_list_without_with_the_bees()
    {
        var bee = Sys.ActorOf(Bee.Props(Settings() with { Lists = ["default", "fast"] }, _prober, _lists.Ref, _results.Ref, _mediator.Ref));
        bee.Tell(new CurrentTargets("default", 1, ["a.example"], true));
        bee.Tell(new CurrentTargets("fast", 1, ["b.example"], true) { Probe = new ProbeSettings { Count = 7 } });

        var results = Enumerable.Range(0, 8).Select(_ => _results.ExpectMsg<ProbeResult>(TimeSpan.FromSeconds(30))).ToList();

        Assert.All(results.Where(r => r.Target == "a.example"), r => Assert.Equal(3, r.Sent)); // the bee's count
        Assert.All(results.Where(r => r.Target == "b.example"), r => Assert.Equal(7, r.Sent)); // the list's
        Assert.Contains(results, r => r.Target == "b.example");
        var duty = await bee.Ask<BeeDuty>(GetBeeDuty.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal(7, duty.Lists.Single(l => l.ListId == "fast").Probe!.Count); // journaled with the list
    }

    [Fact]
    public void A_newer_version_replaces_the_targets_and_an_older_one_is_ignored()
    {
        var bee = Spawn();
        bee.Tell(new CurrentTargets("default", 2, ["new.example"], true));
        bee.Tell(new CurrentTargets("default", 1, ["old.example"], false));

        bee.Tell(GetBeeDuty.Instance);

        var duty = ExpectMsg<BeeDuty>();
        Assert.Equal(["new.example"], duty.Targets);
        Assert.Equal(2, duty.Lists.Single().Version);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_older_announcement_after_a_newer_one_is_refused_by_an_edge_bee_only(bool edge)
    {
        // In the cluster a change comes two ways, in no order between them; to an edge bee an older retained list is stale.
        var status = CreateTestProbe();
        var bee = Sys.ActorOf(Bee.Props(Settings($"bee-{edge}") with { Edge = edge }, _prober, _lists.Ref, _results.Ref, _mediator.Ref, status: status.Ref));
        bee.Tell(new CurrentTargets("default", 3, ["new.example"], true));
        bee.Tell(new CurrentTargets("default", 2, ["old.example"], true));

        bee.Tell(GetBeeDuty.Instance);

        Assert.Equal(3, ExpectMsg<BeeDuty>(TimeSpan.FromSeconds(30)).Lists.Single().Version);
        var refusals = status.ReceiveWhile(TimeSpan.FromMilliseconds(300), o => o).OfType<ListRefusal>().ToList();
        if (edge) Assert.Contains(refusals, r => r.Version == 2 && r.Reason.Contains("older than version 3"));
        else Assert.Empty(refusals);
    }

    [Fact]
    public void A_restarted_bee_keeps_probing_its_journaled_list_with_no_one_to_ask()
    {
        var bee = Spawn("bee-r");
        bee.Tell(new CurrentTargets("default", 5, ["kept.example"], true));
        var before = _results.ExpectMsg<ProbeResult>(TimeSpan.FromSeconds(30));
        Watch(bee);
        Sys.Stop(bee);
        ExpectTerminated(bee);
        _results.ReceiveWhile(TimeSpan.FromMilliseconds(100), o => o);

        // The list entity (the _lists probe) never answers: the bee must work from its journal alone.
        var restarted = Spawn("bee-r");
        var after = _results.ExpectMsg<ProbeResult>(TimeSpan.FromSeconds(30));

        Assert.Equal("kept.example", before.Target);
        Assert.Equal("kept.example", after.Target);
        restarted.Tell(GetBeeDuty.Instance);
        Assert.Equal(5, ExpectMsg<BeeDuty>().Lists.Single().Version);
    }

    [Fact]
    public void Rounds_of_many_targets_are_spread_over_the_interval_not_bursted()
    {
        // A 2 s interval, so that a busy machine stalling timers for a moment cannot bunch the rounds by itself.
        var bee = Spawn("bee-s", intervalMs: 2000);
        var targets = Enumerable.Range(1, 30).Select(i => $"t{i}.example").ToList();
        bee.Tell(new CurrentTargets("default", 1, targets, true));

        // Skip the first round (compressed into FirstRoundWindow); then watch one whole interval.
        _results.ReceiveN(30, TimeSpan.FromSeconds(30));
        var stamps = _results.ReceiveN(30, TimeSpan.FromSeconds(10)).Cast<ProbeResult>().Select(r => r.Timestamp).Order().ToList();

        var spread = stamps[^1] - stamps[0];
        Assert.True(spread > TimeSpan.FromSeconds(1), $"30 rounds bunched into {spread.TotalMilliseconds:0} ms of a 2000 ms interval");
    }
}

public sealed class BeeOnSqliteTests() : BeeTests("sqlite");

public sealed class BeeOnPostgresTests() : BeeTests("postgresql");

public sealed class BeeOnEdgeJournalTests() : BeeTests("edge");
