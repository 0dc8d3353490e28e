using System.Globalization;

namespace Swarm.Probing;

/// <summary>Durations as Swarm's configuration and lists write them: <c>200ms</c>, <c>10s</c>, <c>5m</c>, <c>1h</c>, or <c>hh:mm:ss</c>.</summary>
public static class Durations
{
    public static bool TryParse(string value, out TimeSpan duration)
    {
        duration = default;
        var units = new (string Suffix, double Ms)[] { ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000) };
        foreach (var (suffix, ms) in units)
        {
            if (!value.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) continue;
            var number = value[..^suffix.Length];
            // "5ms" also ends with "s": only accept a suffix whose remainder is a plain number.
            if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0 && double.IsFinite(n))
            {
                // Past a year is no duration Swarm takes, and would overflow TimeSpan; microseconds are the finest kept,
                // so what Show prints reads back as the same duration.
                var total = Math.Round(n * ms, 3);
                if (total > TimeSpan.FromDays(366).TotalMilliseconds) return false;
                duration = TimeSpan.FromMilliseconds(total);
                return true;
            }
        }
        return TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out duration);
    }

    /// <summary>A duration as people write it: <c>250ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>.</summary>
    public static string Show(TimeSpan t)
    {
        var c = CultureInfo.InvariantCulture;
        return t.TotalMilliseconds < 1000 || t.TotalMilliseconds % 1000 != 0 ? t.TotalMilliseconds.ToString("0.###", c) + "ms"
            : t.TotalSeconds < 120 || t.TotalSeconds % 60 != 0 ? t.TotalSeconds.ToString("0", c) + "s"
            : t.TotalMinutes < 120 || t.TotalMinutes % 60 != 0 ? t.TotalMinutes.ToString("0", c) + "m"
            : t.TotalHours.ToString("0", c) + "h";
    }
}
