using System.Text;

namespace Swarm.Mqtt;

/// <summary>Topic names derived from data: escaping keeps <c>ping/+</c> matching every target, URLs included.</summary>
public static class Topics
{
    public static string ForResult(string target) => SwarmNames.Topics.PingPrefix + Escape(target);

    public static string ForRip(string beeId) => SwarmNames.Topics.RipPrefix + Escape(beeId);

    public static string ForVerdict(string target) => SwarmNames.Topics.VerdictPrefix + Escape(target);

    public static string ForBeeVerdict(string beeId) => SwarmNames.Topics.BeeVerdictPrefix + Escape(beeId);

    public static string ForAlert(string target) => SwarmNames.Topics.AlertPrefix + Escape(target);

    public static string ForBeeAlert(string beeId) => SwarmNames.Topics.BeeAlertPrefix + Escape(beeId);

    /// <summary>Percent-escapes the characters MQTT gives a meaning in a topic level: '/', '+', '#' (and '%' itself).</summary>
    public static string Escape(string level)
    {
        if (level.IndexOfAny(['/', '+', '#', '%', '\0']) < 0) return level;
        var sb = new StringBuilder(level.Length + 8);
        foreach (var c in level)
            sb.Append(c switch { '/' => "%2F", '+' => "%2B", '#' => "%23", '%' => "%25", '\0' => "%00", _ => c.ToString() });
        return sb.ToString();
    }

    public static string Unescape(string level) => Uri.UnescapeDataString(level);
}
