using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Akka.Actor;
using Akka.Serialization;
using Swarm.Protocol;

namespace Swarm.Serialization;

/// <summary>
/// The one serializer for everything Swarm sends between nodes or writes to the journal: System.Text.Json with
/// short versioned manifests. A manifest never changes meaning; a new shape gets a new manifest (…-v2).
/// </summary>
public sealed class SwarmSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 7411;

    private static readonly Dictionary<Type, (string Manifest, JsonTypeInfo Info)> ByType = new()
    {
        [typeof(ReplaceTargets)] = ("tl-replace-v1", SwarmJson.Default.ReplaceTargets),
        [typeof(AddTargets)] = ("tl-add-v1", SwarmJson.Default.AddTargets),
        [typeof(RemoveTargets)] = ("tl-remove-v1", SwarmJson.Default.RemoveTargets),
        [typeof(TargetsRejected)] = ("tl-rejected-v1", SwarmJson.Default.TargetsRejected),
        [typeof(GetTargets)] = ("tl-get-v1", SwarmJson.Default.GetTargets),
        [typeof(CurrentTargets)] = ("tl-current-v1", SwarmJson.Default.CurrentTargets),
        [typeof(TargetsReplaced)] = ("tl-replaced-v1", SwarmJson.Default.TargetsReplaced),
        [typeof(TargetListSnapshot)] = ("tl-snap-v1", SwarmJson.Default.TargetListSnapshot),
        [typeof(TargetsAdopted)] = ("bee-adopted-v1", SwarmJson.Default.TargetsAdopted),
        [typeof(SequenceReserved)] = ("bee-seq-v1", SwarmJson.Default.SequenceReserved),
        [typeof(BeeSnapshot)] = ("bee-snap-v1", SwarmJson.Default.BeeSnapshot),
        [typeof(GetBeeDuty)] = ("bee-getduty-v1", SwarmJson.Default.GetBeeDuty),
        [typeof(BeeDuty)] = ("bee-duty-v1", SwarmJson.Default.BeeDuty),
        [typeof(ProbeResult)] = ("result-v1", SwarmJson.Default.ProbeResult),
        [typeof(GetBeeReport)] = ("mgmt-getbee-v1", SwarmJson.Default.GetBeeReport),
        [typeof(BeeReport)] = ("mgmt-bee-v1", SwarmJson.Default.BeeReport),
        [typeof(PairUpdate)] = ("verdict-pair-v1", SwarmJson.Default.PairUpdate),
        [typeof(LinkUpdate)] = ("verdict-link-v1", SwarmJson.Default.LinkUpdate),
    };

    private static readonly Dictionary<string, JsonTypeInfo> ByManifest =
        ByType.Values.ToDictionary(v => v.Manifest, v => v.Info);

    /// <summary>Every type this serializer owns: the bindings given to Akka.</summary>
    public static IReadOnlyCollection<Type> BoundTypes => ByType.Keys;

    public override int Identifier => Id;

    public override string Manifest(object o) =>
        ByType.TryGetValue(o.GetType(), out var entry)
            ? entry.Manifest
            : throw new ArgumentException($"{o.GetType()} is not a Swarm message; bind it in {nameof(SwarmSerializer)}");

    public override byte[] ToBinary(object obj) =>
        JsonSerializer.SerializeToUtf8Bytes(obj, ByType[obj.GetType()].Info);

    public override object FromBinary(byte[] bytes, string manifest) =>
        ByManifest.TryGetValue(manifest, out var info)
            ? JsonSerializer.Deserialize(bytes, info)!
            : throw new System.Runtime.Serialization.SerializationException($"unknown Swarm manifest '{manifest}': written by a newer version?");
}
