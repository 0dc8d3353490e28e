using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Targets;

namespace Swarm.Edge;

/// <summary>A message that arrived on <c>targets/&lt;list&gt;</c> (retained, usually).</summary>
public sealed record PublishedListArrived(string Topic, byte[] Payload);

/// <summary>
/// An edge bee's target lists, from the broker: each version a queen publishes on <c>targets/&lt;list&gt;</c> is checked
/// here and handed to the bee, which journals it (and refuses one older than what it holds). To the bee this actor is
/// what the shard region and DistributedPubSub are to a cluster bee: it answers <see cref="GetTargets"/> with the
/// latest version heard, and takes <see cref="Subscribe"/> for announcements. A version that is malformed, too big,
/// or for a list the bee does not follow is refused with the reason (logged, and told to the bee's status).
/// </summary>
public sealed class EdgeLists : ReceiveActor
{
    private readonly IReadOnlySet<string> _followed;
    private readonly ListLimits _limits;
    private readonly IActorRef? _status;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, CurrentTargets> _latest = new();
    private readonly HashSet<IActorRef> _subscribers = [];

    public static Props Props(IEnumerable<string> followed, ListLimits limits, IActorRef? status = null) =>
        Akka.Actor.Props.Create(() => new EdgeLists(followed.ToHashSet(), limits, status));

    public EdgeLists(IReadOnlySet<string> followed, ListLimits limits, IActorRef? status)
    {
        _followed = followed;
        _limits = limits;
        _status = status;
        Receive<PublishedListArrived>(OnArrived);
        Receive<GetTargets>(g =>
        {
            if (_latest.TryGetValue(g.ListId, out var latest)) Sender.Tell(latest with { Changed = false });
        });
        Receive<Subscribe>(s =>
        {
            if (_subscribers.Add(s.Ref)) Context.Watch(s.Ref);
            Sender.Tell(new SubscribeAck(s));
        });
        Receive<Terminated>(t => _subscribers.Remove(t.ActorRef));
    }

    private void OnArrived(PublishedListArrived message)
    {
        var (list, error) = PublishedListCheck.Parse(message.Topic, message.Payload, _limits);
        if (error is not null)
        {
            var name = message.Topic.StartsWith(SwarmNames.Topics.TargetsPrefix, StringComparison.Ordinal)
                ? ProbeTarget.Printable(message.Topic[SwarmNames.Topics.TargetsPrefix.Length..])
                : ProbeTarget.Printable(message.Topic);
            _log.Warning("edge: refused the list on {0}: {1}; the bee keeps its list", ProbeTarget.Printable(message.Topic), error);
            _status?.Tell(new ListRefusal(name, list?.Version, error, DateTime.UtcNow));
            return;
        }
        if (!_followed.Contains(list!.List)) return; // a list this bee does not follow (subscribed by hand): not ours
        var current = new CurrentTargets(list.List, list.Version, list.Targets, Changed: true) { Probe = list.Probe };
        if (_latest.TryGetValue(list.List, out var known) && known.Version == list.Version) return; // the same version again
        if (known is null || list.Version > known.Version) _latest[list.List] = current;
        // Older ones go to the bee too: it knows what it holds (from its journal) and says why it refuses them.
        foreach (var subscriber in _subscribers) subscriber.Tell(current);
    }
}

/// <summary>The limits a published list must keep: the same as a queen's (targets per list, bytes per list, address policy).</summary>
public sealed record ListLimits(int MaxTargets, int MaxListBytes)
{
    public AddressPolicy Addresses { get; init; } = AddressPolicy.Default;

    /// <summary>The largest payload read: the list plus room for the JSON around it.</summary>
    public int MaxPayloadBytes => MaxListBytes + 4096;
}

/// <summary>
/// What an edge bee asks of a payload on <c>targets/&lt;list&gt;</c> before it adopts it: anyone the broker lets publish
/// there could have sent it. Every refusal names what was wrong.
/// </summary>
public static class PublishedListCheck
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The list, or the reason it is refused (with the list, when it could be read).</summary>
    public static (PublishedList? List, string? Error) Parse(string topic, byte[] payload, ListLimits limits)
    {
        if (!topic.StartsWith(SwarmNames.Topics.TargetsPrefix, StringComparison.Ordinal)
            || topic[SwarmNames.Topics.TargetsPrefix.Length..] is not { } name || !WatchPayload.IsListName(name))
            return (null, "the topic does not name a list: targets/<list> with letters, digits, '-' or '_' expected");
        if (payload.Length == 0) return (null, "the retained list was cleared (an empty message)");
        if (payload.Length > limits.MaxPayloadBytes)
            return (null, $"{payload.Length} bytes, over the limit of {limits.MaxPayloadBytes} (Swarm:Targets:MaxListBytes and the JSON around it)");
        PublishedList? list;
        try
        {
            StrictUtf8.GetCharCount(payload);
            list = JsonSerializer.Deserialize(payload, SwarmJson.Default.PublishedList);
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            return (null, $"not a published list ({Clean(e.Message)}): {{\"list\": \"{name}\", \"version\": 1, \"targets\": [\"host\"]}} expected");
        }
        if (list is null || list.List is null || list.Targets is null)
            return (null, $"not a published list: {{\"list\": \"{name}\", \"version\": 1, \"targets\": [\"host\"]}} expected");
        if (list.List != name) return (list, $"it names list '{ProbeTarget.Printable(list.List)}' on the topic of list '{name}'");
        if (list.Version < 0) return (list, $"version {list.Version}: a whole number from 0 expected");
        if (list.Targets.Count == 0) return (list, "no targets: an empty list would stop the bee");
        if (list.Targets.Any(t => t is null)) return (list, "a target is null: every target must be a string");
        if (list.Targets.Count > limits.MaxTargets) return (list, $"{list.Targets.Count} targets, over the limit of {limits.MaxTargets} per list");
        if (TargetList.SizeOf(list.Targets, list.Probe) is var bytes && bytes > limits.MaxListBytes)
            return (list, $"a list of {bytes} bytes, over the limit of {limits.MaxListBytes} (Swarm:Targets:MaxListBytes)");
        if (ProbeTarget.Refusal(list.Targets, limits.Addresses) is { } refusal) return (list, refusal);
        if (list.Targets.Any(t => WatchPayload.NormalizeTarget(t) != t) || list.Targets.Distinct(StringComparer.Ordinal).Count() != list.Targets.Count)
            return (list, "its targets are not as a queen writes them (normalized, each once)");
        if (list.Probe is { } probe)
        {
            // The settings as a queen writes them pass the same check a watch payload does, and come out unchanged.
            using var written = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(probe, SwarmJson.Default.ProbeSettings));
            var (read, error) = ProbeSettingsCheck.Read(written.RootElement);
            if (error is not null) return (list, $"its probe settings are refused: {error}");
            if (!ProbeSettingsCheck.Same(read, probe)) return (list, "its probe settings are not as a queen writes them");
        }
        return (list, null);
    }

    /// <summary>A parser's message as a log line and a status may carry it: control characters (from the payload) as '?'.</summary>
    internal static string Clean(string message) => new(message.Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
