using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using Swarm.Mqtt;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Targets;

/// <summary>
/// One named target list, a sharded persistent entity (<c>targets-{list}</c>). Each change gets a new version,
/// is journaled, then announced on DistributedPubSub topic <c>targets/{list}</c> for every bee of the cluster that
/// follows it (and told directly to the bees that started following it in the last 30 s), and published retained on the MQTT topic of the same name for edge bees (again at each start of the
/// entity, and until the broker has it).
/// </summary>
public sealed class TargetList : ReceivePersistentActor, IWithTimers
{
    private const int SnapshotEvery = 50;

    /// <summary>
    /// 96 KiB: a list, and the event that journals it, travel in one message, and Akka.Remote's frame is 128,000
    /// bytes; what is left covers the JSON around the targets. A list that never fits would silently never reach a
    /// bee on another node.
    /// </summary>
    public const int DefaultMaxBytes = 96 * 1024;

    private readonly string _listId;
    private readonly int _maxTargets;
    private readonly int _maxBytes;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _mediator;
    private readonly IMqttPublisher? _broker;
    private long _version;
    private long _retainedVersion = -1;
    private long _retainedOn = -1; // the link's connection count when the broker took it
    private long _publishing = -1; // the version on its way to the broker: one publish at a time
    private bool _brokerFailing;
    private IReadOnlyList<string> _targets;
    private ProbeSettings? _probe;

    public override string PersistenceId { get; }
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// The bees that asked for the list lately (each asks every 5 s): when each was first and last heard, on the
    /// monotonic clock. Those first heard within <see cref="NewFollowerWindow"/> are told of a change directly as well
    /// as through DistributedPubSub: the mediator learns a new subscriber by gossip, node to node, so a change made
    /// just after a bee started could reach it only at its next sync, 5 s later (measured: 4.3–4.8 s for the first
    /// change in a 10-node cluster just started). Older followers get changes from the mediator alone.
    /// </summary>
    private readonly Dictionary<IActorRef, (long First, long Last)> _askedBy = new();
    private readonly Func<long> _clock;
    private long _pruned;

    /// <summary>How long a new follower is told directly (DistributedPubSub has gossiped it by then), and how long one not heard is kept.</summary>
    public static readonly TimeSpan NewFollowerWindow = TimeSpan.FromSeconds(30);

    /// <summary>How long a list waits to publish its version again after the broker did not take it.</summary>
    public static readonly TimeSpan RepublishAfter = TimeSpan.FromSeconds(5);

    /// <param name="clock">Milliseconds on a monotonic clock (<see cref="Environment.TickCount64"/>; tests move their own).</param>
    public static Props Props(string listId, IReadOnlyList<string> initialTargets, IActorRef? mediator = null, int maxTargets = 1000,
        int maxBytes = DefaultMaxBytes, IMqttPublisher? broker = null, Func<long>? clock = null) =>
        Akka.Actor.Props.Create(() => new TargetList(listId, initialTargets, mediator, maxTargets, maxBytes, broker, clock));

    public TargetList(string listId, IReadOnlyList<string> initialTargets, IActorRef? mediator, int maxTargets, int maxBytes, IMqttPublisher? broker,
        Func<long>? clock = null)
    {
        _clock = clock ?? (() => Environment.TickCount64);
        _pruned = _clock();
        _broker = broker;
        _listId = listId;
        _maxTargets = maxTargets;
        _maxBytes = maxBytes;
        _targets = initialTargets;
        _mediator = mediator ?? DistributedPubSub.Get(Context.System).Mediator;
        PersistenceId = $"targets-{listId}";

        Recover<TargetsReplaced>(Apply);
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is TargetListSnapshot s) (_version, _targets, _probe) = (s.Version, s.Targets, s.Probe);
        });
        // The broker may have lost its retained copy (restarted without persistence), or never got the latest.
        Recover<RecoveryCompleted>(_ =>
        {
            PublishRetained();
            if (_broker is not null) Timers.StartPeriodicTimer("reconnected", Reconnected.Instance, RepublishAfter);
        });

        Command<GetTargets>(_ =>
        {
            Follow(Sender);
            Sender.Tell(Current(changed: false));
        });
        Command<ReplaceTargets>(c => Change(c.Targets, c.Probe, c.Source));
        Command<AddTargets>(c => Change(_targets.Concat(c.Targets).Distinct().ToList(), c.Probe, c.Source));
        Command<RemoveTargets>(c => Change(_targets.Except(c.Targets).ToList(), c.Probe, c.Source));
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning("target list {0}: snapshot failed ({1}); recovery replays more events", _listId, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
        Command<Reconnected>(_ =>
        {
            // Another connection since the broker took it: a failover, or a broker restarted without what was retained.
            if (_retainedOn >= 0 && _broker!.Connections != _retainedOn) (_retainedVersion, _retainedOn) = (-1, -1);
            PublishRetained();
        });
        Command<Retained>(r =>
        {
            _publishing = -1;
            _retainedVersion = Math.Max(_retainedVersion, r.Version);
            _retainedOn = r.Connection;
            if (_brokerFailing) _log.Info("target list {0}: version {1} is retained on the broker again", _listId, r.Version);
            _brokerFailing = false;
        });
        Command<NotRetained>(n =>
        {
            _publishing = -1;
            if (!_brokerFailing)
                _log.Warning("target list {0}: the broker did not take version {1} ({2}); edge bees wait for it; retrying every {3} s",
                    _listId, n.Version, n.Reason, RepublishAfter.TotalSeconds);
            _brokerFailing = true;
            Timers.StartSingleTimer("republish", Republish.Instance, RepublishAfter);
        });
        Command<Republish>(_ => PublishRetained());
    }

    /// <summary>Publishes the current version, retained, on <c>targets/&lt;list&gt;</c>, unless the broker has it already.</summary>
    private void PublishRetained()
    {
        // Version 0 is the node's configured default, before any change: edge bees take it as cluster bees do.
        if (_broker is null || _targets.Count == 0 || _retainedVersion >= _version) return;
        if (_publishing == _version) return;
        var version = _publishing = _version;
        var connection = _broker.Connections;
        var payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new PublishedList(_listId, version, _targets) { At = DateTime.UtcNow, Probe = _probe },
            SwarmJson.Wire.PublishedList);
        _broker.PublishAsync(SwarmNames.TargetsTopic(_listId), payload, retain: true)
            .PipeTo(Self, success: () => new Retained(version, connection), failure: e => new NotRetained(version, e.GetBaseException().Message));
    }

    private sealed record Retained(long Version, long Connection);

    private sealed record Reconnected
    {
        public static readonly Reconnected Instance = new();
    }

    private sealed record NotRetained(long Version, string Reason);

    private sealed record Republish
    {
        public static readonly Republish Instance = new();
    }

    private void Change(IReadOnlyList<string> targets, ProbeSettings? probe, string source)
    {
        // Settings not given are kept; an empty set means the node's own again.
        probe = probe is null ? _probe : ProbeSettingsCheck.Same(probe, new ProbeSettings()) ? null : probe;
        // Several queens may relay the same watch message: an identical list is a no-op, not a new version.
        if (targets.SequenceEqual(_targets) && ProbeSettingsCheck.Same(probe, _probe))
        {
            Sender.Tell(Current(changed: false));
            return;
        }
        if (targets.Count == 0)
        {
            Sender.Tell(new TargetsRejected(_listId, _version, "that would leave the list empty and stop every bee that follows it; send a replacement instead"));
            return;
        }
        if (targets.Count > _maxTargets)
        {
            Sender.Tell(new TargetsRejected(_listId, _version, $"that would make {targets.Count} targets, over the limit of {_maxTargets} per list"));
            return;
        }
        if (SizeOf(targets, probe) is var bytes && bytes > _maxBytes)
        {
            Sender.Tell(new TargetsRejected(_listId, _version,
                $"that would make a list of {bytes} bytes, over the limit of {_maxBytes} (Swarm:Targets:MaxListBytes): split it into several lists"));
            return;
        }
        var replyTo = Sender;
        Persist(new TargetsReplaced(_listId, _version + 1, targets, source, DateTime.UtcNow) { Probe = probe }, e =>
        {
            Apply(e);
            _log.Info("target list {0} is now version {1} with {2} targets (from {3})", _listId, _version, _targets.Count, e.Source);
            var current = Current(changed: true);
            _mediator.Tell(new Publish(SwarmNames.TargetsTopic(_listId), current));
            Prune();
            var now = _clock();
            foreach (var (follower, heard) in _askedBy)
                if (now - heard.First <= NewFollowerWindow.TotalMilliseconds) follower.Tell(current);
            replyTo.Tell(current);
            PublishRetained();
            if (LastSequenceNr % SnapshotEvery == 0) SaveSnapshot(new TargetListSnapshot(_listId, _version, _targets) { Probe = _probe });
        });
    }

    /// <summary>
    /// The size of a list as the limit counts it: each target as JSON writes it (escapes included: '&amp;', '+' or a
    /// non-ASCII letter take six bytes there), and one for the separator. Plain hosts and URLs count their length.
    /// </summary>
    public static int SizeOf(IEnumerable<string> targets, ProbeSettings? probe = null) =>
        targets.Sum(t => System.Text.Json.JsonEncodedText.Encode(t).EncodedUtf8Bytes.Length + 1)
        + (probe is null ? 0 : System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(probe, SwarmJson.Default.ProbeSettings).Length); // they travel together

    /// <summary>Remembers an actor that asks, not an Ask's temporary reply path (the management API's).</summary>
    private void Follow(IActorRef asker)
    {
        if (asker.IsNobody() || asker.Path.Elements is ["temp", ..]) return;
        var now = _clock();
        _askedBy[asker] = (_askedBy.TryGetValue(asker, out var heard) ? heard.First : now, now);
        if (now - _pruned > NewFollowerWindow.TotalMilliseconds) Prune();
    }

    /// <summary>Forgets the followers not heard for <see cref="NewFollowerWindow"/>: gone, or restarted under another UID.</summary>
    private void Prune()
    {
        _pruned = _clock();
        foreach (var (asker, heard) in _askedBy)
            if (_pruned - heard.Last > NewFollowerWindow.TotalMilliseconds) _askedBy.Remove(asker);
    }

    private void Apply(TargetsReplaced e) => (_version, _targets, _probe) = (e.Version, e.Targets, e.Probe);

    private CurrentTargets Current(bool changed) => new(_listId, _version, _targets, changed) { Probe = _probe };
}
