using System.Text;
using System.Text.Json;
using Swarm.Probing;

namespace Swarm.Targets;

/// <summary>Limits applied to every <c>watch</c> payload.</summary>
public sealed record WatchLimits(int MaxPayloadBytes = 64 * 1024, int MaxTargets = 1000)
{
    /// <summary>IP literals this policy can never let through are refused at once, not probed into an error.</summary>
    public AddressPolicy Addresses { get; init; } = AddressPolicy.Default;
}

/// <summary>What a <c>watch</c> payload asks of a list.</summary>
public enum WatchOperation { Replace, Add, Remove }

/// <summary>A <c>watch</c> payload that passed validation: which list, what to do, with which targets, and its probe settings if given.</summary>
public sealed record WatchCommand(string ListId, IReadOnlyList<string> Targets, WatchOperation Operation = WatchOperation.Replace)
{
    /// <summary>The list's probe settings: null keeps them, an empty set returns to the node's.</summary>
    public Swarm.Protocol.ProbeSettings? Probe { get; init; }
}

/// <summary>
/// Parses and validates <c>watch</c> payloads: the seed's space-separated host list, or a JSON object
/// <c>{"list": "name", "targets": ["host", ...]}</c>. Every rejection names what was wrong.
/// </summary>
public static class WatchPayload
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static Parsed Parse(string topic, ReadOnlySpan<byte> payload, WatchLimits limits)
    {
        var listFromTopic = topic == SwarmNames.Topics.Watch ? SwarmNames.DefaultList : topic[(SwarmNames.Topics.Watch.Length + 1)..];
        if (!IsListName(listFromTopic))
            return Parsed.Fail(listFromTopic, $"topic '{topic}' does not name a list: use 'watch' or 'watch/<list>' with letters, digits, '-' or '_'");
        if (payload.Length > limits.MaxPayloadBytes)
            return Parsed.Fail(listFromTopic, $"payload is {payload.Length} bytes, over the limit of {limits.MaxPayloadBytes}");

        string text;
        try { text = StrictUtf8.GetString(payload); }
        catch (DecoderFallbackException e)
        {
            return Parsed.Fail(listFromTopic, $"payload is not UTF-8 text (bad byte at offset {e.Index}): send host names separated by spaces");
        }
        text = text.Trim();
        if (text.Length == 0)
            return Parsed.Fail(listFromTopic, "payload is empty: send targets separated by spaces, e.g. \"free.fr tcp://free.fr:443 https://free.fr/\"");

        var list = listFromTopic;
        var operation = WatchOperation.Replace;
        IReadOnlyList<string> entries;
        Swarm.Protocol.ProbeSettings? probe = null;
        if (text.StartsWith('{'))
        {
            var json = ParseJson(text, listFromTopic);
            if (json.Error is not null) return Parsed.Fail(json.List, json.Error);
            (list, entries, operation, probe) = (json.List, json.Entries!, json.Operation, json.Probe);
            if (entries.Count == 0 && operation == WatchOperation.Add && probe is not null)
                return new Parsed(new WatchCommand(list, [], WatchOperation.Add) { Probe = probe }, list, null); // settings alone
        }
        else
        {
            entries = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        }

        if (entries.Count == 0)
            return Parsed.Fail(list, "no targets given: an empty list would stop every bee; send at least one host");
        if (entries.Count > limits.MaxTargets)
            return Parsed.Fail(list, $"{entries.Count} targets, over the limit of {limits.MaxTargets} per list");

        if (ProbeTarget.Refusal(entries, limits.Addresses) is { } refusal) return Parsed.Fail(list, refusal);
        var targets = entries.Select(e => NormalizeTarget(e)!).Distinct(StringComparer.Ordinal).ToList();
        return new Parsed(new WatchCommand(list, targets, operation) { Probe = probe }, list, null);
    }

    /// <summary>The canonical form of a target (host, <c>tcp://host:port</c> or an HTTP(S) URL), or null when it is none.</summary>
    public static string? NormalizeTarget(string entry) => ProbeTarget.Normalize(entry);

    /// <summary>A bee id as <c>Swarm:Bee:Id</c> takes it: letters, digits, '.', '-' or '_', at most 64 (it names topics and documents).</summary>
    public static bool IsBeeId(string? id) => !string.IsNullOrEmpty(id) && IsListName(id.Replace('.', '-'));

    public static bool IsListName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static (string List, IReadOnlyList<string>? Entries, WatchOperation Operation, Swarm.Protocol.ProbeSettings? Probe, string? Error) ParseJson(
        string text, string listFromTopic)
    {
        const string Example = "e.g. {\"list\":\"web\",\"targets\":[\"free.fr\"],\"probe\":{\"interval\":\"30s\"}}, or \"add\" / \"remove\" instead of \"targets\"";
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (listFromTopic, null, default, null, $"JSON payload must be an object, {Example}");
            var list = listFromTopic;
            if (root.TryGetProperty("list", out var listElement))
            {
                if (listElement.ValueKind != JsonValueKind.String || !IsListName(listElement.GetString()!))
                    return (listFromTopic, null, default, null, "\"list\" must be a string of letters, digits, '-' or '_' (at most 64)");
                list = listElement.GetString()!;
            }
            Swarm.Protocol.ProbeSettings? probe = null;
            if (root.TryGetProperty("probe", out var probeElement))
            {
                var (settings, probeError) = ProbeSettingsCheck.Read(probeElement);
                if (probeError is not null) return (list, null, default, null, probeError);
                probe = settings;
            }
            var given = new[] { ("targets", WatchOperation.Replace), ("add", WatchOperation.Add), ("remove", WatchOperation.Remove) }
                .Where(o => root.TryGetProperty(o.Item1, out _)).ToList();
            if (given.Count == 0 && probe is not null) return (list, [], WatchOperation.Add, probe, null); // a change of settings alone
            if (given.Count != 1)
                return (list, null, default, null, $"JSON payload needs exactly one of \"targets\", \"add\" or \"remove\", {Example}");
            var (name, operation) = given[0];
            var targets = root.GetProperty(name);
            if (targets.ValueKind != JsonValueKind.Array)
                return (list, null, default, null, $"\"{name}\" must be an array of targets, {Example}");
            var entries = new List<string>();
            foreach (var item in targets.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                    return (list, null, default, null, $"\"{name}\" holds a {item.ValueKind.ToString().ToLowerInvariant()}; every target must be a string");
                entries.Add(item.GetString()!.Trim());
            }
            return (list, entries, operation, probe, null);
        }
        catch (JsonException e)
        {
            return (listFromTopic, null, default, null, $"payload starts with '{{' but is not valid JSON: {e.Message}");
        }
    }

    /// <summary>Either a command or an error, with the list it concerns.</summary>
    public sealed record Parsed(WatchCommand? Command, string ListId, string? Error)
    {
        public static Parsed Fail(string list, string error) => new(null, list, error);
    }
}
