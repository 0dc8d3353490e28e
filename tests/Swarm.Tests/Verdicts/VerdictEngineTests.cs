using Swarm.Protocol;
using Swarm.Verdicts;

namespace Swarm.Tests.Verdicts;

/// <summary>The verdict engine without actors: pair states, the swarm's verdicts, and the alert gate, on a clock the test holds.</summary>
public sealed class VerdictEngineTests
{
    private static readonly VerdictSettings Settings = new() { Interval = TimeSpan.FromSeconds(10) };
    private static readonly DateTime T0 = new(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc);

    private static ProbeResult Round(string bee, string target, long seq, double loss, double? rtt, string? location = null, string? connection = null) => new()
    {
        Bee = bee,
        Seq = seq,
        Timestamp = T0,
        Target = target,
        Kind = "icmp",
        Location = location,
        Connection = connection,
        Sent = 5,
        Received = (int)Math.Round(5 * (100 - loss) / 100),
        LossPercent = loss,
        MedianMs = loss >= 100 ? null : rtt,
    };

    [Fact]
    public void A_far_bee_is_not_slow_for_being_far_but_is_when_its_own_rtt_doubles()
    {
        var pair = new PairTracker("far", Settings);
        for (var i = 1; i <= 20; i++) pair.Observe(Round("far", "free.fr", i, 0, 200 + i % 3), T0.AddSeconds(i * 10));
        Assert.Equal(PairStates.Ok, pair.State);
        Assert.InRange(pair.Baseline!.Value, 200, 202);
        for (var i = 21; i <= 25; i++) pair.Observe(Round("far", "free.fr", i, 0, 450), T0.AddSeconds(i * 10));
        Assert.Equal(PairStates.Slow, pair.State);
        Assert.Equal(T0.AddSeconds(23 * 10), pair.Since); // the window's median crossed at its third slow round
    }

    [Fact]
    public void Loopback_going_from_a_tenth_to_three_tenths_of_a_millisecond_is_not_slow()
    {
        var pair = new PairTracker("b", Settings);
        for (var i = 1; i <= 20; i++) pair.Observe(Round("b", "::1", i, 0, 0.1), T0.AddSeconds(i));
        for (var i = 21; i <= 30; i++) pair.Observe(Round("b", "::1", i, 0, 0.3), T0.AddSeconds(i));
        Assert.Equal(PairStates.Ok, pair.State);
    }

    [Fact]
    public void Loss_makes_a_pair_lossy_then_down_and_clean_rounds_bring_it_back()
    {
        var pair = new PairTracker("b", Settings);
        var seq = 0;
        void Rounds(int n, double loss) { for (var i = 0; i < n; i++) { seq++; pair.Observe(Round("b", "t", seq, loss, 10), T0.AddSeconds(seq)); } }
        Rounds(10, 0);
        Assert.Equal(PairStates.Ok, pair.State);
        Rounds(1, 40);
        Assert.Equal(PairStates.Ok, pair.State); // one round of 40 % in a window of 5 is 8 %, under 10 %
        Rounds(1, 20);
        Assert.Equal(PairStates.Lossy, pair.State); // 12 %
        Rounds(3, 100);
        Assert.Equal(PairStates.Down, pair.State);
        Rounds(3, 0);
        Assert.Equal(PairStates.Lossy, pair.State); // two lost rounds still in the window: 40 %
        Rounds(1, 0);
        Assert.Equal(PairStates.Ok, pair.State); // one: a blip, whatever its share
        Rounds(1, 100);
        Assert.Equal(PairStates.Ok, pair.State); // one round lost alone (an HTTP request timing out) is not lossy
    }

    [Fact]
    public void A_redelivered_round_is_not_counted_twice()
    {
        var pair = new PairTracker("b", Settings);
        for (var i = 1; i <= 5; i++) pair.Observe(Round("b", "t", i, 0, 10), T0.AddSeconds(i));
        Assert.False(pair.Observe(Round("b", "t", 5, 100, null), T0.AddSeconds(6)));
        Assert.False(pair.Observe(Round("b", "t", 3, 100, null), T0.AddSeconds(6)));
        Assert.Equal(0, pair.Loss);
    }

    /// <summary>
    /// The scenario: three bees, two targets. A loses 40 % of replies for every bee; C's own link loses
    /// 40 % of everything. Then the faults go, and every verdict returns to ok.
    /// </summary>
    [Fact]
    public void Swarm_says_everyone_for_a_lossy_target_one_bee_for_a_lossy_link_and_ok_for_the_rest()
    {
        var swarm = new Swarmlet(Settings);
        var now = T0;
        var seq = 0;
        void Rounds(int n, Func<string, string, double> loss)
        {
            for (var i = 0; i < n; i++)
            {
                now = now.AddSeconds(10);
                seq++;
                foreach (var bee in new[] { "b1", "b2", "c" })
                    foreach (var target in new[] { "a.example", "b.example" })
                        swarm.Round(Round(bee, target, seq, loss(bee, target), 20), now);
            }
        }
        Rounds(10, (_, _) => 0);
        Assert.All(swarm.TargetVerdicts(now), v => Assert.Equal(VerdictKinds.Ok, v.Verdict));

        Rounds(6, (bee, target) => (target == "a.example" ? 40 : 0) + (bee == "c" ? 40 : 0));
        var a = swarm.Target("a.example", now);
        var b = swarm.Target("b.example", now);
        Assert.Equal(VerdictKinds.Everyone, a.Verdict);
        Assert.Equal(2, a.Judged); // c's view does not count: its own link is the problem
        Assert.Equal(2, a.Degraded);
        Assert.StartsWith("a.example: lossy for everyone (2 of 2 bees) since", a.Text);
        Assert.Equal(VerdictKinds.Ok, b.Verdict);
        Assert.Equal([PairStates.Lossy, PairStates.Ok, PairStates.Ok], b.Bees.Select(p => p.State));
        Assert.True(b.Bees[0].OwnLink);
        Assert.Equal(VerdictKinds.OneBee, swarm.Bee("c", now).Verdict);
        Assert.StartsWith("bee c: its own link is lossy (2 of 2 targets degraded", swarm.Bee("c", now).Text);
        Assert.Equal(VerdictKinds.Ok, swarm.Bee("b1", now).Verdict);
        Assert.Equal(VerdictKinds.Ok, swarm.Bee("b2", now).Verdict);

        Rounds(6, (_, _) => 0);
        Assert.All(swarm.TargetVerdicts(now), v => Assert.Equal(VerdictKinds.Ok, v.Verdict));
        Assert.All(new[] { "b1", "b2", "c" }, bee => Assert.Equal(VerdictKinds.Ok, swarm.Bee(bee, now).Verdict));
    }

    [Fact]
    public void Degraded_bees_that_share_a_place_give_some_places_and_one_bee_alone_gives_one_path()
    {
        var swarm = new Swarmlet(Settings);
        var now = T0;
        var places = new Dictionary<string, string> { ["p1"] = "paris", ["p2"] = "paris", ["l1"] = "lyon", ["l2"] = "lyon", ["m1"] = "marseille" };
        var seq = 0;
        void Rounds(int n, Func<string, string, double> loss)
        {
            for (var i = 0; i < n; i++)
            {
                now = now.AddSeconds(10);
                seq++;
                foreach (var bee in places.Keys)
                    foreach (var target in new[] { "web.example", "other.example", "third.example" })
                        swarm.Round(Round(bee, target, seq, loss(bee, target), 20, places[bee], bee == "m1" ? "cellular" : "fiber"), now);
            }
        }
        Rounds(6, (bee, target) => target == "web.example" && places[bee] == "paris" ? 60 : 0);
        var web = swarm.Target("web.example", now);
        Assert.Equal(VerdictKinds.SomePlaces, web.Verdict);
        Assert.Equal("paris", web.Shared!["location"]);
        Assert.Equal("fiber", web.Shared["connection"]);
        Assert.StartsWith("web.example: lossy from location paris, connection fiber (2 of 5 bees)", web.Text);
        Assert.Equal(VerdictKinds.Ok, swarm.Bee("p1", now).Verdict); // one target of three: not its link

        Rounds(6, (bee, target) => target == "other.example" && bee == "m1" ? 100 : 0);
        Assert.Equal(VerdictKinds.Ok, swarm.Target("web.example", now).Verdict);
        var other = swarm.Target("other.example", now);
        Assert.Equal(VerdictKinds.OnePath, other.Verdict);
        Assert.StartsWith("other.example: down only from bee m1", other.Text);
    }

    [Fact]
    public void A_target_down_for_everyone_does_not_make_every_bee_blame_its_own_link()
    {
        var swarm = new Swarmlet(Settings);
        var now = T0;
        for (var seq = 1; seq <= 10; seq++)
        {
            now = now.AddSeconds(10);
            foreach (var bee in new[] { "b1", "b2", "b3" })
                foreach (var target in new[] { "x.example", "y.example", "z.example" })
                    swarm.Round(Round(bee, target, seq, seq > 4 && target != "z.example" ? 100 : 0, 20), now);
        }
        Assert.Equal(VerdictKinds.Everyone, swarm.Target("x.example", now).Verdict);
        Assert.Equal(VerdictKinds.Everyone, swarm.Target("y.example", now).Verdict);
        Assert.All(new[] { "b1", "b2", "b3" }, bee => Assert.Equal(VerdictKinds.Ok, swarm.Bee(bee, now).Verdict));
    }

    [Fact]
    public void Pairs_unheard_of_go_stale_and_the_bee_forgets_the_target()
    {
        var swarm = new Swarmlet(Settings);
        for (var seq = 1; seq <= 3; seq++) swarm.Round(Round("b1", "t.example", seq, 0, 10), T0.AddSeconds(seq));
        Assert.Equal(1, swarm.Target("t.example", T0.AddSeconds(4)).Judged);
        var later = T0 + Settings.StaleAfter + TimeSpan.FromSeconds(10);
        swarm.Refresh(later);
        var v = swarm.Target("t.example", later);
        Assert.Equal(0, v.Judged);
        Assert.Empty(v.Bees);
        Assert.Equal(0, swarm.Bee("b1", later).Targets);
    }

    [Fact]
    public void Alert_gate_raises_after_the_enter_hold_ignores_flapping_and_clears_after_the_leave_hold()
    {
        var gate = new AlertGate(Settings); // enter 3 rounds of 10 s, leave 5
        var events = new List<(int Round, string State)>();
        string[] verdicts = ["ok", "everyone", "ok", "everyone", "everyone", "everyone", "some-places", "everyone", "ok", "everyone", "ok", "ok", "ok", "ok", "ok", "ok"];
        for (var i = 0; i < verdicts.Length; i++)
            if (gate.Feed(verdicts[i], T0.AddSeconds(10 * i)) is { } state) events.Add((i, state));
        Assert.Equal([(6, Alert.Raised), (15, Alert.Cleared)], events);
        Assert.Equal(VerdictKinds.Everyone, gate.LastDegraded);
    }

    /// <summary>The judges wired as the entities wire them, messages delivered at once.</summary>
    private sealed class Swarmlet(VerdictSettings settings)
    {
        private readonly Dictionary<string, TargetJudge> _targets = [];
        private readonly Dictionary<string, BeeJudge> _bees = [];

        public void Round(ProbeResult r, DateTime now) => Deliver(TargetJudge(r.Target).Observe(r, now), now);

        public void Refresh(DateTime now)
        {
            foreach (var t in _targets.Values.ToList()) Deliver(t.Refresh(now), now);
            foreach (var b in _bees.Values) b.Expire(now);
        }

        private TargetJudge TargetJudge(string target) =>
            _targets.TryGetValue(target, out var j) ? j : _targets[target] = new TargetJudge(target, settings);

        private void Deliver(IEnumerable<PairUpdate> updates, DateTime now)
        {
            foreach (var u in updates)
            {
                if (!_bees.TryGetValue(u.Bee, out var bee)) _bees[u.Bee] = bee = new BeeJudge(u.Bee, settings);
                var before = bee.LinkDegraded;
                bee.Update(u, now);
                bee.Evaluate(now);
                if (bee.LinkDegraded == before) continue;
                foreach (var t in bee.TargetNames) TargetJudge(t).Link(bee.Bee, bee.LinkDegraded, now);
            }
        }

        public TargetVerdict Target(string target, DateTime now) => TargetJudge(target).Evaluate(now).Verdict;

        public IEnumerable<TargetVerdict> TargetVerdicts(DateTime now) => _targets.Values.Select(t => t.Evaluate(now).Verdict);

        public BeeVerdict Bee(string bee, DateTime now) => _bees[bee].Evaluate(now).Verdict;
    }
}
