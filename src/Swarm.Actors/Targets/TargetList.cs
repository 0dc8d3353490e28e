using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using Swarm.Protocol;

namespace Swarm.Targets;

/// <summary>
/// One named target list, a sharded persistent entity (<c>targets-{list}</c>). Each change gets a new version,
/// is journaled, then announced on DistributedPubSub topic <c>targets/{list}</c> for every bee that follows it.
/// </summary>
public sealed class TargetList : ReceivePersistentActor
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
    private long _version;
    private IReadOnlyList<string> _targets;

    public override string PersistenceId { get; }

    public static Props Props(string listId, IReadOnlyList<string> initialTargets, IActorRef? mediator = null, int maxTargets = 1000,
        int maxBytes = DefaultMaxBytes) =>
        Akka.Actor.Props.Create(() => new TargetList(listId, initialTargets, mediator, maxTargets, maxBytes));

    public TargetList(string listId, IReadOnlyList<string> initialTargets, IActorRef? mediator, int maxTargets, int maxBytes)
    {
        _listId = listId;
        _maxTargets = maxTargets;
        _maxBytes = maxBytes;
        _targets = initialTargets;
        _mediator = mediator ?? DistributedPubSub.Get(Context.System).Mediator;
        PersistenceId = $"targets-{listId}";

        Recover<TargetsReplaced>(Apply);
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is TargetListSnapshot s) (_version, _targets) = (s.Version, s.Targets);
        });

        Command<GetTargets>(_ => Sender.Tell(Current(changed: false)));
        Command<ReplaceTargets>(c => Change(c.Targets, c.Source));
        Command<AddTargets>(c => Change(_targets.Concat(c.Targets).Distinct().ToList(), c.Source));
        Command<RemoveTargets>(c => Change(_targets.Except(c.Targets).ToList(), c.Source));
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning("target list {0}: snapshot failed ({1}); recovery replays more events", _listId, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    private void Change(IReadOnlyList<string> targets, string source)
    {
        // Several queens may relay the same watch message: an identical list is a no-op, not a new version.
        if (targets.SequenceEqual(_targets))
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
        if (SizeOf(targets) is var bytes && bytes > _maxBytes)
        {
            Sender.Tell(new TargetsRejected(_listId, _version,
                $"that would make a list of {bytes} bytes, over the limit of {_maxBytes} (Swarm:Targets:MaxListBytes): split it into several lists"));
            return;
        }
        var replyTo = Sender;
        Persist(new TargetsReplaced(_listId, _version + 1, targets, source, DateTime.UtcNow), e =>
        {
            Apply(e);
            _log.Info("target list {0} is now version {1} with {2} targets (from {3})", _listId, _version, _targets.Count, e.Source);
            var current = Current(changed: true);
            _mediator.Tell(new Publish(SwarmNames.TargetsTopic(_listId), current));
            replyTo.Tell(current);
            if (LastSequenceNr % SnapshotEvery == 0) SaveSnapshot(new TargetListSnapshot(_listId, _version, _targets));
        });
    }

    /// <summary>
    /// The size of a list as the limit counts it: each target as JSON writes it (escapes included: '&amp;', '+' or a
    /// non-ASCII letter take six bytes there), and one for the separator. Plain hosts and URLs count their length.
    /// </summary>
    public static int SizeOf(IEnumerable<string> targets) => targets.Sum(t => System.Text.Json.JsonEncodedText.Encode(t).EncodedUtf8Bytes.Length + 1);

    private void Apply(TargetsReplaced e) => (_version, _targets) = (e.Version, e.Targets);

    private CurrentTargets Current(bool changed) => new(_listId, _version, _targets, changed);
}
