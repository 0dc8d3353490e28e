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
/// The queen's bridge from MQTT <c>watch</c> to the target lists: validates each payload, forwards a good one as
/// <see cref="ReplaceTargets"/>, and answers a bad one on <c>watch/errors</c> with the reason; the list stays as it was.
/// </summary>
public sealed class WatchBridge : ReceiveActor
{
    private readonly IActorRef _targetLists;
    private readonly IMqttPublisher _broker;
    private readonly WatchLimits _limits;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, long> _knownVersions = new();

    public static Props Props(IActorRef targetLists, IMqttPublisher broker, WatchLimits limits) =>
        Akka.Actor.Props.Create(() => new WatchBridge(targetLists, broker, limits));

    public WatchBridge(IActorRef targetLists, IMqttPublisher broker, WatchLimits limits)
    {
        _targetLists = targetLists;
        _broker = broker;
        _limits = limits;

        Receive<WatchReceived>(OnWatch);
        Receive<CurrentTargets>(c =>
        {
            _knownVersions[c.ListId] = c.Version;
            if (c.Changed)
                _log.Info("watch: list {0} replaced, now version {1}: {2}", c.ListId, c.Version, string.Join(' ', c.Targets.Take(20)));
            else
                _log.Info("watch: list {0} unchanged at version {1} (same targets)", c.ListId, c.Version);
        });
        Receive<TargetsRejected>(r =>
        {
            _knownVersions[r.ListId] = r.Version;
            Reject(r.ListId == SwarmNames.DefaultList ? SwarmNames.Topics.Watch : $"{SwarmNames.Topics.Watch}/{r.ListId}", r.ListId, r.Reason);
        });
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
            _targetLists.Tell(command.Operation switch
            {
                WatchOperation.Add => new AddTargets(command.ListId, command.Targets, source),
                WatchOperation.Remove => new RemoveTargets(command.ListId, command.Targets, source),
                _ => new ReplaceTargets(command.ListId, command.Targets, source),
            });
            return;
        }
        Reject(message.Topic, parsed.ListId, parsed.Error!);
        if (WatchPayload.IsListName(parsed.ListId)) _targetLists.Tell(new GetTargets(parsed.ListId));
    }

    private void Reject(string topic, string list, string reason)
    {
        long? version = _knownVersions.TryGetValue(list, out var v) ? v : null;
        _log.Warning("watch: rejected a payload on {0} for list {1}: {2}; the list stays as it was", topic, list, reason);
        var error = new WatchError(topic, list, reason, version, DateTime.UtcNow);
        _broker.PublishAsync(SwarmNames.Topics.WatchErrors, JsonSerializer.SerializeToUtf8Bytes(error, SwarmJson.Wire.WatchError))
            .PipeTo(Self, success: () => new Status.Success(null));
    }
}
