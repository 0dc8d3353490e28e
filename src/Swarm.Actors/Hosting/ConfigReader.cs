using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Swarm.Hosting;

/// <summary>Thrown at start-up when configuration is invalid; the message names every bad key and the value it got.</summary>
public sealed class SwarmConfigurationException(IReadOnlyList<string> errors)
    : Exception("invalid configuration:\n  " + string.Join("\n  ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>Reads typed values from configuration, collecting one readable error per bad key instead of throwing at the first.</summary>
internal sealed class ConfigReader(IConfiguration config)
{
    public List<string> Errors { get; } = [];

    /// <summary>Reads options with <paramref name="read"/>; every bad key at once in one exception.</summary>
    public static T Load<T>(IConfiguration config, Func<ConfigReader, T> read)
    {
        var r = new ConfigReader(config);
        var options = read(r);
        if (r.Errors.Count > 0) throw new SwarmConfigurationException(r.Errors);
        return options;
    }

    /// <summary>The first key that is set wins, so <c>Swarm:Cluster:Port</c> can fall back to <c>CLUSTER_PORT</c>.</summary>
    public (string Key, string? Value) Raw(params string[] keys)
    {
        foreach (var key in keys)
        {
            var value = config[key];
            if (!string.IsNullOrWhiteSpace(value)) return (key, value.Trim());
        }
        return (keys[0], null);
    }

    public string? String(params string[] keys) => Raw(keys).Value;

    /// <summary>A whole number within [min, max]; the first of <paramref name="key"/> and its alternatives that is set wins.</summary>
    public T Number<T>(string key, T fallback, T min, T max, params string[] alternatives) where T : struct, System.Numerics.IBinaryInteger<T>
    {
        var (name, value) = Raw([key, .. alternatives]);
        if (value is null) return fallback;
        if (T.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max) return n;
        Errors.Add($"{name} = '{value}': must be a whole number from {min} to {max}");
        return fallback;
    }

    /// <summary>A number (decimals allowed, '.' as the separator) within [min, max].</summary>
    public double Real(string key, double fallback, double min, double max)
    {
        var value = String(key);
        if (value is null) return fallback;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max) return n;
        Errors.Add($"{key} = '{value}': must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
        return fallback;
    }

    /// <summary>true or false (any case); anything else is an error.</summary>
    public bool Flag(string key, bool fallback)
    {
        var value = String(key);
        if (value is null) return fallback;
        if (bool.TryParse(value, out var flag)) return flag;
        Errors.Add($"{key} = '{value}': must be true or false");
        return fallback;
    }

    public T Enum<T>(string key, T fallback) where T : struct, System.Enum
    {
        var value = String(key);
        if (value is null) return fallback;
        if (System.Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && System.Enum.IsDefined(parsed) && !int.TryParse(value, out _)) return parsed;
        Errors.Add($"{key} = '{value}': must be one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");
        return fallback;
    }

    /// <summary>A point as "lat,lon" in degrees (Elasticsearch's geo_point text form), normalised; null when unset.</summary>
    public string? Geo(string key)
    {
        var value = String(key);
        if (value is null) return null;
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 2
            && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var lat) && lat is >= -90 and <= 90
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var lon) && lon is >= -180 and <= 180)
            return string.Create(CultureInfo.InvariantCulture, $"{lat},{lon}");
        Errors.Add($"{key} = '{value}': must be \"latitude,longitude\" in degrees, e.g. '48.8566,2.3522' (Paris)");
        return null;
    }

    /// <summary>Durations as <c>250ms</c>, <c>10s</c>, <c>5m</c>, <c>1h</c>, or a TimeSpan such as <c>00:00:10</c>.</summary>
    public TimeSpan Duration(string key, TimeSpan fallback, TimeSpan min, TimeSpan max)
    {
        var value = config[key]?.Trim();
        if (string.IsNullOrEmpty(value)) return fallback;
        if (TryParseDuration(value, out var d) && d >= min && d <= max) return d;
        Errors.Add($"{key} = '{value}': must be a duration from {Show(min)} to {Show(max)}, e.g. '500ms', '10s', '1m'");
        return fallback;
    }

    /// <summary>A list given either as a comma/space-separated value or as indexed children (<c>Key__0</c>, <c>Key__1</c>).</summary>
    public IReadOnlyList<string> List(string key, IReadOnlyList<string> fallback, params string[] alternatives)
    {
        foreach (var k in (string[])[key, .. alternatives])
        {
            var section = config.GetSection(k);
            // An empty JSON array ("Brokers": []) arrives as an empty value: it must not hide children set elsewhere.
            var items = !string.IsNullOrWhiteSpace(section.Value)
                ? section.Value.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : section.GetChildren().Select(c => c.Value?.Trim()).Where(v => !string.IsNullOrEmpty(v)).Select(v => v!).ToArray();
            if (items.Length > 0) return items;
        }
        return fallback;
    }

    public string? ExistingFile(string key)
    {
        var path = String(key);
        if (path is null) return null;
        if (!File.Exists(path)) Errors.Add($"{key} = '{path}': no such file");
        return path;
    }

    public void Check(bool ok, string error)
    {
        if (!ok) Errors.Add(error);
    }

    internal static bool TryParseDuration(string value, out TimeSpan duration) => Swarm.Probing.Durations.TryParse(value, out duration);

    private static string Show(TimeSpan t) =>
        t.TotalMilliseconds < 1000 ? $"{t.TotalMilliseconds:0}ms" : t.TotalSeconds < 120 ? $"{t.TotalSeconds:0.#}s" : $"{t.TotalMinutes:0.#}m";
}
