using System.Text.Json;
using Swarm.Indexing;
using Swarm.Metrics;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Verdicts;

/// <summary>
/// What a queen takes from <c>ping/+</c> for the verdict entities: a result that passes the indexer's checks
/// (<see cref="ResultCheck"/>; any broker client can publish there). Anything else is dropped (and counted, given <c>metrics</c>).
/// </summary>
public static class VerdictFeed
{
    public static ProbeResult? Read(string topic, byte[] payload, SwarmMetrics? metrics)
    {
        ProbeResult? result = null;
        try { result = JsonSerializer.Deserialize(payload, SwarmJson.Wire.ProbeResult); }
        catch (JsonException) { }
        if (ResultCheck.Problem(result, topic) is null) return result;
        metrics?.VerdictResult("invalid");
        return null;
    }
}
