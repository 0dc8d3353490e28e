namespace Swarm.Mqtt;

/// <summary>
/// One broker as configuration names it, parsed once: every part of the node (the banner, the links, the indexer)
/// reads host, port and TLS from here. <c>mqtt://</c> and <c>tcp://</c> are plain (port 1883 unless given);
/// <c>mqtts://</c>, <c>ssl://</c> and <c>tls://</c> speak TLS (port 8883 unless given).
/// </summary>
public sealed record BrokerEndpoint(string Host, int Port, bool Tls)
{
    public const int PlainPort = 1883;
    public const int TlsPort = 8883;
    private static readonly string[] PlainSchemes = ["mqtt", "tcp"];
    private static readonly string[] TlsSchemes = ["mqtts", "ssl", "tls"];

    /// <summary>Parses a broker URL; null with <paramref name="error"/> saying what to write instead.</summary>
    public static BrokerEndpoint? Parse(string url, out string? error)
    {
        error = null;
        if (Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) && uri.Host.Length > 0
            && (PlainSchemes.Contains(uri.Scheme) || TlsSchemes.Contains(uri.Scheme))
            && uri.AbsolutePath is "" or "/" && uri.Query.Length == 0 && uri.UserInfo.Length == 0)
        {
            var tls = TlsSchemes.Contains(uri.Scheme);
            return new BrokerEndpoint(uri.Host.Trim('[', ']'), uri.IsDefaultPort || uri.Port <= 0 ? (tls ? TlsPort : PlainPort) : uri.Port, tls);
        }
        error = $"'{url}' is not a broker URL; write mqtt://host:{PlainPort} or mqtts://host:{TlsPort} (credentials go in Swarm:Mqtt:Username and :Password)";
        return null;
    }

    /// <summary>The broker on this machine's loopback, as the embedded one listens.</summary>
    public static BrokerEndpoint Loopback(int port) => new("127.0.0.1", port, Tls: false);

    public string Scheme => Tls ? "mqtts" : "mqtt";

    /// <summary>The host as a URL or a command line writes it: IPv6 literals in brackets.</summary>
    public string HostForUrl => Host.Contains(':') ? $"[{Host}]" : Host;

    public override string ToString() => $"{Scheme}://{HostForUrl}:{Port}";
}
