using Akka.Actor;
using Akka.Persistence;
using Swarm.Edge;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Edge;

/// <summary>The edge bee's SQLite journal and snapshot store, as Akka.Persistence uses them: write, recover, snapshot, delete.</summary>
public sealed class EdgeJournalTests() : JournalTestKit("edge")
{
    /// <summary>Keeps every event it was told, snapshots every 100, deletes what a snapshot covers.</summary>
    private sealed class Keeper : ReceivePersistentActor
    {
        private List<string> _events = [];
        public override string PersistenceId { get; }

        public Keeper(string id)
        {
            PersistenceId = id;
            Recover<string>(e => _events.Add(e));
            Recover<SnapshotOffer>(o => _events = [.. ((string)o.Snapshot).Split(',', StringSplitOptions.RemoveEmptyEntries)]);
            Command<string>(e => Persist(e, _ =>
            {
                _events.Add(e);
                if (LastSequenceNr % 100 == 0) SaveSnapshot(string.Join(',', _events));
                Sender.Tell(LastSequenceNr);
            }));
            Command<SaveSnapshotSuccess>(s =>
            {
                DeleteMessages(s.Metadata.SequenceNr);
                DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
            });
            Command<DeleteMessagesSuccess>(_ => { });
            Command<DeleteSnapshotsSuccess>(_ => { });
            Command<GetState>(_ => Sender.Tell((LastSequenceNr, _events.ToList())));
        }
    }

    private sealed record GetState;

    private (long Seq, List<string> Events) Restart(ref IActorRef keeper, string id)
    {
        Watch(keeper);
        Sys.Stop(keeper);
        ExpectTerminated(keeper);
        keeper = Sys.ActorOf(Props.Create(() => new Keeper(id)));
        keeper.Tell(new GetState());
        return ExpectMsg<(long, List<string>)>();
    }

    [Fact]
    public void Events_snapshots_and_deletions_recover_to_the_same_state_and_numbering_goes_on()
    {
        var keeper = Sys.ActorOf(Props.Create(() => new Keeper("k-1")));
        for (var i = 1; i <= 250; i++)
        {
            keeper.Tell($"e{i}");
            ExpectMsg((long)i);
        }
        AwaitAssert(() =>
        {
            keeper.Tell(new GetState());
            Assert.Equal(250, ExpectMsg<(long Seq, List<string> Events)>().Events.Count);
        });

        var (seq, events) = Restart(ref keeper, "k-1");

        Assert.Equal(250, seq);
        Assert.Equal(Enumerable.Range(1, 250).Select(i => $"e{i}"), events);
        keeper.Tell("e251");
        ExpectMsg(251L); // after deletions, the highest number is still known: no number is given twice
        var (seqAfter, eventsAfter) = Restart(ref keeper, "k-1");
        Assert.Equal((251, 251), (seqAfter, eventsAfter.Count));

        // Another persistence id in the same file is its own.
        var other = Sys.ActorOf(Props.Create(() => new Keeper("k-2")));
        other.Tell(new GetState());
        var fresh = ExpectMsg<(long Seq, List<string> Events)>();
        Assert.Equal(0, fresh.Seq);
        Assert.Empty(fresh.Events);
    }
}
