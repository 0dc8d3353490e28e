using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit;
using Swarm.Protocol;
using Swarm.Targets;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Targets;

public abstract class TargetListTests : JournalTestKit
{
    private readonly TestProbe _mediator;

    protected TargetListTests(string provider) : base(provider)
    {
        _mediator = CreateTestProbe();
    }

    private IActorRef Spawn(string list = "default", int maxTargets = 1000) =>
        Sys.ActorOf(TargetList.Props(list, ["127.0.0.1"], _mediator.Ref, maxTargets));

    [Fact]
    public void A_new_list_starts_at_version_0_with_its_defaults()
    {
        Spawn().Tell(new GetTargets("default"));

        var current = ExpectMsg<CurrentTargets>();
        Assert.Equal(0, current.Version);
        Assert.Equal(["127.0.0.1"], current.Targets);
    }

    [Fact]
    public void Replacing_persists_a_new_version_and_announces_it_to_the_bees()
    {
        Spawn().Tell(new ReplaceTargets("default", ["::1", "localhost"], "test"));

        var reply = ExpectMsg<CurrentTargets>();
        Assert.Equal((1L, true), (reply.Version, reply.Changed));
        var publish = _mediator.ExpectMsg<Publish>();
        Assert.Equal("targets/default", publish.Topic);
        Assert.Equal(["::1", "localhost"], ((CurrentTargets)publish.Message).Targets);
    }

    [Fact]
    public void A_bee_that_started_following_lately_is_told_of_a_change_directly_and_one_that_follows_for_long_is_left_to_the_mediator()
    {
        // The mediator here is a probe that delivers nothing: DistributedPubSub before gossip has reached the list's node.
        var now = 0L;
        var list = Sys.ActorOf(TargetList.Props("default", ["127.0.0.1"], _mediator.Ref, clock: () => now));
        var (old, fresh) = (CreateTestProbe(), CreateTestProbe());
        list.Tell(new GetTargets("default"), old.Ref);
        old.ExpectMsg<CurrentTargets>(c => c.Version == 0);
        now += (long)TargetList.NewFollowerWindow.TotalMilliseconds + 1000; // the old bee has asked all along, every 5 s
        list.Tell(new GetTargets("default"), old.Ref);
        old.ExpectMsg<CurrentTargets>(c => c.Version == 0);
        list.Tell(new GetTargets("default"), fresh.Ref);
        fresh.ExpectMsg<CurrentTargets>(c => c.Version == 0);

        list.Tell(new ReplaceTargets("default", ["::1"], "test"));

        ExpectMsg<CurrentTargets>(c => c.Version == 1);
        var told = fresh.ExpectMsg<CurrentTargets>();
        Assert.Equal((1L, true), (told.Version, told.Changed));
        Assert.Equal(["::1"], told.Targets);
        old.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(["::1"], ((CurrentTargets)_mediator.ExpectMsg<Publish>().Message).Targets);
    }

    [Fact]
    public async Task An_ask_is_answered_but_its_temporary_path_is_not_told_of_later_changes()
    {
        var list = Spawn();
        Assert.Equal(0, (await list.Ask<CurrentTargets>(new GetTargets("default"), TimeSpan.FromSeconds(5))).Version);
        var deadLetters = CreateTestProbe();
        Sys.EventStream.Subscribe(deadLetters.Ref, typeof(Akka.Event.DeadLetter));

        list.Tell(new ReplaceTargets("default", ["::1"], "test"));

        ExpectMsg<CurrentTargets>(c => c.Version == 1);
        deadLetters.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void An_identical_replacement_is_a_no_op()
    {
        var list = Spawn();
        list.Tell(new ReplaceTargets("default", ["a.example"], "queen-1"));
        ExpectMsg<CurrentTargets>(c => c.Version == 1);
        _mediator.ExpectMsg<Publish>();

        list.Tell(new ReplaceTargets("default", ["a.example"], "queen-2"));

        var reply = ExpectMsg<CurrentTargets>();
        Assert.Equal((1L, false), (reply.Version, reply.Changed));
        _mediator.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_restarted_list_recovers_its_last_version_from_the_journal()
    {
        var list = Spawn("web");
        list.Tell(new ReplaceTargets("web", ["a.example"], "t"));
        list.Tell(new ReplaceTargets("web", ["b.example", "c.example"], "t"));
        ExpectMsg<CurrentTargets>();
        ExpectMsg<CurrentTargets>();
        Watch(list);
        list.Tell(PoisonPill.Instance);
        ExpectTerminated(list);

        Spawn("web").Tell(new GetTargets("web"));

        var current = ExpectMsg<CurrentTargets>();
        Assert.Equal(2, current.Version);
        Assert.Equal(["b.example", "c.example"], current.Targets);
    }

    [Fact]
    public void A_list_with_a_long_history_recovers_through_its_snapshot()
    {
        var list = Spawn("long");
        for (var i = 1; i <= 57; i++) list.Tell(new ReplaceTargets("long", [$"host-{i}.example"], "t"));
        ReceiveN(57, TimeSpan.FromSeconds(30));
        Watch(list);
        list.Tell(PoisonPill.Instance);
        ExpectTerminated(list);

        Spawn("long").Tell(new GetTargets("long"));

        var current = ExpectMsg<CurrentTargets>(TimeSpan.FromSeconds(10));
        Assert.Equal(57, current.Version);
        Assert.Equal(["host-57.example"], current.Targets);
    }

    [Fact]
    public void Add_and_remove_change_the_list_by_one_version_each()
    {
        var list = Spawn();

        list.Tell(new AddTargets("default", ["::1", "127.0.0.1"], "t"));
        var added = ExpectMsg<CurrentTargets>();
        list.Tell(new RemoveTargets("default", ["127.0.0.1", "not.there"], "t"));
        var removed = ExpectMsg<CurrentTargets>();

        Assert.Equal(1, added.Version);
        Assert.Equal(["127.0.0.1", "::1"], added.Targets);
        Assert.Equal(2, removed.Version);
        Assert.Equal(["::1"], removed.Targets);
    }

    [Fact]
    public void Changes_that_would_empty_the_list_or_break_its_limit_are_refused_with_a_reason()
    {
        var list = Spawn(maxTargets: 2);

        list.Tell(new RemoveTargets("default", ["127.0.0.1"], "t"));
        var empty = ExpectMsg<TargetsRejected>();
        list.Tell(new AddTargets("default", ["a.example", "b.example"], "t"));
        var tooMany = ExpectMsg<TargetsRejected>();

        Assert.Contains("leave the list empty", empty.Reason);
        Assert.Equal("that would make 3 targets, over the limit of 2 per list", tooMany.Reason);
        list.Tell(new GetTargets("default"));
        Assert.Equal(0, ExpectMsg<CurrentTargets>().Version);
        _mediator.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }
}

public sealed class TargetListOnSqliteTests() : TargetListTests("sqlite")
{
    /// <summary>The version the broker retains on targets/default, for edge bees: every change, and again after each reconnect.</summary>
    [Fact]
    public void Each_version_is_retained_on_the_broker_again_at_start_after_a_refusal_and_after_a_reconnect()
    {
        var broker = new RecordingPublisher { IsConnected = false };
        var list = Sys.ActorOf(TargetList.Props("default", ["127.0.0.1"], CreateTestProbe().Ref, broker: broker));
        string[] Retained() => broker.Published.Where(p => p.Topic == "targets/default").Select(p => p.Payload).ToArray();

        // Away at start: version 0 (the defaults) goes out once the broker takes it.
        broker.IsConnected = true;
        AwaitCondition(() => Retained().Length == 1, TimeSpan.FromSeconds(15));
        Assert.Contains("\"version\":0", Retained()[0]);

        list.Tell(new ReplaceTargets("default", ["::1"], "test"));
        ExpectMsg<CurrentTargets>();
        AwaitCondition(() => Retained().Length == 2, TimeSpan.FromSeconds(15));
        Assert.Contains("\"version\":1", Retained()[1]);
        Assert.Contains("\"targets\":[\"::1\"]", Retained()[1]);

        // Nothing new while the same connection holds it; a new connection may be a broker that lost it.
        ExpectNoMsg(TimeSpan.FromSeconds(6));
        Assert.Equal(2, Retained().Length);
        broker.Connections++;
        AwaitCondition(() => Retained().Length == 3, TimeSpan.FromSeconds(15));
        Assert.Equal(Retained()[1][..Retained()[1].IndexOf("\"ts\"", StringComparison.Ordinal)],
            Retained()[2][..Retained()[2].IndexOf("\"ts\"", StringComparison.Ordinal)]);
    }
}

public sealed class TargetListOnPostgresTests() : TargetListTests("postgresql");
