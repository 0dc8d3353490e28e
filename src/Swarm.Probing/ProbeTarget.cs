using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Swarm.Probing;

/// <summary>
/// What a target string asks for: an ICMP host, a TCP port (<c>tcp://host:port</c>), an HTTP(S) URL, or a DNS question
/// to a resolver (<c>dns://server/name?type=A</c>; no server: the system's resolver).
/// </summary>
public sealed record ProbeTarget(string Kind, string Host, int Port, Uri? Url)
{
    public const string Icmp = "icmp";
    public const string Tcp = "tcp";
    public const string Http = "http";
    public const string Dns = "dns";

    /// <summary>The forms a target takes, as refusals name them.</summary>
    public const string Forms = "not a host, tcp://host:port, http(s):// URL or dns://server/name?type=A";

    /// <summary>For <c>dns://</c>: the name asked about (canonical: lower case, no final dot).</summary>
    public string? Name { get; init; }

    /// <summary>For <c>dns://</c>: the record type asked for (A, AAAA, MX, TXT, NS, …), upper case.</summary>
    public string? RecordType { get; init; }

    /// <summary>
    /// The longest target taken, in characters. A host name is at most 253 (RFC 1035); a URL at most this, which keeps
    /// the topic it is escaped into (<c>ping/</c> + at most 3 bytes a character) far below MQTT's 65,535 bytes.
    /// </summary>
    public const int MaxLength = 2048;

    /// <summary>Parses and validates a target; null when it is none of the three forms, too long, or carries credentials.</summary>
    public static ProbeTarget? Parse(string target)
    {
        if (target.Length > MaxLength) return null;
        if (target.StartsWith("dns://", StringComparison.OrdinalIgnoreCase)) return ParseDns(target["dns://".Length..]);
        if (!target.Contains("://")) return IsHost(target) ? new ProbeTarget(Icmp, Unbracket(target), 0, null) : null;
        if (!Uri.TryCreate(target, UriKind.Absolute, out var uri) || !IsHost(uri.Host) || uri.UserInfo.Length > 0) return null;
        return uri.Scheme switch
        {
            "tcp" when uri.Port is > 0 and <= 65535 && uri.AbsolutePath == "/" && uri.Query == "" && target.Count(c => c == ':') >= 2
                => new ProbeTarget(Tcp, Unbracket(uri.Host), uri.Port, null),
            "http" or "https" => new ProbeTarget(Http, Unbracket(uri.Host), uri.Port, uri),
            _ => null,
        };
    }

    /// <summary>Why an entry is not a target, in words an operator can act on; null when it is one.</summary>
    public static string? Problem(string entry, AddressPolicy? policy = null)
    {
        if (entry.Length > MaxLength) return $"{entry.Length} characters, over the limit of {MaxLength}";
        if (entry.Contains("://") && Uri.TryCreate(entry.Trim(), UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0)
            return "a URL with credentials is refused: they would travel in topics, documents and metrics";
        if (Normalize(entry) is not { } normal) return entry.Trim().StartsWith("dns://", StringComparison.OrdinalIgnoreCase) ? DnsProblem : Forms;
        return policy?.LiteralRefusal(Parse(normal)!);
    }

    /// <summary>
    /// One sentence on every entry that is not a target, e.g. <c>1 entry refused: 'x!': not a host, …</c>; null when
    /// all are targets. The one message <c>watch</c>, the management API, the configuration and the CLI give.
    /// </summary>
    public static string? Refusal(IEnumerable<string?> entries, AddressPolicy? policy = null)
    {
        var bad = entries.Select(e => e ?? "").Distinct().Select(e => (Entry: e, Problem: Problem(e, policy))).Where(b => b.Problem is not null).ToList();
        if (bad.Count == 0) return null;
        var shown = string.Join("; ", bad.Take(5).Select(b => $"'{Printable(b.Entry)}': {b.Problem}"));
        var more = bad.Count > 5 ? $"; and {bad.Count - 5} more" : "";
        return $"{bad.Count} {(bad.Count == 1 ? "entry" : "entries")} refused: {shown}{more}";
    }

    /// <summary>An entry as it can be shown in a log or a reply: control characters as '?', at most 64 characters.</summary>
    public static string Printable(string s)
    {
        var clean = new string(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length > 64 ? clean[..64] + "…" : clean;
    }

    /// <summary>The canonical text of a target: lower-case host, compressed IPv6, URLs as <see cref="Uri"/> prints them.</summary>
    public static string? Normalize(string target)
    {
        var parsed = Parse(target.Trim());
        if (parsed is null) return null;
        var host = parsed is { Kind: Dns, Host: "" } ? "" : NormalizeHost(parsed.Host); // no server: the system's resolver
        if (host is null) return null;
        return parsed.Kind switch
        {
            Icmp => host,
            Tcp => $"tcp://{Bracket(host)}:{parsed.Port}",
            Dns => $"dns://{(host.Length == 0 ? "" : Bracket(host))}{(parsed.Port == DnsPort ? "" : $":{parsed.Port}")}/{parsed.Name}?type={parsed.RecordType}",
            _ => parsed.Url!.AbsoluteUri,
        };
    }

    private const int DnsPort = 53;
    private const string DnsProblem = "a DNS target is dns://server[:port]/name?type=A|AAAA|CNAME|MX|NS|PTR|SOA|TXT (dns:///name asks the system's resolver)";

    private static string Bracket(string host) => host.Contains(':') ? $"[{host}]" : host;

    /// <summary><c>[server[:port]]/name[?type=T]</c>, after the scheme; null when any part is wrong.</summary>
    private static ProbeTarget? ParseDns(string rest)
    {
        var slash = rest.IndexOf('/');
        if (slash < 0) return null;
        var (authority, path) = (rest[..slash], rest[(slash + 1)..]);
        var type = "A";
        if (path.IndexOf('?') is var q and >= 0)
        {
            foreach (var parameter in path[(q + 1)..].Split('&'))
            {
                if (!parameter.StartsWith("type=", StringComparison.OrdinalIgnoreCase)) return null;
                type = parameter["type=".Length..].ToUpperInvariant();
            }
            path = path[..q];
        }
        if (!DnsWire.Types.ContainsKey(type) || NormalizeDnsName(path) is not { } name) return null;
        var (host, port) = ("", DnsPort);
        if (authority.Length > 0)
        {
            var colon = authority.StartsWith('[') ? authority.IndexOf("]:", StringComparison.Ordinal) + 1 : authority.IndexOf(':');
            if (colon > 0)
            {
                if (!int.TryParse(authority[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is 0 or > 65535) return null;
                authority = authority[..colon];
            }
            if (authority.Contains(':') && !authority.StartsWith('[')) return null; // an IPv6 server goes in brackets
            if (NormalizeHost(Unbracket(authority)) is not { } server) return null;
            host = server;
        }
        return new ProbeTarget(Dns, host, port, null) { Name = name, RecordType = type };
    }

    /// <summary>
    /// A name a DNS question may carry: like a host name, but labels may hold '_' (<c>_dmarc.example.com</c>) and
    /// need not be a host; lower case, no final dot. Null when it is not one.
    /// </summary>
    public static string? NormalizeDnsName(string name)
    {
        name = name.TrimEnd('.').ToLowerInvariant();
        if (name.Length is 0 or > 253) return null;
        return name.Split('.').All(l => l.Length is > 0 and <= 63 && l.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) ? name : null;
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
