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

        public Task<IReadOnlyList<BulkItemResult>> BulkCreateAsync(string dataStream, IReadOnlyList<(string Id, string Json)> documents, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref BulkCalls);
            if (Down) throw new ElasticsearchUnavailableException(503, "unavailable_shards_exception");
            Interlocked.Add(ref Stored, documents.Count);
            return Task.FromResult<IReadOnlyList<BulkItemResult>>(documents.Select(d => new BulkItemResult(d.Id, 201, BulkItemOutcome.Stored, null)).ToList());
        }
    }

    [Fact]
    public void During_an_outage_requests_follow_the_backoff_nothing_is_acknowledged_and_everything_is_once_back()
    {
        var es = new FlakyElasticsearch();
        var acked = 0;
        var indexer = Sys.ActorOf(Indexer.Props(es, new RecordingPublisher(), new IndexerSettings("swarm", BatchSize: 10)
        {
            BatchDelay = TimeSpan.FromMilliseconds(20),
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
        Assert.Equal(1000, indexer.Ask<IndexerStatus>(GetIndexerStatus.Instance).Result.Stored);
    }
}
