using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Swarm.Protocol;

namespace Swarm.Probing;

/// <summary>
/// Reads and validates a list's <c>"probe"</c> object (JSON <c>watch</c>, the API): known keys only, each within its
/// bounds, durations normalised (<c>"0.5s"</c> → <c>"500ms"</c>); every refusal names the key and what it takes.
/// </summary>
public static class ProbeSettingsCheck
{
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly string[] ForbiddenHeaders = ["host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer"];
    private static readonly string[] SecretHeaders = ["authorization", "proxy-authorization", "cookie"];

    /// <summary>
    /// The longest interval a list may ask: half of <c>Swarm:Verdict:StaleAfter</c>'s default (5 min), so the queens
    /// still judge its pairs between two rounds.
    /// </summary>
    public static readonly TimeSpan MaxInterval = TimeSpan.FromSeconds(150);

    /// <summary>The most a list's settings may take as JSON: they travel with the list, inside its bound.</summary>
    public const int MaxBytes = 8 * 1024;

    public static (ProbeSettings? Settings, string? Error) Read(JsonElement probe)
    {
        if (probe.ValueKind == JsonValueKind.Null) return (new ProbeSettings(), null); // null: back to the node's settings
        if (probe.ValueKind != JsonValueKind.Object) return (null, "\"probe\" must be an object, e.g. {\"interval\": \"30s\", \"count\": 3}");
        var settings = new ProbeSettings();
        foreach (var p in probe.EnumerateObject())
        {
            string? error = null;
            switch (p.Name)
            {
                case "interval": (settings, error) = Duration(p, TimeSpan.FromSeconds(1), MaxInterval, d => settings with { Interval = d }); break;
                case "spacing": (settings, error) = Duration(p, TimeSpan.Zero, TimeSpan.FromMinutes(1), d => settings with { Spacing = d }); break;
                case "timeout": (settings, error) = Duration(p, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1), d => settings with { Timeout = d }); break;
                case "count":
                    if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out var count) && count is >= 1 and <= 100) settings = settings with { Count = count };
                    else error = "probe.count: a whole number from 1 to 100";
                    break;
                case "http":
                    var (http, httpError) = ReadHttp(p.Value);
                    (settings, error) = (settings with { Http = http }, httpError);
                    break;
                default:
                    error = $"probe: unknown setting '{ProbeTarget.Printable(p.Name)}' (interval, count, spacing, timeout, http)";
                    break;
            }
            if (error is not null) return (null, error);
        }
        if (settings.Http is { Method: "HEAD" } head && (head.Body is not null || head.BodyRegex is not null))
            return (null, "probe.http: a HEAD request has no body to check; use GET with body or body_regex");
        if (System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(settings, Swarm.Serialization.SwarmJson.Default.ProbeSettings).Length is var bytes && bytes > MaxBytes)
            return (null, $"probe: {bytes} bytes as JSON, over the limit of {MaxBytes}");
        return (settings, null);
    }

    private static (ProbeSettings, string?) Duration(JsonProperty p, TimeSpan min, TimeSpan max, Func<string, ProbeSettings> set)
    {
        if (p.Value.ValueKind == JsonValueKind.String && Durations.TryParse(p.Value.GetString()!, out var d) && d >= min && d <= max)
            return (set(Durations.Show(d)), null);
        return (null!, $"probe.{p.Name}: a duration from {Durations.Show(min)} to {Durations.Show(max)}, written like \"500ms\", \"30s\" or \"5m\"");
    }

    private static (HttpExpectations?, string?) ReadHttp(JsonElement http)
    {
        if (http.ValueKind != JsonValueKind.Object) return (null, "probe.http must be an object, e.g. {\"status\": [\"200-299\"], \"body\": \"Welcome\"}");
        var e = new HttpExpectations();
        foreach (var p in http.EnumerateObject())
        {
            switch (p.Name)
            {
                case "method":
                    if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString()!.ToUpperInvariant() is not ("GET" or "HEAD")) return (null, "probe.http.method: GET or HEAD");
                    e = e with { Method = p.Value.GetString()!.ToUpperInvariant() };
                    break;
                case "status":
                    var codes = new List<string>();
                    if (p.Value.ValueKind != JsonValueKind.Array || p.Value.GetArrayLength() is 0 or > 16)
                        return (null, "probe.http.status: an array of 1 to 16 codes or ranges, e.g. [\"200-299\", 301]");
                    foreach (var item in p.Value.EnumerateArray())
                    {
                        var text = item.ValueKind switch { JsonValueKind.Number => item.GetRawText(), JsonValueKind.String => item.GetString()!, _ => "" };
                        if (StatusRange(text) is null) return (null, $"probe.http.status: '{ProbeTarget.Printable(text)}' is not a code or range from 100 to 599, e.g. 200 or \"200-299\"");
                        codes.Add(text.Trim());
                    }
                    e = e with { Status = codes };
                    break;
                case "body":
                    if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString()!.Length is 0 or > 1024) return (null, "probe.http.body: text of 1 to 1024 characters the body must contain");
                    e = e with { Body = p.Value.GetString() };
                    break;
                case "body_regex":
                    if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString()!.Length is 0 or > 512) return (null, "probe.http.body_regex: a regular expression of 1 to 512 characters");
                    try { _ = new Regex(p.Value.GetString()!, RegexOptions.None, RegexTimeout); }
                    catch (ArgumentException x) { return (null, $"probe.http.body_regex: not a regular expression: {x.Message}"); }
                    e = e with { BodyRegex = p.Value.GetString() };
                    break;
                case "headers":
                    if (p.Value.ValueKind != JsonValueKind.Object) return (null, "probe.http.headers: an object of names and values, e.g. {\"Accept\": \"text/html\"}");
                    var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    foreach (var h in p.Value.EnumerateObject())
                    {
                        if (SecretHeaders.Contains(h.Name.ToLowerInvariant()))
                            return (null, $"probe.http.headers: '{h.Name}' is refused: a secret would travel in topics, journals and the API, as a URL's credentials would");
                        if (h.Value.ValueKind != JsonValueKind.String || !IsToken(h.Name) || ForbiddenHeaders.Contains(h.Name.ToLowerInvariant())
                            || h.Value.GetString()!.Length > 1024 || h.Value.GetString()!.Any(c => c is < ' ' or > '~'))
                            return (null, $"probe.http.headers: '{ProbeTarget.Printable(h.Name)}' is not a header Swarm sends (a name of letters, digits and -, " +
                                          "a printable value of at most 1024 characters; not Host, Content-Length, Transfer-Encoding or Connection)");
                        headers[h.Name] = h.Value.GetString()!;
                    }
                    if (headers.Count > 16) return (null, "probe.http.headers: at most 16");
                    e = e with { Headers = headers };
                    break;
                case "follow_redirects":
                    if (p.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return (null, "probe.http.follow_redirects: true or false");
                    e = e with { FollowRedirects = p.Value.GetBoolean() };
                    break;
                default:
                    return (null, $"probe.http: unknown setting '{ProbeTarget.Printable(p.Name)}' (method, status, body, body_regex, headers, follow_redirects)");
            }
        }
        return (e, null);
    }

    /// <summary>Settings compared as they are written (records holding lists compare by reference, not content).</summary>
    public static bool Same(ProbeSettings? a, ProbeSettings? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null
            && System.Text.Json.JsonSerializer.Serialize(a, Swarm.Serialization.SwarmJson.Default.ProbeSettings)
               == System.Text.Json.JsonSerializer.Serialize(b, Swarm.Serialization.SwarmJson.Default.ProbeSettings));

    /// <summary>"200" or "200-299" as the codes it takes; null when it is neither, or outside 100–599.</summary>
    public static (int From, int To)? StatusRange(string text)
    {
        var parts = text.Trim().Split('-');
        if (parts.Length is < 1 or > 2) return null;
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)) return null;
        var to = from;
        if (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out to)) return null;
        return from is >= 100 and <= 599 && to is >= 100 and <= 599 && from <= to ? (from, to) : null;
    }

    private static bool IsToken(string name) => name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>
    /// The settings a round runs with: the list's where it set them, the node's otherwise. The node's budget
    /// (MaxPerSecond, MinTargetSpacing) is not here: the engine's pacer holds every round to it whatever a list says.
    /// </summary>
    public static (TimeSpan Interval, RoundSettings Round) Effective(ProbeSettings? list, TimeSpan interval, RoundSettings round)
    {
        if (list is null) return (interval, round);
        TimeSpan Or(string? text, TimeSpan fallback) => text is not null && Durations.TryParse(text, out var d) ? d : fallback;
        var effective = round with
        {
            Count = list.Count ?? round.Count,
            Spacing = Or(list.Spacing, round.Spacing),
            Timeout = Or(list.Timeout, round.Timeout),
            Http = list.Http,
        };
        // A list's timeout also bounds its HTTP requests, so a slow page can be given more time (or less) than the node's default.
        if (list.Timeout is not null) effective = effective with { RequestTimeout = effective.Timeout };
        var every = Or(list.Interval, interval);
        // A round must end before the next is due (the node checks its own settings so at start): fewer probes, and
        // no request longer than the interval, rather than every other round skipped.
        while (effective.Count > 1 && effective.Spacing * (effective.Count - 1) + effective.Timeout > every) effective = effective with { Count = effective.Count - 1 };
        if (effective.RequestTimeout > every) effective = effective with { RequestTimeout = every };
        if (effective.Timeout > every) effective = effective with { Timeout = every };
        return (every, effective);
    }

    /// <summary>The settings in one line, for <c>swarm bees</c> and <c>swarm targets show</c>: <c>interval 30s, count 3, http status 200-299</c>.</summary>
    public static string Describe(ProbeSettings? s)
    {
        if (s is null) return "the node's settings";
        var parts = new List<string>();
        if (s.Interval is not null) parts.Add($"interval {s.Interval}");
        if (s.Count is not null) parts.Add($"count {s.Count}");
        if (s.Spacing is not null) parts.Add($"spacing {s.Spacing}");
        if (s.Timeout is not null) parts.Add($"timeout {s.Timeout}");
        if (s.Http is { } h)
        {
            if (h.Method is not null) parts.Add($"http {h.Method}");
            if (h.Status is not null) parts.Add($"status {string.Join(',', h.Status)}");
            if (h.Body is not null) parts.Add($"body contains \"{ProbeTarget.Printable(h.Body)}\"");
            if (h.BodyRegex is not null) parts.Add($"body matches /{ProbeTarget.Printable(h.BodyRegex)}/");
            if (h.Headers is { Count: > 0 }) parts.Add($"{h.Headers.Count} header{(h.Headers.Count == 1 ? "" : "s")}");
            if (h.FollowRedirects == true) parts.Add("follows redirects");
        }
        return parts.Count == 0 ? "the node's settings" : string.Join(", ", parts);
    }
}
