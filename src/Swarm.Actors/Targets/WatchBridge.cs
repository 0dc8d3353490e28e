using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Swarm.Mqtt;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Targets;

/// <summary>A message that arrived on <c>watch</c> or <c>watch/&lt;list&gt;</c>.</summary>
public sealed record WatchReceived(string Topic, byte[] Payload);

/// <summary>
/// The queen's bridge from MQTT <c>watch</c> to the target lists: validates each payload, delivers a good one to its
/// list (in order per list, retried until the list answers: a shard whose queen just died swallows messages until
/// it moves), and answers a bad one on <c>watch/errors</c> with the reason; the list stays as it was.
/// </summary>
public sealed class WatchBridge : ReceiveActor
{
    private readonly Dictionary<string, LinkedList<IWithTargetListId>> _queues = new();
    private readonly TimeSpan _attemptTimeout;
    private readonly TimeSpan _giveUpAfter;
    private readonly IActorRef _targetLists;
    private readonly IMqttPublisher _broker;
    private readonly WatchLimits _limits;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, long> _knownVersions = new();

    public static Props Props(IActorRef targetLists, IMqttPublisher broker, WatchLimits limits, TimeSpan? attemptTimeout = null, TimeSpan? giveUpAfter = null) =>
        Akka.Actor.Props.Create(() => new WatchBridge(targetLists, broker, limits, attemptTimeout ?? TimeSpan.FromSeconds(3), giveUpAfter ?? TimeSpan.FromSeconds(90)));

    public WatchBridge(IActorRef targetLists, IMqttPublisher broker, WatchLimits limits, TimeSpan attemptTimeout, TimeSpan giveUpAfter)
    {
        _targetLists = targetLists;
        _attemptTimeout = attemptTimeout;
        _giveUpAfter = giveUpAfter;
        _broker = broker;
        _limits = limits;

        Receive<WatchReceived>(OnWatch);
        Receive<Delivered>(OnDelivered);
        Receive<NotDelivered>(OnNotDelivered);
        Receive<CurrentTargets>(c => _knownVersions[c.ListId] = c.Version); // answers to GetTargets after a rejection
        Receive<GetQueues>(_ => Sender.Tell(_queues.ToDictionary(q => q.Key, q => q.Value.Count)));
        Receive<Status.Success>(_ => { });
        Receive<Status.Failure>(f => _log.Warning("watch: could not publish an error on {0}: {1}", SwarmNames.Topics.WatchErrors, f.Cause.Message));
    }

    private void OnWatch(WatchReceived message)
    {
        if (message.Topic == SwarmNames.Topics.WatchErrors) return; // our own answers, seen through watch/+
        var parsed = WatchPayload.Parse(message.Topic, message.Payload, _limits);
        if (parsed.Command is { } command)
        {
            var source = $"mqtt {message.Topic}";
            Enqueue(command.Operation switch
            {
                WatchOperation.Add => new AddTargets(command.ListId, command.Targets, source) { Probe = command.Probe },
                WatchOperation.Remove => new RemoveTargets(command.ListId, command.Targets, source) { Probe = command.Probe },
                _ => new ReplaceTargets(command.ListId, command.Targets, source) { Probe = command.Probe },
            });
            return;
        }
        Reject(message.Topic, parsed.ListId, parsed.Error!);
        if (WatchPayload.IsListName(parsed.ListId)) _targetLists.Tell(new GetTargets(parsed.ListId));
    }

    /// <summary>
    /// One command per list in flight, so a retried command can never land after a newer one. While a list does not
    /// answer (its queen is away), what waits behind is bounded: a replacement supersedes every change still waiting,
    /// and past <see cref="MaxWaiting"/> waiting changes a new add or remove is refused with the reason.
    /// </summary>
    private void Enqueue(IWithTargetListId command)
    {
        if (!_queues.TryGetValue(command.ListId, out var queue)) _queues[command.ListId] = queue = new LinkedList<IWithTargetListId>();
        if (command is ReplaceTargets replace && queue.Count > 1)
        {
            var superseded = queue.Count - 1;
            // A replacement without settings keeps the list's: the latest settings among the changes it supersedes go with it.
            var settings = queue.Skip(1).Reverse().OfType<IWithProbeSettings>().Select(c => c.Probe).FirstOrDefault(p => p is not null);
            if (replace.Probe is null && settings is not null) command = replace with { Probe = settings };
            while (queue.Count > 1) queue.RemoveLast(); // the first is in flight: it stays
            _log.Info("watch: list {0} has not answered yet; a new replacement supersedes {1} changes waiting for it", command.ListId, superseded);
        }
        else if (queue.Count > MaxWaiting)
        {
            Reject(TopicOf(command.ListId), command.ListId,
                $"{MaxWaiting} changes to list {command.ListId} already wait for it to answer (is a queen running?); this one was refused: send a replacement instead");
            return;
        }
        queue.AddLast(command);
        if (queue.Count == 1) Send(command, 1, DateTime.UtcNow);
    }

    /// <summary>Changes that may wait behind the one in flight for a list that does not answer.</summary>
    public const int MaxWaiting = 100;

    /// <summary>Changes waiting per list, the one in flight included (for tests and diagnostics).</summary>
    public sealed record GetQueues
    {
        public static readonly GetQueues Instance = new();
    }

    private void Send(IWithTargetListId command, int attempt, DateTime firstSent) =>
        // Safe to repeat: replace, add and remove are idempotent on the list.
        _targetLists.Ask<ISwarmMessage>(command, _attemptTimeout).PipeTo(Self,
            success: reply => new Delivered(command, reply),
            failure: _ => new NotDelivered(command, attempt, firstSent));

    private void OnDelivered(Delivered d)
    {
        switch (d.Reply)
        {
            case CurrentTargets c:
                _knownVersions[c.ListId] = c.Version;
                if (c.Changed) _log.Info("watch: list {0} changed, now version {1}: {2}", c.ListId, c.Version, string.Join(' ', c.Targets.Take(20)));
                else _log.Info("watch: list {0} unchanged at version {1} (same targets)", c.ListId, c.Version);
                break;
            case TargetsRejected r:
                _knownVersions[r.ListId] = r.Version;
                Reject(TopicOf(r.ListId), r.ListId, r.Reason);
                break;
        }
        Next(d.Command.ListId);
    }

    private void OnNotDelivered(NotDelivered n)
    {
        if (DateTime.UtcNow - n.FirstSent < _giveUpAfter)
        {
            _log.Warning("watch: list {0} did not answer (attempt {1}; its queen may have just left); retrying", n.Command.ListId, n.Attempt);
            Send(n.Command, n.Attempt + 1, n.FirstSent);
            return;
        }
        Reject(TopicOf(n.Command.ListId), n.Command.ListId,
            $"list {n.Command.ListId} did not answer for {_giveUpAfter.TotalSeconds:0.#} s (is a queen running?); the change was not made, send it again");
        Next(n.Command.ListId);
    }

    private void Next(string list)
    {
        var queue = _queues[list];
        queue.RemoveFirst();
        if (queue.Count > 0) Send(queue.First!.Value, 1, DateTime.UtcNow);
        else _queues.Remove(list);
    }

    private static string TopicOf(string list) =>
        list == SwarmNames.DefaultList ? SwarmNames.Topics.Watch : $"{SwarmNames.Topics.Watch}/{list}";

    private sealed record Delivered(IWithTargetListId Command, ISwarmMessage Reply);

    private sealed record NotDelivered(IWithTargetListId Command, int Attempt, DateTime FirstSent);

    private void Reject(string topic, string list, string reason)
    {
        long? version = _knownVersions.TryGetValue(list, out var v) ? v : null;
        _log.Warning("watch: rejected a payload on {0} for list {1}: {2}; the list stays as it was", topic, list, reason);
        var error = new WatchError(topic, list, reason, version, DateTime.UtcNow);
        _broker.PublishAsync(SwarmNames.Topics.WatchErrors, JsonSerializer.SerializeToUtf8Bytes(error, SwarmJson.Wire.WatchError))
            .PipeTo(Self, success: () => new Status.Success(null));
    }
}
