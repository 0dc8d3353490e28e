using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Swarm.Metrics;
using Swarm.Mqtt;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Indexing;

/// <summary>A result from <c>ping/+</c>, not yet acknowledged to the broker.</summary>
public sealed record ResultArrived(string Topic, byte[] Payload, Func<CancellationToken, Task> Acknowledge);

/// <summary>How the indexer batches and backs off.</summary>
public sealed record IndexerSettings(string DataStream, int BatchSize = 1000, int BatchBytes = 5 << 20)
{
    /// <summary>Bulk requests in flight at once: a second one fills the pipe while Elasticsearch answers the first.</summary>
    public int MaxRequests { get; init; } = 2;

    /// <summary>The probe interval: how long a check speaks for (<c>monitor.timespan</c>).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Results from MQTT into Elasticsearch, created with <c>_bulk</c> under the id bee + sequence, and acknowledged to the
/// broker only once Elasticsearch has them (201, or 409: already there). A result goes at once when no request is out;
/// while one is, results gather into the next batch (a full one takes the second slot). Never on a timer: the broker
/// sends no more than its in-flight window before it hears acknowledgements (mosquitto: the receive maximum in MQTT 5,
/// max_inflight_messages in 3.1.1, 20 by default), so a batch waiting to fill would wait on the broker while the broker
/// waits on it: a window a second.
/// Items answered 429/5xx, and whole requests that fail, are retried with exponential backoff, unacknowledged, so
/// the broker's receive window holds the rest back and memory stays bounded; items refused for good (a mapping
/// error, a payload that is not a result) go to <c>indexer/dead-letters</c> with the reason, then are acknowledged.
/// </summary>
public sealed class Indexer : ReceiveActor, IWithTimers
{
    public const string DeadLetterTopic = "indexer/dead-letters";
    private readonly IElasticsearch _elasticsearch;
    private readonly IMqttPublisher _broker;
    private readonly IndexerSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly LinkedList<Pending> _batch = new(); // in arrival order; O(1) removal as documents are stored
    private readonly RecentResults _recent = new(capacity: 100_000);
    private readonly object _instance = new(); // a reply to a request of an earlier instance (before a restart) is not ours
    private int _unsent;
    private int _unsentBytes;
    private int _requests;
    private bool _ready;
    private bool _retryPending;
    private int _failures;
    private TimeSpan _backoff;
    private long _stored;
    private long _duplicates;
    private long _deadLetters;

    public ITimerScheduler Timers { get; set; } = null!;

    private readonly SwarmMetrics _metrics;
    private readonly Edge.BeeDirectory? _directory;

    /// <summary>The indexer; <paramref name="directory"/>, when given, hears of every seed agent whose results it stores.</summary>
    public static Props Props(IElasticsearch elasticsearch, IMqttPublisher broker, IndexerSettings settings, SwarmMetrics? metrics = null,
        Edge.BeeDirectory? directory = null) =>
        Akka.Actor.Props.Create(() => new Indexer(elasticsearch, broker, settings, metrics ?? SwarmMetrics.Unscraped, directory));

    public Indexer(IElasticsearch elasticsearch, IMqttPublisher broker, IndexerSettings settings, SwarmMetrics metrics, Edge.BeeDirectory? directory)
    {
        _directory = directory;
        _metrics = metrics;
        _elasticsearch = elasticsearch;
        _broker = broker;
        _settings = settings;
        _backoff = settings.MinBackoff;

        Receive<ResultArrived>(Accept);
        Receive<Setup>(_ => RunSetup());
        Receive<SetupDone>(_ =>
        {
            _ready = true;
            _backoff = _settings.MinBackoff;
            _log.Info("indexer: data stream {0} ready (index template and ILM policy installed)", _settings.DataStream);
            Flush();
        });
        Receive<SetupFailed>(f =>
        {
            var delay = NextBackoff();
            _log.Warning("indexer: cannot install the index template for {0} ({1}); results wait unacknowledged; retry in {2:0.0}s",
                _settings.DataStream, f.Reason, delay.TotalSeconds);
            Timers.StartSingleTimer("setup", Setup.Instance, delay);
        });
        Receive<RetryDue>(_ =>
        {
            _retryPending = false;
            Flush();
        });
        Receive<BulkDone>(d => d.Instance == _instance, OnBulkDone);
        Receive<BulkFailed>(f => f.Instance == _instance, f =>
        {
            _requests--;
            _metrics.Batch(f.Sent.Count, DateTime.UtcNow - f.Started);
            foreach (var pending in f.Sent) Unsend(pending);
            ScheduleRetry($"{f.Reason}; {_batch.Count} results wait unacknowledged");
        });
        Receive<Acked>(_ => { });
        Receive<BulkDone>(_ => { }); // an earlier instance's: its results were never acknowledged, the broker sends them again
        Receive<BulkFailed>(_ => { });
        Receive<GetIndexerStatus>(_ => Sender.Tell(new IndexerStatus(_stored, _duplicates, _deadLetters, _batch.Count, _ready)));
    }

    protected override void PreStart() => Self.Tell(Setup.Instance);

    private void RunSetup() =>
        Task.Run(() => _elasticsearch.EnsureDataStreamAsync(_settings.DataStream, CancellationToken.None))
            .PipeTo(Self, success: () => SetupDone.Instance, failure: e => new SetupFailed(e.GetBaseException().Message));

    private void Accept(ResultArrived message)
    {
        // Anything may arrive on ping/+: every result that cannot become a document is dead-lettered with the reason
        // and acknowledged. Nothing a publisher sends can make this actor throw.
        if (VerdictDocument.Handles(message.Topic))
        {
            if (message.Payload.Length == 0) // a retained verdict cleared: nothing to index
            {
                Ack(message);
                return;
            }
            var (document, why) = VerdictDocument.Of(message.Topic, message.Payload);
            if (document is { } d) Enqueue(new Pending(message, d.Id, Encoding.UTF8.GetBytes(d.Json), d.At));
            else DeadLetter(message, null, why!);
            return;
        }
        if (LegacyResult.LooksLegacy(message.Payload))
        {
            AcceptLegacy(message);
            return;
        }
        ProbeResult? result;
        try { result = JsonSerializer.Deserialize(message.Payload, SwarmJson.Default.ProbeResult); }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            DeadLetter(message, null, $"not a Swarm result: {e.Message}");
            return;
        }
        if (ResultCheck.Problem(result, message.Topic, out var target) is { } problem)
        {
            DeadLetter(message, null, problem);
            return;
        }
        var hash = HeartbeatDocument.ContentHash(message.Payload);
        var conflict = _recent.Seen(result!.Bee, result.Seq, hash);
        if (conflict)
        {
            _metrics.Conflict();
            _log.Warning("indexer: {0} seq {1} came again with other content: stored beside the first and marked swarm.conflict " +
                "(a forgery, or numbers given twice after the bee lost its outbox)", result.Bee, result.Seq);
        }
        byte[] json;
        try { json = HeartbeatDocument.ToUtf8(result, conflict, interval: _settings.Interval, target: target); }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            DeadLetter(message, null, $"cannot be made a document: {e.Message}");
            return;
        }
        Enqueue(new Pending(message, HeartbeatDocument.IdOf(result, message.Payload), json, result.Timestamp));
    }

    /// <summary>A seed agent's result: a document of the same shape, marked <c>swarm.legacy</c>, with no sequence.</summary>
    private void AcceptLegacy(ResultArrived message)
    {
        var (result, problem) = LegacyResult.Parse(message.Topic, message.Payload, DateTime.UtcNow);
        if (problem is not null)
        {
            DeadLetter(message, null, problem);
            return;
        }
        _directory?.SawLegacy(result!.Bee, result.Timestamp);
        Enqueue(new Pending(message, LegacyResult.IdOf(result!), HeartbeatDocument.ToUtf8(result!, legacy: true, interval: _settings.Interval), result!.Timestamp));
    }

    private void Enqueue(Pending pending)
    {
        var json = pending.Json;
        pending.Node = _batch.AddLast(pending);
        _unsent++;
        _unsentBytes += json.Length;
        if (_requests == 0 || _unsent >= _settings.BatchSize || _unsentBytes >= _settings.BatchBytes) Flush();
    }

    private void Flush()
    {
        // Up to MaxRequests at once (one while Elasticsearch is failing: a retry is a probe), and none while a retry
        // waits out its backoff: a full batch must not jump the queue.
        var maxRequests = _failures > 0 ? 1 : _settings.MaxRequests;
        while (_requests < maxRequests && !_retryPending && _ready && _unsent > 0)
        {
            var sent = _batch.Where(p => !p.Sending).Take(_settings.BatchSize).ToList();
            foreach (var pending in sent)
            {
                pending.Sending = true;
                _unsent--;
                _unsentBytes -= pending.Json.Length;
            }
            _requests++;
            var documents = sent.Select(p => (p.Id, p.Json)).ToList();
            var started = DateTime.UtcNow;
            // Task.Run: an implementation that throws before returning its task must fail the request, not the actor.
            Task.Run(() => _elasticsearch.BulkCreateAsync(_settings.DataStream, documents, CancellationToken.None))
                .PipeTo(Self, success: results => new BulkDone(_instance, sent, results, started),
                    failure: e => new BulkFailed(_instance, sent, e.GetBaseException().Message, started));
        }
    }

    private void Unsend(Pending pending)
    {
        pending.Sending = false;
        _unsent++;
        _unsentBytes += pending.Json.Length;
    }

    private void OnBulkDone(BulkDone done)
    {
        if (done.Results.Count != done.Sent.Count)
        {
            // Not the answer _bulk gives: nothing in it can be trusted, so all of it is sent again.
            Self.Tell(new BulkFailed(_instance, done.Sent, $"_bulk answered {done.Results.Count} items for {done.Sent.Count} documents", done.Started));
            return;
        }
        _requests--;
        _metrics.Batch(done.Sent.Count, DateTime.UtcNow - done.Started);
        var (retry, stored, duplicates) = (0, 0, 0);
        DateTime? newest = null;
        for (var i = 0; i < done.Sent.Count; i++)
        {
            var pending = done.Sent[i];
            var item = done.Results[i];
            switch (item.Outcome)
            {
                case BulkItemOutcome.Stored or BulkItemOutcome.AlreadyStored:
                    if (item.Outcome == BulkItemOutcome.Stored) stored++; else duplicates++;
                    if (newest is null || pending.Timestamp > newest) newest = pending.Timestamp;
                    Remove(pending);
                    Ack(pending.Message);
                    break;
                case BulkItemOutcome.Rejected:
                    Remove(pending);
                    DeadLetter(pending.Message, pending.Id, $"Elasticsearch refused the document ({item.Status}): {item.Error}");
                    break;
                default:
                    retry++;
                    Unsend(pending);
                    break;
            }
        }
        (_stored, _duplicates) = (_stored + stored, _duplicates + duplicates);
        _metrics.Indexed(stored, duplicates, retry, newest);
        if (retry > 0)
        {
            ScheduleRetry($"{retry} of {done.Sent.Count} documents answered 429/5xx; kept unacknowledged");
            return;
        }
        if (_failures > 0)
            _log.Info("indexer: Elasticsearch takes documents again after {0} failed attempts; {1} results still waiting", _failures, _batch.Count);
        _failures = 0;
        _backoff = _settings.MinBackoff;
        Flush();
    }

    private void ScheduleRetry(string why)
    {
        if (_retryPending) return; // the other request in flight failed too: one retry, one doubling
        _failures++;
        _retryPending = true;
        var delay = NextBackoff();
        _log.Warning("indexer: {0}; retry in {1:0.0}s", why, delay.TotalSeconds);
        Timers.StartSingleTimer("retry", RetryDue.Instance, delay);
    }

    private void Remove(Pending pending) => _batch.Remove(pending.Node!);

    private void DeadLetter(ResultArrived message, string? id, string reason)
    {
        _deadLetters++;
        _metrics.DeadLetter();
        _log.Warning("indexer: dead letter {0} from {1}: {2}", id ?? "(no id)", Probing.ProbeTarget.Printable(message.Topic), reason);
        var letter = new DeadLetterMessage(message.Topic, id, reason, Encoding.UTF8.GetString(message.Payload));
        // Acknowledged once the dead letter itself is safe on the broker (or at once if it could not be published,
        // since it would fail again forever: the log line above keeps the reason).
        _broker.PublishAsync(DeadLetterTopic, letter.ToBytes())
            .ContinueWith(_ => message.Acknowledge(CancellationToken.None)).Unwrap()
            .PipeTo(Self, success: () => Acked.Instance, failure: _ => Acked.Instance);
    }

    /// <summary>
    /// Not awaited: the acknowledgement line sends it in order and never fails (a session that ended is the broker's
    /// to deliver again), and a reply per result would double the messages this actor handles.
    /// </summary>
    private static void Ack(ResultArrived message) => _ = message.Acknowledge(CancellationToken.None);

    private TimeSpan NextBackoff()
    {
        var delay = _backoff * (0.8 + 0.4 * Random.Shared.NextDouble());
        _backoff = TimeSpan.FromTicks(Math.Min(_settings.MaxBackoff.Ticks, _backoff.Ticks * 2));
        return delay;
    }

    private sealed class Pending(ResultArrived message, string id, byte[] json, DateTime timestamp)
    {
        public DateTime Timestamp { get; } = timestamp;
        public ResultArrived Message { get; } = message;
        public string Id { get; } = id;
        public byte[] Json { get; } = json;
        public bool Sending { get; set; }
        public LinkedListNode<Pending>? Node { get; set; }
    }

    private sealed record BulkDone(object Instance, IReadOnlyList<Pending> Sent, IReadOnlyList<BulkItemResult> Results, DateTime Started);
    private sealed record BulkFailed(object Instance, IReadOnlyList<Pending> Sent, string Reason, DateTime Started);
    private sealed record SetupFailed(string Reason);

    private sealed record Setup { public static readonly Setup Instance = new(); }
    private sealed record SetupDone { public static readonly SetupDone Instance = new(); }
    private sealed record RetryDue { public static readonly RetryDue Instance = new(); }
    private sealed record Acked { public static readonly Acked Instance = new(); }

    /// <summary>A dead letter: where it came from, its id if it had one, why, and the payload as received.</summary>
    private sealed record DeadLetterMessage(string Topic, string? Id, string Reason, string Payload)
    {
        public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(new System.Text.Json.Nodes.JsonObject
        {
            ["topic"] = Topic, ["id"] = Id, ["reason"] = Reason, ["payload"] = Payload, ["ts"] = DateTime.UtcNow.ToString("O"),
        });
    }
}

/// <summary>
/// The content hash of each (bee, sequence) seen lately, to tell a redelivery (same content) from a conflict (other
/// content). Bounded: the oldest entries go first. Each indexer sees its share of <c>ping/+</c>; across indexers a
/// terms aggregation on <c>swarm.bee</c> and <c>swarm.seq</c> finds what one alone cannot.
/// </summary>
internal sealed class RecentResults(int capacity)
{
    private readonly Dictionary<(string Bee, long Seq), ulong> _hashes = new();
    private readonly Queue<(string Bee, long Seq)> _order = new();

    /// <summary>Records the result; true when the same bee and sequence came before with other content.</summary>
    public bool Seen(string bee, long seq, ulong hash)
    {
        var key = (bee, seq);
        if (_hashes.TryGetValue(key, out var known)) return known != hash;
        _hashes[key] = hash;
        _order.Enqueue(key);
        if (_order.Count > capacity) _hashes.Remove(_order.Dequeue());
        return false;
    }
}

/// <summary>Ask the indexer how it is doing; answered with <see cref="IndexerStatus"/>.</summary>
public sealed record GetIndexerStatus
{
    public static readonly GetIndexerStatus Instance = new();
}

/// <summary>Documents stored, found already stored, dead-lettered; results waiting; whether the data stream is set up.</summary>
public sealed record IndexerStatus(long Stored, long AlreadyStored, long DeadLetters, int Waiting, bool Ready);
