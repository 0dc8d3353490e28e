using System.Text.Json;
using System.Text.Json.Nodes;
using Swarm.Mqtt;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Indexing;

/// <summary>
/// Verdicts (<c>verdict/#</c>) and alerts (<c>alert/#</c>) as documents beside the results, so Kibana shows when the
/// swarm said what: <c>event.kind</c> state or alert, <c>event.dataset</c> swarm.verdict or swarm.alert, the words in
/// <c>swarm.verdict.*</c> and <c>swarm.alert.*</c>. No <c>monitor.*</c>: Uptime's views do not take them for checks.
/// </summary>
public static class VerdictDocument
{
    public static bool Handles(string topic) =>
        topic.StartsWith(SwarmNames.Topics.VerdictPrefix, StringComparison.Ordinal) || topic.StartsWith(SwarmNames.Topics.AlertPrefix, StringComparison.Ordinal);

    /// <summary>The document (id, JSON, time), or why the payload cannot be one.</summary>
    public static ((string Id, string Json, DateTime At)? Document, string? Problem) Of(string topic, byte[] payload)
    {
        try
        {
            if (topic.StartsWith(SwarmNames.Topics.AlertPrefix, StringComparison.Ordinal))
            {
                var a = JsonSerializer.Deserialize(payload, SwarmJson.Wire.Alert);
                var subject = Topics.Unescape(topic[(topic.StartsWith(SwarmNames.Topics.BeeAlertPrefix, StringComparison.Ordinal)
                    ? SwarmNames.Topics.BeeAlertPrefix : SwarmNames.Topics.AlertPrefix).Length..]);
                if (a is null || a.Subject != subject || a.State is not (Alert.Raised or Alert.Cleared) || string.IsNullOrEmpty(a.Id) || a.Id.Length > 512
                    || a.Text is null || a.At == default)
                    return (null, $"not an alert for {subject}: subject, state (raised or cleared), id, time and text expected");
                var doc = Base(a.At, "alert", "swarm.alert", a.State);
                doc["swarm"] = new JsonObject
                {
                    ["alert"] = new JsonObject
                    {
                        ["id"] = a.Id, ["subject"] = a.Subject, ["about"] = a.About, ["state"] = a.State, ["verdict"] = a.Verdict,
                        ["text"] = a.Text, ["since"] = a.Since.ToUniversalTime().ToString("O"),
                    },
                };
                return ((IdOf("alert", a.Id, default), doc.ToJsonString(), a.At), null);
            }
            if (topic.StartsWith(SwarmNames.Topics.BeeVerdictPrefix, StringComparison.Ordinal))
            {
                var b = JsonSerializer.Deserialize(payload, SwarmJson.Wire.BeeVerdict);
                var bee = Topics.Unescape(topic[SwarmNames.Topics.BeeVerdictPrefix.Length..]);
                if (b is null || b.Bee != bee || b.Text is null || b.Verdict is null || b.Evidence is null || b.At == default)
                    return (null, $"not a verdict on bee {bee}");
                var doc = Base(b.At, "state", "swarm.verdict", b.Verdict);
                doc["swarm"] = new JsonObject
                {
                    ["verdict"] = Verdict(bee, Alert.AboutBee, b.Verdict, b.Text, b.Since, b.Targets, b.Degraded,
                        b.Evidence.Where(e => e is not null).Select(e => e.Target)),
                };
                return ((IdOf("verdict-bee", bee, b.At), doc.ToJsonString(), b.At), null);
            }
            var v = JsonSerializer.Deserialize(payload, SwarmJson.Wire.TargetVerdict);
            var target = Topics.Unescape(topic[SwarmNames.Topics.VerdictPrefix.Length..]);
            if (v is null || v.Target != target || v.Text is null || v.Verdict is null || v.Bees is null || v.At == default)
                return (null, $"not a verdict on {target}");
            var verdict = Base(v.At, "state", "swarm.verdict", v.Verdict);
            verdict["swarm"] = new JsonObject
            {
                ["verdict"] = Verdict(target, Alert.AboutTarget, v.Verdict, v.Text, v.Since, v.Judged, v.Degraded,
                    v.Bees.Where(p => p is not null && p.State != PairStates.Ok && p.OwnLink != true).Select(p => p.Bee)),
            };
            return ((IdOf("verdict", target, v.At), verdict.ToJsonString(), v.At), null);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            return (null, $"not JSON as the verdict entities write it: {e.Message}");
        }
    }

    /// <summary>
    /// An id within Elasticsearch's 512 bytes whatever the subject (a target may be a 2,048-character URL): a hash of
    /// it, and the verdict's time. The same retained verdict delivered twice gets the same id: stored once.
    /// </summary>
    private static string IdOf(string kind, string subject, DateTime at) =>
        $"{kind}-{System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(subject)):x16}-{at.Ticks:x}";

    private static JsonObject Base(DateTime at, string kind, string dataset, string action) => new()
    {
        ["@timestamp"] = at.ToUniversalTime().ToString("O"),
        ["event"] = new JsonObject { ["kind"] = kind, ["dataset"] = dataset, ["action"] = action },
    };

    private static JsonObject Verdict(string subject, string about, string kind, string text, DateTime since, int judged, int degraded, IEnumerable<string> who) => new()
    {
        ["subject"] = subject, ["about"] = about, ["kind"] = kind, ["text"] = text, ["since"] = since.ToUniversalTime().ToString("O"),
        ["judged"] = judged, ["degraded"] = degraded, ["degraded_names"] = new JsonArray(who.Take(1000).Select(n => (JsonNode)n).ToArray()),
    };
}
