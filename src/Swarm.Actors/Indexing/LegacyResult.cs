using System.Text.Json;
using Swarm.Edge;
using Swarm.Targets;
using Swarm.Mqtt;
using Swarm.Probing;
using Swarm.Protocol;

namespace Swarm.Indexing;

/// <summary>
/// Results of the seed's agents (athoune/swarming: <c>swarming.py</c>, <c>action.py</c>), which publish on
/// <c>ping/&lt;target&gt;</c> at QoS 1 a JSON array: <c>["&lt;agent&gt;", "ok", {"Error": null, "loss": 0.0,
/// "Round trip": [min, avg, max, stddev]}]</c> (a <c>ping -c 10</c>; loss in percent, RTTs in ms) or
/// <c>["&lt;agent&gt;", "error", "Unknown host"]</c>. They carry no sequence and no time: the document is stamped
/// when the indexer reads it, and its id is made of agent, target and that time.
/// </summary>
public static class LegacyResult
{
    /// <summary>Echoes per round of a seed agent (<c>ping -c 10</c>).</summary>
    public const int EchoesPerRound = 10;

    private const int MaxText = 4096;

    /// <summary>Whether the payload is a JSON array (a seed agent's); a Swarm result is an object.</summary>
    public static bool LooksLegacy(ReadOnlySpan<byte> payload)
    {
        foreach (var b in payload)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') continue;
            return b == (byte)'[';
        }
        return false;
    }

    /// <summary>The result as a Swarm result (sequence 0), or why it cannot be one.</summary>
    public static (ProbeResult? Result, string? Error) Parse(string topic, ReadOnlyMemory<byte> payload, DateTime receivedAt)
    {
        if (!topic.StartsWith(SwarmNames.Topics.PingPrefix, StringComparison.Ordinal)) return (null, $"a seed agent's result on {Printable(topic)}, not on ping/<target>");
        var target = Topics.Unescape(topic[SwarmNames.Topics.PingPrefix.Length..]);
        if (ProbeTarget.Parse(target) is not { Kind: ProbeTarget.Icmp } || Topics.ForResult(target) != topic)
            return (null, $"a seed agent's result for '{Printable(target)}', which is not a host name or address");
        try
        {
            using var doc = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = 4 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Array || root.GetArrayLength() != 3
                || root[0].ValueKind != JsonValueKind.String || root[1].ValueKind != JsonValueKind.String)
                return (null, "a seed agent's result is [\"<agent>\", \"ok\" or \"error\", <details>]");
            var agent = root[0].GetString()!;
            if (!WatchPayload.IsBeeId(agent)) return (null, $"agent '{Printable(agent)}': letters, digits, '.', '-' or '_' expected (at most 64)");
            var result = new ProbeResult { Bee = agent, Seq = 0, Timestamp = receivedAt, Target = target, Kind = ProbeTarget.Icmp };
            switch (root[1].GetString())
            {
                case "error":
                    if (root[2].ValueKind != JsonValueKind.String || root[2].GetString()!.Length > MaxText)
                        return (null, "a seed agent's error is a string of at most 4096 characters");
                    return (result with { Sent = 0, Received = 0, LossPercent = 100, Error = root[2].GetString() }, null);
                case "ok":
                    return Ok(result, root[2]);
                default:
                    return (null, $"a seed agent's status is \"ok\" or \"error\", not '{Printable(root[1].GetString()!)}'");
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) // InvalidOperation: a string that is not valid UTF-8
        {
            return (null, $"not JSON: {PublishedListCheck.Clean(e.Message)}");
        }
    }

    private static (ProbeResult?, string?) Ok(ProbeResult result, JsonElement details)
    {
        if (details.ValueKind != JsonValueKind.Object || !details.TryGetProperty("loss", out var lossElement)
            || lossElement.ValueKind != JsonValueKind.Number || !lossElement.TryGetDouble(out var loss) || loss is < 0 or > 100 || double.IsNaN(loss))
            return (null, "a seed agent's details carry \"loss\", a percentage from 0 to 100");
        string? error = null;
        if (details.TryGetProperty("Error", out var errorElement) && errorElement.ValueKind != JsonValueKind.Null)
        {
            if (errorElement.ValueKind != JsonValueKind.String || errorElement.GetString()!.Length > MaxText)
                return (null, "a seed agent's \"Error\" is null or a string of at most 4096 characters");
            error = errorElement.GetString();
        }
        double[]? rtt = null;
        if (details.TryGetProperty("Round trip", out var rttElement) && rttElement.ValueKind != JsonValueKind.Null)
        {
            if (rttElement.ValueKind != JsonValueKind.Array || rttElement.GetArrayLength() != 4)
                return (null, "a seed agent's \"Round trip\" is [min, avg, max, stddev] in ms");
            rtt = new double[4];
            for (var i = 0; i < 4; i++)
            {
                if (rttElement[i].ValueKind != JsonValueKind.Number || !rttElement[i].TryGetDouble(out rtt[i]) || !double.IsFinite(rtt[i]) || rtt[i] < 0 || rtt[i] > ResultCheck.MaxMs)
                    return (null, "a seed agent's \"Round trip\" holds times from 0 ms to an hour");
            }
        }
        var received = (int)Math.Round(EchoesPerRound * (1 - loss / 100));
        if (received > 0 && rtt is null) return (null, "a seed agent's result with replies carries \"Round trip\"");
        return (result with
        {
            Sent = EchoesPerRound,
            Received = received,
            LossPercent = loss,
            MinMs = received > 0 ? rtt![0] : null,
            AvgMs = received > 0 ? rtt![1] : null,
            MaxMs = received > 0 ? rtt![2] : null,
            StddevMs = received > 0 ? rtt![3] : null,
            Error = error,
        }, null);
    }

    /// <summary>The document id: agent, target (hashed, for length) and the time the indexer read it.</summary>
    public static string IdOf(ProbeResult r) =>
        $"legacy-{r.Bee}-{System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(r.Target)):x16}-{r.Timestamp.Ticks}";

    private static string Printable(string s) => ProbeTarget.Printable(s);
}
