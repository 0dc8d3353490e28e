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
    public const string Trace = "trace";

    /// <summary>For <c>trace://</c>: the most hops tried (TTL 1 to this), 30 unless <c>?max=</c> says.</summary>
    public int MaxHops { get; init; } = DefaultMaxHops;

    /// <summary>For <c>trace://</c>: icmp (TTL-limited echoes, the default) or udp (datagrams to closed ports, as traceroute).</summary>
    public string? Protocol { get; init; }

    public const int DefaultMaxHops = 30;
    public const int MostHops = 64;

    /// <summary>The forms a target takes, as refusals name them.</summary>
    public const string Forms = "not a host, tcp://host:port, http(s):// URL, dns://server/name?type=A or trace://host";

    /// <summary>Which IP family the target asks for: <c>icmp4://</c>, <c>icmp6://</c> or <c>?family=4|6|both</c>; by default IPv4 first.</summary>
    public IpFamily Family { get; init; }

    /// <summary>For HTTP: the path and query sent, without the <c>family</c> parameter, which is ours, not the server's.</summary>
    public string? RequestPath { get; init; }

    /// <summary>For <c>dns://</c>: the name asked about (canonical: lower case, no final dot).</summary>
    public string? Name { get; init; }

    /// <summary>For <c>dns://</c>: the record type asked for (A, AAAA, MX, TXT, NS, …), upper case.</summary>
    public string? RecordType { get; init; }

    /// <summary>
    /// The longest target taken, in characters. A host name is at most 253 (RFC 1035); a URL at most this, which keeps
    /// the topic it is escaped into (<c>ping/</c> + at most 3 bytes a character) far below MQTT's 65,535 bytes.
    /// </summary>
    public const int MaxLength = 2048;

    /// <summary>Parses and validates a target; null when it is none of the forms, too long, or carries credentials.</summary>
    public static ProbeTarget? Parse(string target)
    {
        if (target.Length > MaxLength) return null;
        if (target.StartsWith("dns://", StringComparison.OrdinalIgnoreCase)) return ParseDns(target["dns://".Length..]);
        if (target.StartsWith("trace://", StringComparison.OrdinalIgnoreCase)) return ParseTrace(target["trace://".Length..]);
        if (!target.Contains("://")) return IsHost(target) ? new ProbeTarget(Icmp, Unbracket(target), 0, null) : null;
        foreach (var (scheme, family) in IcmpSchemes)
            if (target.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return ParseIcmp(target[scheme.Length..], family);
        if (!Uri.TryCreate(target, UriKind.Absolute, out var uri) || !IsHost(uri.Host) || uri.UserInfo.Length > 0) return null;
        var (asked, rest) = TakeFamily(uri.Query);
        if (asked is null || Contradicts(uri.Host, asked.Value)) return null;
        return uri.Scheme switch
        {
            "tcp" when uri.Port is > 0 and <= 65535 && uri.AbsolutePath == "/" && rest == "" && target.Count(c => c == ':') >= 2
                => new ProbeTarget(Tcp, Unbracket(uri.Host), uri.Port, null) { Family = asked.Value },
            "http" or "https" => new ProbeTarget(Http, Unbracket(uri.Host), uri.Port, uri) { Family = asked.Value, RequestPath = uri.AbsolutePath + rest },
            _ => null,
        };
    }

    private static readonly (string Scheme, IpFamily Family)[] IcmpSchemes = [("icmp://", IpFamily.Any), ("icmp4://", IpFamily.V4), ("icmp6://", IpFamily.V6)];

    /// <summary><c>host[?family=…]</c> after an icmp scheme; the scheme's own family may not be contradicted.</summary>
    private static ProbeTarget? ParseIcmp(string rest, IpFamily schemeFamily)
    {
        var q = rest.IndexOf('?');
        var (host, query) = q < 0 ? (rest, "") : (rest[..q], rest[q..]);
        var (asked, left) = TakeFamily(query);
        if (asked is null || left != "" || !IsHost(host) || Contradicts(host, asked.Value)) return null;
        if (schemeFamily != IpFamily.Any && (asked != IpFamily.Any || Contradicts(host, schemeFamily))) return null;
        return new ProbeTarget(Icmp, Unbracket(host), 0, null) { Family = schemeFamily != IpFamily.Any ? schemeFamily : asked.Value };
    }

    /// <summary><c>host[?proto=icmp|udp][&amp;max=N][&amp;family=…]</c> after <c>trace://</c>.</summary>
    private static ProbeTarget? ParseTrace(string rest)
    {
        var q = rest.IndexOf('?');
        var (host, query) = q < 0 ? (rest, "") : (rest[..q], rest[q..]);
        var (family, others) = TakeFamily(query);
        if (family is null || !IsHost(host) || Contradicts(host, family.Value)) return null;
        var (protocol, max) = ("icmp", DefaultMaxHops);
        foreach (var parameter in others.Length > 1 ? others[1..].Split('&') : [])
        {
            if (parameter is "proto=icmp" or "proto=udp") protocol = parameter[6..];
            else if (parameter.StartsWith("max=", StringComparison.Ordinal)
                     && int.TryParse(parameter[4..], NumberStyles.None, CultureInfo.InvariantCulture, out max) && max is >= 1 and <= MostHops) { }
            else return null;
        }
        return new ProbeTarget(Trace, Unbracket(host), 0, null) { Family = family.Value, Protocol = protocol, MaxHops = max };
    }

    /// <summary>
    /// The <c>family</c> parameter of a query (<c>?a=1&amp;family=6</c>) and the query without it; a null family when
    /// the parameter is given but is not 4, 6 or both, or is given twice.
    /// </summary>
    private static (IpFamily? Family, string Remaining) TakeFamily(string query)
    {
        if (query.Length <= 1) return (IpFamily.Any, "");
        IpFamily? family = IpFamily.Any;
        var kept = new List<string>();
        var seen = false;
        foreach (var parameter in query[1..].Split('&'))
        {
            if (!parameter.StartsWith("family=", StringComparison.Ordinal))
            {
                kept.Add(parameter);
                continue;
            }
            family = seen ? null : parameter["family=".Length..] switch { "4" => IpFamily.V4, "6" => IpFamily.V6, "both" => IpFamily.Both, _ => null };
            seen = true;
        }
        return (family, kept.Count == 0 ? "" : "?" + string.Join('&', kept));
    }

    /// <summary>An IP literal of the other family (<c>icmp6://192.0.2.1</c>), or a literal asked over both: never probeable.</summary>
    private static bool Contradicts(string host, IpFamily family) =>
        family != IpFamily.Any && NormalizeHost(Unbracket(host)) is { } normal && IPAddress.TryParse(normal, out var literal)
        // An IPv4-mapped IPv6 literal (::ffff:1.2.3.4) is IPv4: it cannot answer for IPv6.
        && (family == IpFamily.Both || (literal.AddressFamily == AddressFamily.InterNetwork || literal.IsIPv4MappedToIPv6) != (family == IpFamily.V4));

    /// <summary>The parameter value of a family: <c>4</c>, <c>6</c> or <c>both</c>.</summary>
    public static string FamilyText(IpFamily family) => family switch { IpFamily.V4 => "4", IpFamily.V6 => "6", IpFamily.Both => "both", _ => "" };

    /// <summary>
    /// The target of one family from a <c>both</c> target: <c>icmp://h?family=both</c> → <c>icmp6://h</c>,
    /// <c>tcp://h:443?family=both</c> → <c>tcp://h:443?family=6</c>. Both are measured in the same round.
    /// </summary>
    public static string ForFamily(string canonical, IpFamily family)
    {
        var parsed = Parse(canonical) ?? throw new ArgumentException($"not a target: {canonical}");
        if (parsed.Kind == Icmp) return $"icmp{FamilyText(family)}://{Bracket(parsed.Host)}";
        // Only the parameter itself: "family=both" elsewhere in a URL's path or values is the server's business.
        var q = canonical.IndexOf('?');
        var parameters = canonical[(q + 1)..].Split('&').Select(p => p == "family=both" ? $"family={FamilyText(family)}" : p);
        return $"{canonical[..q]}?{string.Join('&', parameters)}";
    }

    /// <summary>Why an entry is not a target, in words an operator can act on; null when it is one.</summary>
    public static string? Problem(string entry, AddressPolicy? policy = null)
    {
        if (entry.Length > MaxLength) return $"{entry.Length} characters, over the limit of {MaxLength}";
        if (entry.Contains("://") && Uri.TryCreate(entry.Trim(), UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0)
            return "a URL with credentials is refused: they would travel in topics, documents and metrics";
        if (Normalize(entry) is not { } normal)
        {
            if (entry.Trim().StartsWith("dns://", StringComparison.OrdinalIgnoreCase)) return DnsProblem;
            if (entry.Trim().StartsWith("trace://", StringComparison.OrdinalIgnoreCase)) return TraceProblem;
            return entry.Contains("family=", StringComparison.Ordinal) || entry.Trim().StartsWith("icmp", StringComparison.OrdinalIgnoreCase) ? FamilyProblem : Forms;
        }
        return policy is not null && Parse(normal) is { } parsed ? policy.LiteralRefusal(parsed) : null;
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
        // The canonical form must itself be a target (escaping can take a URL past MaxLength): otherwise none.
        return Canonical(target) is { } canonical && Parse(canonical) is not null ? canonical : null;
    }

    private static string? Canonical(string target)
    {
        var parsed = Parse(target.Trim());
        if (parsed is null) return null;
        var host = parsed is { Kind: Dns, Host: "" } ? "" : NormalizeHost(parsed.Host); // no server: the system's resolver
        if (host is null) return null;
        var family = FamilyText(parsed.Family);
        return parsed.Kind switch
        {
            Icmp => parsed.Family switch
            {
                IpFamily.Any => host,
                IpFamily.Both => $"icmp://{Bracket(host)}?family=both",
                _ => $"icmp{family}://{Bracket(host)}",
            },
            Tcp => $"tcp://{Bracket(host)}:{parsed.Port}{(family == "" ? "" : $"?family={family}")}",
            Trace => $"trace://{Bracket(host)}" + Query(
                (parsed.Protocol == "icmp" ? "" : $"proto={parsed.Protocol}"),
                (parsed.MaxHops == DefaultMaxHops ? "" : $"max={parsed.MaxHops}"),
                (family == "" ? "" : $"family={family}")),
            Dns => $"dns://{(host.Length == 0 ? "" : Bracket(host))}{(parsed.Port == DnsPort ? "" : $":{parsed.Port}")}/{parsed.Name}?type={parsed.RecordType}" +
                   (family == "" ? "" : $"&family={family}"),
            _ => parsed.Url!.AbsoluteUri,
        };
    }

    private const int DnsPort = 53;

    private static string Query(params string[] parameters) =>
        parameters.Any(p => p.Length > 0) ? "?" + string.Join('&', parameters.Where(p => p.Length > 0)) : "";
    private const string TraceProblem = $"a path target is trace://host[?proto=icmp|udp][&max=1..64][&family=4|6|both]";
    private const string FamilyProblem = "a family is asked as icmp4://host, icmp6://host, or ?family=4|6|both (icmp://host?family=both, tcp://host:port?family=6, …)";
    private const string DnsProblem = "a DNS target is dns://server[:port]/name?type=A|AAAA|CNAME|MX|NS|PTR|SOA|TXT[&family=4|6|both] (dns:///name asks the system's resolver)";

    private static string Bracket(string host) => host.Contains(':') ? $"[{host}]" : host;

    /// <summary><c>[server[:port]]/name[?type=T]</c>, after the scheme; null when any part is wrong.</summary>
    private static ProbeTarget? ParseDns(string rest)
    {
        var slash = rest.IndexOf('/');
        if (slash < 0) return null;
        var (authority, path) = (rest[..slash], rest[(slash + 1)..]);
        var type = "A";
        IpFamily? family = IpFamily.Any;
        if (path.IndexOf('?') is var q and >= 0)
        {
            (family, var others) = TakeFamily(path[q..]);
            if (family is null) return null;
            foreach (var parameter in others.Length > 1 ? others[1..].Split('&') : [])
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
        if (host.Length == 0 && family != IpFamily.Any) return null; // the system's resolver has its own address
        if (Contradicts(host, family.Value)) return null;
        return new ProbeTarget(Dns, host, port, null) { Name = name, RecordType = type, Family = family.Value };
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

/// <summary>The IP family a target is probed over; <see cref="Any"/> takes IPv4 when the name has both.</summary>
public enum IpFamily { Any, V4, V6, Both }
