using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Swarm.Metrics;
using Swarm.Mqtt;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Outbox;

/// <summary>Who the outbox speaks for in the retained status on <c>rip/&lt;bee&gt;</c>.</summary>
public sealed record BeeIdentity(string BeeId, string? Location, string Version);

/// <summary>
/// A bee's results between the prober and the broker. Each result gets its sequence number here and is written to
/// the <see cref="OutboxStore"/> before it is published; it leaves only on the broker's PUBACK. While the broker is
/// away results wait on disk and go out in order when it is back; when the outbox is full the oldest are dropped,
/// and every drop is counted, logged and published in the bee's status.
/// </summary>
public sealed class Outbox : ReceiveActor, IWithTimers
{
    private readonly OutboxStore _store;
    private readonly OutboxSettings _settings;
    private readonly IMqttPublisher _broker;
    private readonly BeeIdentity _identity;
    private readonly int _window;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<long> _inFlight = [];
    private readonly DateTime _since = DateTime.UtcNow;
    private DateTime _lastFlush = DateTime.UtcNow;
    private DateTime _lastStatus = DateTime.MinValue;
    private long _delivered;
    private long _droppedReported;
    private long _peakBytes;
    private bool _wasConnected;

    public ITimerScheduler Timers { get; set; } = null!;

    private readonly SwarmMetrics _metrics;
    private DateTime? _lastResult;

    public static Props Props(OutboxSettings settings, IMqttPublisher broker, BeeIdentity identity, int window = 64, SwarmMetrics? metrics = null) =>
        Akka.Actor.Props.Create(() => new Outbox(settings, broker, identity, window, metrics ?? SwarmMetrics.Unscraped));

    public Outbox(OutboxSettings settings, IMqttPublisher broker, BeeIdentity identity, int window, SwarmMetrics metrics)
    {
        _metrics = metrics;
        _settings = settings;
        _store = OutboxStore.Open(settings);
        _broker = broker;
        _identity = identity;
        _window = window;
        _droppedReported = _store.Dropped;

        Receive<ProbeResult>(Accept);
        Receive<Published>(p =>
        {
            _inFlight.Remove(p.Seq);
            _store.Acknowledge(p.Seq);
            _delivered++;
            Pump();
        });
        Receive<PublishFailed>(f =>
        {
            // It stays on disk at its place in the sequence; the pump sends it again once the broker is back.
            _inFlight.Remove(f.Seq);
            if (_inFlight.Count == 0)
                _log.Warning("broker unreachable ({0}); {1} results kept on disk ({2:0.0} MiB); they go out in order when it is back",
                    f.Reason, _store.PendingCount, _store.PendingBytes / 1048576.0);
        });
        Receive<StatusPublished>(_ => { });
        Receive<Tick>(_ => OnTick());
        Receive<GetOutboxStatus>(_ => Sender.Tell(Status()));
    }

    protected override void PreStart()
    {
        _log.Info("outbox {0}: {1} results recovered from disk to deliver, sequence continues after {2}, fsync {3}, limit {4} MiB",
            _settings.Directory, _store.Recovered, _store.LastSeq, _settings.Fsync.ToString().ToLowerInvariant(), _settings.MaxBytes >> 20);
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromMilliseconds(200));
    }

    protected override void PostStop() => _store.Dispose();

    private void Accept(ProbeResult result)
    {
        _metrics.Round(result);
        _lastResult = result.Timestamp;
        _store.Append(seq =>
        {
            var numbered = result with { Seq = seq };
            return (Topics.ForResult(result.Target), JsonSerializer.SerializeToUtf8Bytes(numbered, SwarmJson.Wire.ProbeResult));
        });
        _store.DropOldestOverLimit(_inFlight.Contains);
        _peakBytes = Math.Max(_peakBytes, _store.DiskBytes);
        Pump();
    }

    private void Pump()
    {
        if (!_broker.IsConnected || _inFlight.Count >= _window) return;
        foreach (var (seq, topic, payload) in _store.Pending(_inFlight.Contains))
        {
            _inFlight.Add(seq);
            _broker.PublishAsync(topic, payload)
                .PipeTo(Self, success: () => new Published(seq), failure: e => new PublishFailed(seq, e.GetBaseException().Message));
            if (_inFlight.Count >= _window) break;
        }
    }

    private void OnTick()
    {
        var now = DateTime.UtcNow;
        if (_settings.Fsync == FsyncPolicy.Interval && now - _lastFlush >= _settings.FsyncInterval)
        {
            _store.Flush();
            _lastFlush = now;
        }
        var connected = _broker.IsConnected;
        var dropsToReport = _store.Dropped != _droppedReported;
        if (dropsToReport)
        {
            _log.Warning("outbox full ({0} MiB): dropped {1} oldest results ({2} since the outbox was created); newest kept",
                _settings.MaxBytes >> 20, _store.Dropped - _droppedReported, _store.Dropped);
        }
        // The status goes out when the broker comes back, when drops happened, and once a minute.
        if (connected && (!_wasConnected || dropsToReport || now - _lastStatus > TimeSpan.FromMinutes(1)))
        {
            PublishStatus("online");
            _droppedReported = _store.Dropped;
            _lastStatus = now;
        }
        _wasConnected = connected;
        _metrics.Outbox(_store.PendingCount, _store.DiskBytes, _delivered, _store.Dropped);
        Pump();
    }

    private void PublishStatus(string status)
    {
        var message = BeeStatusFor(_identity, status, _since) with
        {
            LastSeq = _store.LastSeq,
            Backlog = _store.PendingCount,
            Dropped = _store.Dropped,
        };
        _broker.PublishAsync(Topics.ForRip(_identity.BeeId), JsonSerializer.SerializeToUtf8Bytes(message, SwarmJson.Wire.BeeStatus), retain: true)
            .PipeTo(Self, success: () => StatusPublished.Instance, failure: _ => StatusPublished.Instance);
    }

    /// <summary>The status of a bee as <c>rip/&lt;bee&gt;</c> carries it (also its last will, with status "dead").</summary>
    public static BeeStatus BeeStatusFor(BeeIdentity identity, string status, DateTime? since = null) =>
        new(identity.BeeId, status, identity.Location) { Version = identity.Version, Since = since };

    private OutboxStatus Status() => new(_store.PendingCount, _inFlight.Count, _delivered, _store.Dropped, _store.LastSeq,
        _store.DiskBytes, _peakBytes, _broker.IsConnected) { LastResult = _lastResult };

    private sealed record Published(long Seq);
    private sealed record PublishFailed(long Seq, string Reason);

    private sealed record StatusPublished
    {
        public static readonly StatusPublished Instance = new();
    }

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }
}

/// <summary>Ask the outbox how it is doing; answered with <see cref="OutboxStatus"/>.</summary>
public sealed record GetOutboxStatus
{
    public static readonly GetOutboxStatus Instance = new();
}

/// <summary>Results waiting and in flight, delivered since start, dropped since creation, disk use now and at peak.</summary>
public sealed record OutboxStatus(int Backlog, int InFlight, long Delivered, long Dropped, long LastSeq, long DiskBytes, long PeakDiskBytes, bool Connected)
{
    /// <summary>When the latest result the outbox took was measured.</summary>
    public DateTime? LastResult { get; init; }
}
