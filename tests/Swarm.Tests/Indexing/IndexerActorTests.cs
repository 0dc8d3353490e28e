using System.Text.Json;
using Akka.Actor;
using Swarm.Indexing;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Indexing;

public sealed class IndexerActorTests : Akka.TestKit.Xunit2.TestKit
{
    private sealed class FlakyElasticsearch : IElasticsearch
    {
        public volatile bool Down = true;
        public int BulkCalls;
        public int Stored;

        public Task EnsureDataStreamAsync(string dataStream, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<IReadOnlyList<BulkItemResult>> BulkCreateAsync(string dataStream, IReadOnlyList<(string Id, byte[] Json)> documents, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref BulkCalls);
            if (Down) throw new ElasticsearchUnavailableException(503, "unavailable_shards_exception");
            Interlocked.Add(ref Stored, documents.Count);
            return Task.FromResult<IReadOnlyList<BulkItemResult>>(documents.Select(d => new BulkItemResult(d.Id, 201, BulkItemOutcome.Stored, null)).ToList());
        }
    }

    [Fact]
    public async Task During_an_outage_requests_follow_the_backoff_nothing_is_acknowledged_and_everything_is_once_back()
    {
        var es = new FlakyElasticsearch();
        var acked = 0;
        var indexer = Sys.ActorOf(Indexer.Props(es, new RecordingPublisher(), new IndexerSettings("swarm", BatchSize: 10)
        {
            MinBackoff = TimeSpan.FromMilliseconds(100),
            MaxBackoff = TimeSpan.FromMilliseconds(800),
        }));

        for (var seq = 1; seq <= 1000; seq++)
        {
            var payload = JsonSerializer.SerializeToUtf8Bytes(new ProbeResult { Bee = "b", Seq = seq, Timestamp = DateTime.UtcNow, Target = "t", Kind = "icmp" }, SwarmJson.Wire.ProbeResult);
            indexer.Tell(new ResultArrived("ping/t", payload, _ => { Interlocked.Increment(ref acked); return Task.CompletedTask; }));
        }
        AwaitCondition(() => es.BulkCalls >= 3, TimeSpan.FromSeconds(5));
        var callsAtStart = es.BulkCalls;
        ExpectNoMsg(TimeSpan.FromSeconds(2)); // two seconds of outage: with 100 batches waiting

        // 100, 200, 400, 800, 800… ms: a handful of attempts, not one per batch that arrived.
        Assert.InRange(es.BulkCalls - callsAtStart, 1, 5);
        Assert.Equal(0, acked);

        es.Down = false;

        AwaitCondition(() => acked == 1000, TimeSpan.FromSeconds(10));
        Assert.Equal(1000, es.Stored);
        Assert.Equal(1000, (await indexer.Ask<IndexerStatus>(GetIndexerStatus.Instance)).Stored);
    }

    [Fact]
    public void A_broker_that_waits_for_acknowledgements_is_never_kept_waiting_for_a_batch_to_fill()
    {
        // A broker sends no more than its in-flight window before it hears acknowledgements (mosquitto's
        // max_inflight_messages; 20 by default). A window of 10 under batches of 1,000: an indexer that waited for a batch
        // to fill, or for a timer, would wait on the broker while the broker waits on it (it did: 10 results a second).
        var es = new FlakyElasticsearch { Down = false };
        var indexer = Sys.ActorOf(Indexer.Props(es, new RecordingPublisher(), new IndexerSettings("swarm", BatchSize: 1000)));
        const int window = 10, total = 5000;
        var (sent, acked) = (0, 0);
        void Publish()
        {
            var seq = Interlocked.Increment(ref sent);
            if (seq > total) return;
            var payload = JsonSerializer.SerializeToUtf8Bytes(new ProbeResult { Bee = "b", Seq = seq, Timestamp = DateTime.UtcNow, Target = "t", Kind = "icmp" }, SwarmJson.Wire.ProbeResult);
            indexer.Tell(new ResultArrived("ping/t", payload, _ =>
            {
                Interlocked.Increment(ref acked);
                Publish(); // the broker's window has room for one more
                return Task.CompletedTask;
            }));
        }
        for (var i = 0; i < window; i++) Publish();

        AwaitCondition(() => Volatile.Read(ref acked) == total, TimeSpan.FromSeconds(20), $"{total} results through a window of {window}");
        Assert.Equal(total, es.Stored);
    }

    /// <summary>Answers bulk requests only when let go, counting the data-stream setups (one per indexer start).</summary>
    private sealed class HeldElasticsearch : IElasticsearch
    {
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Setups;
        public int BulkCalls;

        public Task EnsureDataStreamAsync(string dataStream, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Setups);
            return Task.CompletedTask;
        }

        public async Task<IReadOnlyList<BulkItemResult>> BulkCreateAsync(string dataStream, IReadOnlyList<(string Id, byte[] Json)> documents, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref BulkCalls);
            await Release.Task;
            return documents.Select(d => new BulkItemResult(d.Id, 201, BulkItemOutcome.Stored, null)).ToList();
        }
    }

    /// <summary>A parent that restarts its child on any failure, as a supervisor does.</summary>
    private sealed class Restarting : ReceiveActor
    {
        public Restarting(Props child)
        {
            var indexer = Context.ActorOf(child, "indexer");
            ReceiveAny(m => indexer.Forward(m));
        }

        protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Restart);
    }

    [Fact]
    public async Task A_bulk_reply_that_comes_back_after_a_restart_never_touches_the_new_instance()
    {
        var es = new HeldElasticsearch();
        var parent = Sys.ActorOf(Props.Create(() => new Restarting(Indexer.Props(es, new RecordingPublisher(),
            new IndexerSettings("swarm", BatchSize: 5)))));
        var acked = 0;
        void Send(long seq) => parent.Tell(new ResultArrived("ping/t", JsonSerializer.SerializeToUtf8Bytes(
            new ProbeResult { Bee = "b", Seq = seq, Timestamp = DateTime.UtcNow, Target = "t", Kind = "icmp" }, SwarmJson.Wire.ProbeResult),
            _ => { Interlocked.Increment(ref acked); return Task.CompletedTask; }));

        for (var seq = 1; seq <= 5; seq++) Send(seq);
        AwaitCondition(() => es.BulkCalls == 1, TimeSpan.FromSeconds(10), "a bulk request in flight"); // ...
        var child = (await Sys.ActorSelection(parent.Path / "indexer").ResolveOne(TimeSpan.FromSeconds(5)));
        child.Tell(Kill.Instance); // ...when the indexer restarts
        AwaitCondition(() => es.Setups == 2, TimeSpan.FromSeconds(10), "the indexer restarted");

        es.Release.SetResult(); // the old request answers now, into the new instance's mailbox
        for (var seq = 6; seq <= 10; seq++) Send(seq);

        // The new instance ignores the old reply (its results were never acknowledged: the broker sends them again)
        // and goes on with its own; it never fails again over the old batch.
        AwaitCondition(() => acked == 5, TimeSpan.FromSeconds(10), "the new instance stored and acknowledged its own results");
        Assert.Equal(5, (await child.Ask<IndexerStatus>(GetIndexerStatus.Instance, TimeSpan.FromSeconds(5))).Stored);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(2, es.Setups); // no second restart
    }
}
