using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Microsoft.Data.Sqlite;
using Swarm.Health;
using Swarm.Metrics;
using Swarm.Mqtt;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Outbox;

/// <summary>Who the outbox speaks for in the retained status on <c>rip/&lt;bee&gt;</c>.</summary>
public sealed record BeeIdentity(string BeeId, string? Location, string Version)
{
    /// <summary><see cref="BeeKinds.Cluster"/> or <see cref="BeeKinds.Edge"/>.</summary>
    public string Kind { get; init; } = BeeKinds.Cluster;

    public string? Connection { get; init; }
    public string? Geo { get; init; }
}

/// <summary>
/// A bee's results between the prober and the broker. Each result gets its sequence number here and is written to
/// the <see cref="OutboxStore"/> before it is published; it leaves only on the broker's PUBACK. While the broker is
/// away results wait on disk and go out in order when it is back; when the outbox is full the oldest are dropped.
/// A result the broker refuses <see cref="MaxRefusals"/> times is dropped so that it never holds back the rest; a
/// result the disk refuses (full, failing) is dropped too, and the node is not ready until the disk takes writes
/// again. Every drop is counted, logged and published in the bee's status. Runs on the blocking-I/O dispatcher.
/// </summary>
public sealed class Outbox : ReceiveActor, IWithTimers
{
    /// <summary>How many times the broker may refuse one result before it is dropped.</summary>
    public const int MaxRefusals = 3;

    private const string Part = "outbox";
    private readonly OutboxSettings _settings;
    private readonly IMqttPublisher _broker;
    private readonly BeeIdentity _identity;
    private readonly int _window;
    private readonly SwarmMetrics _metrics;
    private readonly NodeHealth _health;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<long> _inFlight = [];
    private readonly Dictionary<long, int> _refusals = [];
    private readonly DateTime _since = DateTime.UtcNow;
    private OutboxStore _store = null!;
    private DateTime _lastFlush = DateTime.UtcNow;
    private DateTime _lastStatus = DateTime.MinValue;
    private DateTime? _lastResult;
    private long _delivered;
    private long _droppedReported;
    private long _peakBytes;
    private long _sentUpTo; // every result up to here is in flight or delivered; the pump reads on from here
    private bool _wasConnected;
    private string? _diskError;
    private long _lostToDisk;
    private Bees.BeeListsChanged? _duty;
    private ListRefusal? _refused;
    private bool _statusDue;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The dispatcher of actors whose work blocks on the disk, so they never hold a thread of the default one.</summary>
    public const string Dispatcher = "swarm.blocking-io-dispatcher";

    public static Props Props(OutboxSettings settings, IMqttPublisher broker, BeeIdentity identity, int window = 64,
        SwarmMetrics? metrics = null, NodeHealth? health = null) =>
        Akka.Actor.Props.Create(() => new Outbox(settings, broker, identity, window, metrics ?? SwarmMetrics.Unscraped, health ?? NodeHealth.Unwatched));

    public Outbox(OutboxSettings settings, IMqttPublisher broker, BeeIdentity identity, int window, SwarmMetrics metrics, NodeHealth health)
    {
        _metrics = metrics;
        _health = health;
        _settings = settings;
        _broker = broker;
        _identity = identity;
        _window = window;

        Receive<ProbeResult>(Accept);
        Receive<Published>(p =>
        {
            _inFlight.Remove(p.Seq);
            _refusals.Remove(p.Seq);
            OnDisk(() => _store.Acknowledge(p.Seq)); // if the disk refuses, it is sent again after a restart: a duplicate, not a loss
            _delivered++;
            Pump();
        });
        Receive<PublishFailed>(OnPublishFailed);
        Receive<StatusPublished>(_ => { });
        Receive<Tick>(_ => OnTick());
        Receive<GetOutboxStatus>(_ => Sender.Tell(Status()));
        // What the bee follows and refused is part of its status: published at the next tick when it changed.
        Receive<Bees.BeeListsChanged>(d =>
        {
            if (_duty is not null && _duty.Targets == d.Targets && _duty.Lists.SequenceEqual(d.Lists)) return;
            // A refusal is history once its list has moved past it.
            if (_refused is { } r && d.Lists.Any(l => l.List == r.List && l.Version > (r.Version ?? -1)
                                                      && _duty?.Lists.FirstOrDefault(o => o.List == l.List)?.Version != l.Version))
                _refused = null;
            (_duty, _statusDue) = (d, true);
        });
        Receive<ListRefusal>(r =>
        {
            if (_refused is not null && (_refused.List, _refused.Version, _refused.Reason) == (r.List, r.Version, r.Reason)) return;
            (_refused, _statusDue) = (r, true);
        });
    }

    protected override void PreStart()
    {
        // Opened here, not in the constructor: a failure is then an ordinary actor failure, restarted with backoff.
        try
        {
            _store = OutboxStore.Open(_settings);
        }
        catch (Exception e)
        {
            _health.Problem(Part, $"cannot open {_settings.Directory} ({e.Message}); results are not kept; retrying with backoff");
            throw;
        }
        _droppedReported = _store.Dropped;
        if (_store.FoundDamaged is { } damage)
        {
            _log.Error("outbox {0} was damaged ({1}): set aside as {2}; {3} results saved, {4}; numbering continues after {5}",
                _settings.Directory, damage.Reason, damage.SetAside, damage.Salvaged,
                damage.Lost is { } lost ? $"{lost} lost and counted as dropped" : "an unknown number lost", _store.LastSeq);
        }
        _log.Info("outbox {0}: {1} results recovered from disk to deliver, sequence continues after {2}, fsync {3}, limit {4} MiB",
            _settings.Directory, _store.Recovered, _store.LastSeq, _settings.Fsync.ToString().ToLowerInvariant(), _settings.MaxBytes >> 20);
        _health.Healthy(Part);
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromMilliseconds(200));
    }

    protected override void PostStop()
    {
        _health.Problem(Part, "stopped; results are not being kept (it restarts with backoff)");
        _store?.Dispose();
    }

    private void Accept(ProbeResult result)
    {
        _metrics.Round(result);
        _lastResult = result.Timestamp;
        var stored = OnDisk(() => _store.Append(seq =>
        {
            var numbered = result with { Seq = seq };
            return (Topics.ForResult(result.Target), JsonSerializer.SerializeToUtf8Bytes(numbered, SwarmJson.Wire.ProbeResult));
        }));
        if (!stored)
        {
            // Fail soft: the round is lost and counted, the bee goes on probing, and the node says it is not ready.
            _store.CountLost();
            _lostToDisk++;
            _health.Problem(Part, $"the disk refuses results ({_diskError}); {_lostToDisk} rounds lost so far");
            return;
        }
        if (_diskError is not null)
        {
            _log.Info("outbox {0}: the disk takes writes again; {1} results were lost while it did not", _settings.Directory, _lostToDisk);
            _diskError = null;
            _lostToDisk = 0;
            _health.Healthy(Part);
        }
        OnDisk(() => _store.DropOldestOverLimit(_inFlight.Contains));
        _peakBytes = Math.Max(_peakBytes, _store.DiskBytes);
        Pump();
    }

    /// <summary>
    /// Runs work on the disk; a disk that refuses it (full, read-only, failing) is reported, never thrown: the node
    /// says it is not ready, and the work is tried again when it comes round.
    /// </summary>
    private bool OnDisk(Action work)
    {
        try
        {
            work();
            return true;
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 11 or 26)
        {
            // Damage, not a full disk: fail, so that the supervisor reopens the store, which checks and salvages it.
            _log.Error("outbox {0}: the database is damaged ({1}); reopening it to check and salvage", _settings.Directory, e.Message);
            throw;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            if (_diskError is null)
                _log.Error("outbox {0}: the disk refuses writes ({1}); rounds are dropped and counted until it takes them again", _settings.Directory, e.Message);
            _diskError = e.Message;
            _health.Problem(Part, $"the disk refuses results ({e.Message}); {_lostToDisk} rounds lost so far");
            return false;
        }
    }

    private void OnPublishFailed(PublishFailed f)
    {
        // It stays on disk at its place in the sequence; the pump sends it again.
        _inFlight.Remove(f.Seq);
        _sentUpTo = Math.Min(_sentUpTo, f.Seq - 1);
        if (f.Refused)
        {
            var refusals = _refusals[f.Seq] = _refusals.GetValueOrDefault(f.Seq) + 1;
            if (refusals >= MaxRefusals)
            {
                _refusals.Remove(f.Seq);
                OnDisk(() => _store.Drop(f.Seq));
                _log.Error("broker refused result {0} {1} times ({2}); dropped and counted, the results behind it go on",
                    f.Seq, refusals, f.Reason);
            }
            Pump();
            return;
        }
        if (_inFlight.Count == 0)
            _log.Warning("broker unreachable ({0}); {1} results kept on disk ({2:0.0} MiB); they go out in order when it is back",
                f.Reason, _store.PendingCount, _store.PendingBytes / 1048576.0);
    }

    private void Pump()
    {
        if (!_broker.IsConnected || _inFlight.Count >= _window) return;
        IReadOnlyList<OutboxRecord> records = [];
        if (!OnDisk(() => records = _store.Read(_sentUpTo, _window + _inFlight.Count,
                damaged: seq => _log.Error("outbox: result {0} is damaged on disk (CRC mismatch); dropped and counted", seq))))
            return;
        foreach (var (seq, topic, payload) in records)
        {
            if (_inFlight.Count >= _window) break;
            _sentUpTo = seq;
            if (!_inFlight.Add(seq)) continue;
            _broker.PublishAsync(topic, payload).PipeTo(Self, success: () => new Published(seq),
                failure: e => new PublishFailed(seq, e.GetBaseException().Message, e.GetBaseException() is MqttPublishRefusedException));
        }
    }

    private void OnTick()
    {
        var now = DateTime.UtcNow;
        if (_settings.Fsync == FsyncPolicy.Interval && now - _lastFlush >= _settings.FsyncInterval)
        {
            OnDisk(_store.Flush);
            _lastFlush = now;
        }
        if (_store.PendingCount == 0 && _store.DiskBytes > 4L << 20) OnDisk(_store.Compact);
        var connected = _broker.IsConnected;
        var dropsToReport = _store.Dropped != _droppedReported;
        if (dropsToReport)
        {
            _log.Warning("outbox: dropped {0} results ({1} since the outbox was created); see the log above for why",
                _store.Dropped - _droppedReported, _store.Dropped);
        }
        // The status goes out when the broker comes back, when drops happened, when the bee's lists changed, and once
        // a minute.
        if (connected && (!_wasConnected || dropsToReport || _statusDue || now - _lastStatus > TimeSpan.FromMinutes(1)))
        {
            PublishStatus("online");
            _droppedReported = _store.Dropped;
            _lastStatus = now;
            _statusDue = false;
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
            Lists = _duty?.Lists,
            Targets = _duty?.Targets,
            LastResult = _lastResult,
            Refused = _refused,
        };
        _broker.PublishAsync(Topics.ForRip(_identity.BeeId), JsonSerializer.SerializeToUtf8Bytes(message, SwarmJson.Wire.BeeStatus), retain: true)
            .PipeTo(Self, success: () => StatusPublished.Instance, failure: _ => StatusPublished.Instance);
    }

    /// <summary>The status of a bee as <c>rip/&lt;bee&gt;</c> carries it (also its last will, with status "dead").</summary>
    public static BeeStatus BeeStatusFor(BeeIdentity identity, string status, DateTime? since = null) =>
        new(identity.BeeId, status, identity.Location)
        {
            Version = identity.Version, Since = since, Kind = identity.Kind, Connection = identity.Connection, Geo = identity.Geo,
        };

    private OutboxStatus Status() => new(_store.PendingCount, _inFlight.Count, _delivered, _store.Dropped, _store.LastSeq,
        _store.DiskBytes, _peakBytes, _broker.IsConnected) { LastResult = _lastResult, DiskError = _diskError, Refused = _refused };

    private sealed record Published(long Seq);
    private sealed record PublishFailed(long Seq, string Reason, bool Refused);

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

    /// <summary>Why the disk refuses results, while it does.</summary>
    public string? DiskError { get; init; }

    /// <summary>The latest list version the bee refused, and why.</summary>
    public ListRefusal? Refused { get; init; }
}
