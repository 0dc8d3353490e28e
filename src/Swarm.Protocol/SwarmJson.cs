using System.Text.Json;
using System.Text.Json.Serialization;
using Swarm.Protocol;

namespace Swarm.Serialization;

/// <summary>Source-generated JSON for everything Swarm writes: compact, no reflection, nulls left out.</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ProbeResult))]
[JsonSerializable(typeof(ProbeSettings))]
[JsonSerializable(typeof(ReplaceTargets))]
[JsonSerializable(typeof(GetTargets))]
[JsonSerializable(typeof(AddTargets))]
[JsonSerializable(typeof(RemoveTargets))]
[JsonSerializable(typeof(TargetsRejected))]
[JsonSerializable(typeof(CurrentTargets))]
[JsonSerializable(typeof(TargetsReplaced))]
[JsonSerializable(typeof(TargetListSnapshot))]
[JsonSerializable(typeof(TargetsAdopted))]
[JsonSerializable(typeof(SequenceReserved))]
[JsonSerializable(typeof(BeeSnapshot))]
[JsonSerializable(typeof(GetBeeDuty))]
[JsonSerializable(typeof(BeeDuty))]
[JsonSerializable(typeof(WatchError))]
[JsonSerializable(typeof(BeeStatus))]
[JsonSerializable(typeof(PublishedList))]
[JsonSerializable(typeof(ListRefusal))]
[JsonSerializable(typeof(GetBeeReport))]
[JsonSerializable(typeof(BeeReport))]
[JsonSerializable(typeof(ClusterView))]
[JsonSerializable(typeof(RegionStats))]
[JsonSerializable(typeof(RegionEntities))]
[JsonSerializable(typeof(TargetsView))]
[JsonSerializable(typeof(TargetsChange))]
[JsonSerializable(typeof(ActorNode))]
[JsonSerializable(typeof(LogView))]
[JsonSerializable(typeof(CommandDone))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(AddressRequest))]
[JsonSerializable(typeof(Readiness))]
[JsonSerializable(typeof(TargetVerdict))]
[JsonSerializable(typeof(BeeVerdict))]
[JsonSerializable(typeof(Alert))]
[JsonSerializable(typeof(VerdictsView))]
[JsonSerializable(typeof(HistoryView))]
[JsonSerializable(typeof(MatrixRow))]
[JsonSerializable(typeof(MatrixView))]
[JsonSerializable(typeof(VerdictsGone))]
[JsonSerializable(typeof(RoundPoint))]
[JsonSerializable(typeof(PairUpdate))]
[JsonSerializable(typeof(LinkUpdate))]
[JsonSerializable(typeof(IReadOnlyList<BeeReport>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
public sealed partial class SwarmJson : JsonSerializerContext
{
    /// <summary>
    /// The context for payloads people read (<c>mosquitto_sub</c>): quotes and non-ASCII names stay as they are,
    /// not <c>\u0027</c>. These payloads never land in HTML, so the relaxed encoder is safe.
    /// </summary>
    public static SwarmJson Wire => LazyWire.Value;

    // Lazy: a static initializer here would run before the generated Default exists.
    private static readonly Lazy<SwarmJson> LazyWire = new(() => new SwarmJson(new JsonSerializerOptions(Default!.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    }));
}
