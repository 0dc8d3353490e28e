using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using FsCheck;
using FsCheck.Fluent;
using Swarm.Indexing;
using Swarm.Mqtt;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Swarm.Tests.Indexing;

/// <summary>
/// <c>ping/+</c> is open to every broker client: 10,000 messages, good results interleaved with mutated ones (nulls,
/// wrong types, hostile targets, cut and flipped bytes, deep nesting, wrong topics) and redeliveries. Every good
/// result is stored exactly once, every other message is dead-lettered, every message is acknowledged once, and the
/// indexer never restarts.
/// </summary>
public sealed class IndexerFuzzTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit
{
    private static int Messages => int.TryParse(Environment.GetEnvironmentVariable("SWARM_FUZZ_RUNS"), out var n) ? n : 10_000;

    /// <summary>Create-only, as a data stream: 201 the first time an id comes, 409 after; a document that is not JSON is refused.</summary>
    private sealed class StrictElasticsearch : IElasticsearch
    {
        public readonly ConcurrentDictionary<string, string> Documents = new();
        public int Setups;
        public int Invalid;

        public Task EnsureDataStreamAsync(string dataStream, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Setups);
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<BulkItemResult>> BulkCreateAsync(string dataStream, IReadOnlyList<(string Id, byte[] Json)> documents, CancellationToken cancellationToken)
        {
            var results = documents.Select(d =>
            {
                try { JsonDocument.Parse(d.Json).Dispose(); }
                catch (JsonException e)
                {
                    Interlocked.Increment(ref Invalid);
                    return new BulkItemResult(d.Id, 400, BulkItemOutcome.Rejected, $"document_parsing_exception: {e.Message}");
                }
                return Documents.TryAdd(d.Id, System.Text.Encoding.UTF8.GetString(d.Json))
                    ? new BulkItemResult(d.Id, 201, BulkItemOutcome.Stored, null)
                    : new BulkItemResult(d.Id, 409, BulkItemOutcome.AlreadyStored, null);
            }).ToList();
            return Task.FromResult<IReadOnlyList<BulkItemResult>>(results);
        }
    }

    private sealed record Message(string Topic, byte[] Payload, bool Good, string Mutation);

    [Fact]
    public async Task Every_good_result_is_stored_once_every_bad_one_dead_lettered_and_the_indexer_never_restarts()
    {
        var es = new StrictElasticsearch();
        var broker = new RecordingPublisher();
        var indexer = Sys.ActorOf(Indexer.Props(es, broker, new IndexerSettings("swarm", BatchSize: 500)));
        var messages = Gen.Sample(Traffic(), Messages, new Rnd(ulong.TryParse(Environment.GetEnvironmentVariable("SWARM_FUZZ_SEED"), out var seed) ? seed : 20261201UL), 50);
        var acks = new int[messages.Length];

        for (var i = 0; i < messages.Length; i++)
        {
            var index = i;
            indexer.Tell(new ResultArrived(messages[i].Topic, messages[i].Payload, _ => { Interlocked.Increment(ref acks[index]); return Task.CompletedTask; }));
        }

        AwaitCondition(() => acks.All(a => a == 1), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));
        var status = (await indexer.Ask<IndexerStatus>(GetIndexerStatus.Instance));
        var good = messages.Where(m => m.Good).ToList();
        var goodIds = good.Select(m => IdOf(m.Payload)).ToHashSet();

        Assert.Equal(1, es.Setups); // one start: no restart
        Assert.Equal(0, es.Invalid); // every document the indexer wrote is JSON Elasticsearch parses
        Assert.All(acks, a => Assert.Equal(1, a));
        Assert.Subset(es.Documents.Keys.ToHashSet(), goodIds); // every good result stored...
        Assert.Equal(es.Documents.Count, status.Stored); // ...once
        Assert.Equal(messages.Length, status.Stored + status.AlreadyStored + status.DeadLetters); // one fate per message
        // A mutation may still be a valid result (a flipped bit in a figure): stored then, as any publisher's would be.
        var stillValid = messages.Length - good.Count - status.DeadLetters;
        Assert.Equal(status.DeadLetters, broker.Published.Count(p => p.Topic == Indexer.DeadLetterTopic));
        foreach (var (mutation, count) in messages.Where(m => !m.Good).GroupBy(m => m.Mutation).Select(g => (g.Key, g.Count())).OrderBy(g => g.Key))
            output.WriteLine($"{mutation}: {count}");
        output.WriteLine($"good {good.Count} ({goodIds.Count} distinct), dead letters {status.DeadLetters}, mutations still valid {stillValid}");
        Assert.InRange(stillValid, 0, (messages.Length - good.Count) / 10); // nearly every mutation must be caught
    }

    [Theory]
    [InlineData("""{"bee":"b","seq":1,"ts":"2026-12-01T00:00:00Z","target":null,"kind":"icmp"}""", "target: missing")]
    [InlineData("""{"bee":"b","seq":1,"ts":"2026-12-01T00:00:00Z","target":"a b","kind":"icmp"}""", "target 'a b': not a host")]
    [InlineData("""{"bee":"b","seq":1,"ts":"2026-12-01T00:00:00Z","target":"t","kind":"tcp"}""", "kind 'tcp': the target 't' is probed as icmp")]
    [InlineData("""{"bee":null,"seq":1,"ts":"2026-12-01T00:00:00Z","target":"t","kind":"icmp"}""", "bee null")]
    [InlineData("""{"bee":"b","seq":1,"ts":"2026-12-01T00:00:00Z","target":"t","kind":"icmp","sent":1,"received":2}""", "sent 1, received 2")]
    [InlineData("""{"bee":"b","seq":1,"ts":"2026-12-01T00:00:00Z","target":"t","kind":"icmp","rtt_avg_ms":-1}""", "rtt_avg_ms -1")]
    [InlineData("""{"bee":"b","seq":1,"ts":"2026-12-01T00:00:00Z","target":"http://u:p@t/","kind":"http"}""", "target 'http://u:p@t/'")]
    [InlineData("""{"bee":"b","seq":1,"ts":"2026-12-01T00:00:00Z","target":"t","kind":"icmp","duration_ms":3600001}""", "duration_ms 3600001")]
    [InlineData("""{"bee":"b","seq":1,"ts":"2026-12-01T00:00:00Z","target":"u","kind":"icmp"}""", "topic 'ping/t': a result for 'u' belongs on ping/u")]
    [InlineData("""{"bee":"b","seq":"x"}""", "not a Swarm result")]
    public void A_result_that_cannot_become_a_document_is_dead_lettered_with_its_reason_and_acknowledged(string payload, string reason)
    {
        var broker = new RecordingPublisher();
        var acked = 0;
        var indexer = Sys.ActorOf(Indexer.Props(new StrictElasticsearch(), broker, new IndexerSettings("swarm")));

        indexer.Tell(new ResultArrived("ping/t", Encoding.UTF8.GetBytes(payload), _ => { Interlocked.Increment(ref acked); return Task.CompletedTask; }));

        AwaitCondition(() => acked == 1, TimeSpan.FromSeconds(5));
        var letter = JsonNode.Parse(broker.Published.Single(p => p.Topic == Indexer.DeadLetterTopic).Payload)!;
        Assert.StartsWith(reason, letter["reason"]!.GetValue<string>());
        Assert.Equal(payload, letter["payload"]!.GetValue<string>());
    }

    [Fact]
    public void A_second_different_result_under_one_bee_and_sequence_is_stored_beside_the_first_and_marked_as_a_conflict()
    {
        var es = new StrictElasticsearch();
        var acked = 0;
        var indexer = Sys.ActorOf(Indexer.Props(es, new RecordingPublisher(), new IndexerSettings("swarm")));
        var real = Payload(new ProbeResult { Bee = "paris", Seq = 7, Timestamp = DateTime.UtcNow, Target = "t", Kind = "icmp", Sent = 5, Received = 5, AvgMs = 12 });
        var forged = Payload(new ProbeResult { Bee = "paris", Seq = 7, Timestamp = DateTime.UtcNow, Target = "t", Kind = "icmp", Sent = 5, Received = 0 });

        foreach (var payload in new[] { real, real, forged }) // the real one redelivered, then a forgery under its name
            indexer.Tell(new ResultArrived("ping/t", payload, _ => { Interlocked.Increment(ref acked); return Task.CompletedTask; }));

        AwaitCondition(() => acked == 3, TimeSpan.FromSeconds(5));
        Assert.Equal(2, es.Documents.Count); // the real one once, the forgery beside it: it displaced nothing
        var docs = es.Documents.Values.Select(j => JsonNode.Parse(j)!).ToList();
        Assert.Single(docs, d => d["swarm"]!["received"]!.GetValue<int>() == 5 && d["swarm"]!["conflict"] is null);
        Assert.Single(docs, d => d["swarm"]!["received"]!.GetValue<int>() == 0 && d["swarm"]!["conflict"]!.GetValue<bool>());
    }

    private static byte[] Payload(ProbeResult r) => JsonSerializer.SerializeToUtf8Bytes(r, SwarmJson.Wire.ProbeResult);

    private static string IdOf(byte[] payload) =>
        HeartbeatDocument.IdOf(JsonSerializer.Deserialize(payload, SwarmJson.Default.ProbeResult)!, payload);

    /// <summary>Half good results (some sent twice, as a redelivery), half mutations of good results.</summary>
    private static Gen<Message> Traffic()
    {
        var good = Gen.Choose(1, 4000).Select(seq =>
        {
            // ICMP rounds, DNS rounds with their answers, and paths with their hops: each kind's own fields are fuzzed too.
            var address = $"127.0.{seq % 200}.1";
            var (target, kind) = (seq % 3) switch
            {
                0 => (address, "icmp"),
                1 => ($"dns://{address}/n{seq % 50}.example?type=A", "dns"),
                _ => ($"trace://{address}", "trace"),
            };
            var payload = Payload(new ProbeResult
            {
                Bee = "good", Seq = seq, Timestamp = new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(seq), Target = target,
                Kind = kind, Address = address, Family = 4, Sent = 5, Received = 4, LossPercent = 20, MinMs = 0.1, AvgMs = 0.2, MaxMs = 0.4,
                Dns = kind != "dns" ? null : new DnsInfo
                {
                    Server = $"{address}:53", Name = $"n{seq % 50}.example", Type = "A", Rcode = "NOERROR", Transport = "udp",
                    Answers = [new DnsAnswer { Name = $"n{seq % 50}.example", Type = "A", Ttl = 60, Data = "192.0.2.1" }],
                },
                Path = kind != "trace" ? null : new PathInfo
                {
                    Protocol = "icmp", Reached = true, LossFrom = 2, Hops =
                    [
                        new HopInfo { Hop = 1, Address = "10.0.0.1", Sent = 5, Received = 5, AvgMs = 0.1, BestMs = 0.1, WorstMs = 0.1, LastMs = 0.1, StddevMs = 0 },
                        new HopInfo { Hop = 2, Sent = 5, Received = 0, LossPercent = 100 },
                        new HopInfo { Hop = 3, Address = address, Sent = 5, Received = 4, LossPercent = 20, AvgMs = 0.2, BestMs = 0.1, WorstMs = 0.4, LastMs = 0.2, StddevMs = 0.1 },
                    ],
                },
            });
            return new Message(Topics.ForResult(target), payload, true, "none");
        });
        return Gen.Frequency((1, good), (1, good.SelectMany(Mutate)));
    }

    private static readonly string[] Fields = ["bee", "seq", "ts", "target", "kind", "sent", "received", "loss", "rtt_avg_ms", "address", "status", "error",
        "family", "dns", "path"];

    private static readonly JsonNode?[] Hostile =
    [
        null, JsonValue.Create(""), JsonValue.Create("a b"), JsonValue.Create(new string('x', 70_000)), JsonValue.Create("http://user:pw@h/"),
        JsonValue.Create("169.254.169.254\u0000"), JsonValue.Create("ｆｒｅｅ.ｆｒ"), JsonValue.Create("../../etc"), JsonValue.Create("#"),
        JsonValue.Create(-1), JsonValue.Create(0), JsonValue.Create(1e300), JsonValue.Create(long.MaxValue), JsonValue.Create(true),
        new JsonObject { ["x"] = 1 }, new JsonArray(1, 2), JsonValue.Create("2026-13-45T99:00:00Z"), JsonValue.Create("\u202Eevil"),
    ];

    private static Gen<Message> Mutate(Message m)
    {
        var json = JsonNode.Parse(m.Payload)!.AsObject();
        var setField = Gen.Elements(Fields).SelectMany(field => Gen.Choose(0, Hostile.Length - 1).Select(h =>
        {
            var copy = json.DeepClone().AsObject();
            copy[field] = Hostile[h]?.DeepClone();
            return m with { Payload = Encoding.UTF8.GetBytes(copy.ToJsonString()), Good = false, Mutation = $"{field} set to a hostile value" };
        }));
        var removeField = Gen.Elements("bee", "seq", "ts", "target", "kind").Select(field =>
        {
            var copy = json.DeepClone().AsObject();
            copy.Remove(field);
            return m with { Payload = Encoding.UTF8.GetBytes(copy.ToJsonString()), Good = false, Mutation = "a required field removed" };
        });
        var cut = Gen.Choose(0, m.Payload.Length - 1).Select(n => m with { Payload = m.Payload[..n], Good = false, Mutation = "cut short" });
        var flip = Gen.Choose(0, m.Payload.Length - 1).SelectMany(at => Gen.Choose(0, 7).Select(bit =>
        {
            var copy = (byte[])m.Payload.Clone();
            copy[at] ^= (byte)(1 << bit);
            return m with { Payload = copy, Good = false, Mutation = "a bit flipped" };
        }));
        var garbage = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).Select(bytes => m with { Payload = bytes, Good = false, Mutation = "random bytes" });
        var deep = Gen.Choose(100, 100_000).Select(depth =>
            m with { Payload = Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth)), Good = false, Mutation = "deeply nested" });
        var wrongTopic = Gen.Elements("ping/other.example", "ping/", "ping/%2F").Select(topic => m with { Topic = topic, Good = false, Mutation = "wrong topic" });
        return Gen.OneOf(setField, setField, removeField, cut, flip, garbage, deep, wrongTopic);
    }
}
