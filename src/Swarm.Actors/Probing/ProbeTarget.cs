using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Swarm.Probing;

/// <summary>What a target string asks for: an ICMP host, a TCP port (<c>tcp://host:port</c>) or an HTTP(S) URL.</summary>
public sealed record ProbeTarget(string Kind, string Host, int Port, Uri? Url)
{
    public const string Icmp = "icmp";
    public const string Tcp = "tcp";
    public const string Http = "http";

    /// <summary>Parses and validates a target; null when it is none of the three forms.</summary>
    public static ProbeTarget? Parse(string target)
    {
        if (!target.Contains("://")) return IsHost(target) ? new ProbeTarget(Icmp, Unbracket(target), 0, null) : null;
        if (!Uri.TryCreate(target, UriKind.Absolute, out var uri) || !IsHost(uri.Host)) return null;
        return uri.Scheme switch
        {
            "tcp" when uri.Port is > 0 and <= 65535 && uri.AbsolutePath == "/" && uri.Query == "" && target.Count(c => c == ':') >= 2
                => new ProbeTarget(Tcp, Unbracket(uri.Host), uri.Port, null),
            "http" or "https" => new ProbeTarget(Http, Unbracket(uri.Host), uri.Port, uri),
            _ => null,
        };
    }

    /// <summary>The canonical text of a target: lower-case host, compressed IPv6, URLs as <see cref="Uri"/> prints them.</summary>
    public static string? Normalize(string target)
    {
        var parsed = Parse(target.Trim());
        if (parsed is null) return null;
        var host = NormalizeHost(parsed.Host);
        if (host is null) return null;
        return parsed.Kind switch
        {
            Icmp => host,
            Tcp => $"tcp://{(host.Contains(':') ? $"[{host}]" : host)}:{parsed.Port}",
            _ => parsed.Url!.AbsoluteUri,
        };
    }

    private static bool IsHost(string host) => NormalizeHost(Unbracket(host)) is not null;

    private static string Unbracket(string host) => host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;

    /// <summary>An IP literal or an RFC 1123 host name in canonical form; null otherwise.</summary>
    public static string? NormalizeHost(string entry)
    {
        if (entry.Length is 0 or > 253) return null;
        var literal = Unbracket(entry);
        if (literal.Contains(':'))
            return IPAddress.TryParse(literal, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 && !literal.Contains('%')
                ? v6.ToString()
                : null;
        var name = entry.TrimEnd('.').ToLowerInvariant();
        var labels = name.Split('.');
        if (labels.All(l => l.Length > 0 && l.All(char.IsAsciiDigit)))
        {
            // All-numeric names are IPv4 literals and must be exactly dotted quads: "10.1" is a typo, not a host.
            return labels.Length == 4 && labels.All(l => int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var octet) && octet <= 255)
                ? IPAddress.Parse(name).ToString()
                : null;
        }
        return labels.All(IsHostLabel) ? name : null;
    }

    private static bool IsHostLabel(string label) =>
        label.Length is > 0 and <= 63
        && label[0] != '-' && label[^1] != '-'
        && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
