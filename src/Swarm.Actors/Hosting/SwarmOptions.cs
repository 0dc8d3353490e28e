using Akka.Event;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Microsoft.Extensions.Configuration;
using Swarm.Probing;
using Swarm.Targets;

namespace Swarm.Hosting;

/// <summary>The whole <c>Swarm</c> configuration section, read and validated once at start-up.</summary>
public sealed record SwarmOptions
{
    public const string DefaultTargets = "127.0.0.1 ::1 localhost free.fr yahoo.fr";

    public required IReadOnlySet<string> Roles { get; init; }
    public required string DataDir { get; init; }
    public required BeeOptions Bee { get; init; }
    public required MqttOptions Mqtt { get; init; }
    public required PersistenceOptions Persistence { get; init; }
    public required ElasticsearchOptions Elasticsearch { get; init; }
    public required ManagementOptions Management { get; init; }
    public required ClusterOptions Cluster { get; init; }
    public required ProbeOptions Probe { get; init; }
    public required TargetsOptions Targets { get; init; }
    public required OutboxOptions Outbox { get; init; }
    public required VerdictOptions Verdict { get; init; }

    public bool Has(string role) => Roles.Contains(role);

    /// <summary>An edge bee: a bee with nothing but an outbound MQTT connection (no remoting, no cluster).</summary>
    public bool IsEdge => Has(SwarmNames.Roles.Edge);

    /// <summary>Whether this node runs a bee, in the cluster or at the edge.</summary>
    public bool IsBee => Has(SwarmNames.Roles.Bee) || IsEdge;

    /// <summary>Reads and validates the configuration, each section by its own record; throws <see cref="SwarmConfigurationException"/> naming every bad key.</summary>
    public static SwarmOptions Load(IConfiguration config, IReadOnlyList<string>? defaultRoles = null, int defaultClusterPort = 0) =>
        ConfigReader.Load(config, r =>
        {
            var roles = r.List(SwarmKeys.Roles, defaultRoles ?? SwarmNames.Roles.NodeRoles).Select(x => x.ToLowerInvariant()).ToHashSet();
            IReadOnlyList<string> allowed = defaultRoles is null
                ? [.. SwarmNames.Roles.NodeRoles, SwarmNames.Roles.Edge]
                : [.. SwarmNames.Roles.NodeRoles, SwarmNames.Roles.Lighthouse];
            foreach (var bad in roles.Where(x => !allowed.Contains(x)))
                r.Errors.Add($"{SwarmKeys.Roles}: unknown role '{bad}'; roles are {string.Join(", ", allowed)}");
            var dataDir = Path.GetFullPath(r.String(SwarmKeys.DataDir) ?? "./data");
            var probe = ProbeOptions.Read(r);
            var mqtt = MqttOptions.Read(r);
            var persistence = PersistenceOptions.Read(r, dataDir);
            if (roles.Contains(SwarmNames.Roles.Edge))
            {
                // An edge bee is not a cluster member: queens and indexers need the cluster, so it runs alone.
                r.Check(roles.Count == 1, $"{SwarmKeys.Roles}: 'edge' runs alone (an edge bee is not a cluster member); drop {string.Join(", ", roles.Where(x => x != SwarmNames.Roles.Edge))}");
                r.Check(!mqtt.UsesEmbeddedBroker, $"{SwarmKeys.Mqtt.Brokers} is empty: an edge bee dials out to a broker, e.g. mqtts://broker.example:8883");
                r.Check(persistence.Provider == "sqlite", $"{SwarmKeys.Persistence.Provider} = '{persistence.Provider}': an edge bee keeps its journal in local SQLite ({SwarmKeys.DataDir}/edge-journal.db)");
            }
            return new SwarmOptions
            {
                Roles = roles,
                DataDir = dataDir,
                Bee = BeeOptions.Read(r),
                Mqtt = mqtt,
                Persistence = persistence,
                Elasticsearch = ElasticsearchOptions.Read(r),
                Management = ManagementOptions.Read(r, ManagementOptions.NodeUrl),
                // An edge bee joins no cluster: what the cluster section says (seeds, TLS files) is not read.
                Cluster = roles.Contains(SwarmNames.Roles.Edge) ? new ClusterOptions("127.0.0.1", 0, []) : ClusterOptions.Read(r, defaultClusterPort),
                Probe = probe,
                Outbox = OutboxOptions.Read(r),
                Targets = TargetsOptions.Read(r, probe.Addresses),
                Verdict = VerdictOptions.Read(r, probe.Interval, roles.Contains(SwarmNames.Roles.Queen)),
            };
        });
}

/// <summary>Who this node's bee is, where it stands (<c>observer.geo.name</c>), and which lists it follows.</summary>
public sealed record BeeOptions(string Id, string? Location, IReadOnlyList<string> Lists)
{
    /// <summary>The link as the operator names it (ethernet, wifi, cellular, dsl, ppp…); null: guessed at start.</summary>
    public string? Connection { get; init; }

    /// <summary>Where the bee stands, "lat,lon" in degrees; feeds <c>observer.geo.location</c> and Kibana's map.</summary>
    public string? Geo { get; init; }

    internal static BeeOptions Read(ConfigReader r)
    {
        var id = r.String(SwarmKeys.Bee.Id) ?? Environment.MachineName.ToLowerInvariant();
        r.Check(WatchPayload.IsBeeId(id), $"{SwarmKeys.Bee.Id} = '{id}': use letters, digits, '.', '-' or '_' (at most 64)");
        var lists = r.List(SwarmKeys.Bee.Lists, [SwarmNames.DefaultList]);
        foreach (var bad in lists.Where(l => !WatchPayload.IsListName(l)))
            r.Errors.Add($"{SwarmKeys.Bee.Lists}: '{bad}' is not a list name (letters, digits, '-' or '_')");
        var connection = r.String(SwarmKeys.Bee.Connection)?.ToLowerInvariant();
        r.Check(connection is null || WatchPayload.IsListName(connection),
            $"{SwarmKeys.Bee.Connection} = '{connection}': one word, e.g. ethernet, wifi, cellular, dsl, fiber, cable");
        return new BeeOptions(id, r.String(SwarmKeys.Bee.Location), lists) { Geo = r.Geo(SwarmKeys.Bee.Geo), Connection = connection };
    }
}

/// <summary>Brokers to use (empty: the embedded one on <see cref="EmbeddedPort"/>) and how to authenticate.</summary>
public sealed record MqttOptions(
    IReadOnlyList<Swarm.Mqtt.BrokerEndpoint> Brokers, int EmbeddedPort, string? CaFile, string? CertFile, string? KeyFile, string? Username, string? Password)
{
    /// <summary>The CA and client certificate, loaded and checked at start-up.</summary>
    public Swarm.Mqtt.MqttTls Tls { get; init; } = Swarm.Mqtt.MqttTls.None;

    public bool UsesEmbeddedBroker => Brokers.Count == 0;

    /// <summary>Queens and indexers read every broker at once (true), or one at a time in failover order, for brokers bridged into one.</summary>
    public bool EveryBroker { get; init; } = true;

    public IReadOnlyList<Swarm.Mqtt.BrokerEndpoint> EffectiveBrokers => UsesEmbeddedBroker ? [Swarm.Mqtt.BrokerEndpoint.Loopback(EmbeddedPort)] : Brokers;

    internal static MqttOptions Read(ConfigReader r)
    {
        var brokers = new List<Swarm.Mqtt.BrokerEndpoint>();
        foreach (var url in r.List(SwarmKeys.Mqtt.Brokers, []))
        {
            if (Swarm.Mqtt.BrokerEndpoint.Parse(url, out var error) is { } broker) brokers.Add(broker);
            else r.Errors.Add($"{SwarmKeys.Mqtt.Brokers}: {error}");
        }
        var (ca, cert, key) = (r.ExistingFile(SwarmKeys.Mqtt.CaFile), r.ExistingFile(SwarmKeys.Mqtt.CertFile), r.ExistingFile(SwarmKeys.Mqtt.KeyFile));
        var password = r.String(SwarmKeys.Mqtt.Password);
        r.Check(key is null || cert is not null, $"{SwarmKeys.Mqtt.KeyFile} is set without {SwarmKeys.Mqtt.CertFile}");
        var (tls, tlsErrors) = Swarm.Mqtt.MqttTls.Load(ca, cert, key, password);
        r.Errors.AddRange(tlsErrors);
        return new MqttOptions(brokers, r.Number(SwarmKeys.Mqtt.EmbeddedPort, 1883, 0, 65535), ca, cert, key, r.String(SwarmKeys.Mqtt.Username), password)
        {
            Tls = tls,
            EveryBroker = r.Flag(SwarmKeys.Mqtt.EveryBroker, true),
        };
    }
}

/// <summary><c>sqlite</c> or <c>postgresql</c>, and the connection string (SQLite defaults to a file under the data folder).</summary>
public sealed record PersistenceOptions(string Provider, string ConnectionString)
{
    internal static PersistenceOptions Read(ConfigReader r, string dataDir)
    {
        var provider = (r.String(SwarmKeys.Persistence.Provider) ?? "sqlite").ToLowerInvariant();
        r.Check(provider is "sqlite" or "postgresql", $"{SwarmKeys.Persistence.Provider} = '{provider}': must be 'sqlite' or 'postgresql'");
        var connection = r.String(SwarmKeys.Persistence.ConnectionString);
        r.Check(provider != "postgresql" || connection is not null,
            $"{SwarmKeys.Persistence.ConnectionString} is required with provider 'postgresql', e.g. 'Host=db;Database=swarm;Username=swarm;Password=…'");
        return new PersistenceOptions(provider, connection ?? $"Data Source={Path.Combine(dataDir, "swarm.db")}");
    }
}

/// <summary>Where the indexer writes; no URL means the indexer is off.</summary>
public sealed record ElasticsearchOptions(
    IReadOnlyList<string> Urls, string DataStream, string? ApiKey, string? Username, string? Password, string? CaFile)
{
    internal static ElasticsearchOptions Read(ConfigReader r)
    {
        var urls = r.List(SwarmKeys.Elasticsearch.Urls, []);
        foreach (var url in urls)
            r.Check(Uri.TryCreate(url, UriKind.Absolute, out var es) && es.Scheme is "http" or "https",
                $"{SwarmKeys.Elasticsearch.Urls}: '{url}' is not an http:// or https:// URL, e.g. https://es.example:9200");
        return new ElasticsearchOptions(urls, r.String(SwarmKeys.Elasticsearch.DataStream) ?? "swarm", r.String(SwarmKeys.Elasticsearch.ApiKey),
            r.String(SwarmKeys.Elasticsearch.Username), r.String(SwarmKeys.Elasticsearch.Password), r.ExistingFile(SwarmKeys.Elasticsearch.CaFile));
    }
}

/// <summary>The management endpoint's address and bearer token, and the cap on per-target metric series.</summary>
public sealed record ManagementOptions(string Url, string? Token)
{
    public const string NodeUrl = "http://127.0.0.1:9110";

    /// <summary>The Lighthouse's default, beside a node's on one machine.</summary>
    public const string LighthouseUrl = "http://127.0.0.1:9100";

    /// <summary>How many targets get series of their own in <c>/metrics</c>; the rest share <c>target="_other"</c>.</summary>
    public int MaxTargetSeries { get; init; } = 1000;

    /// <summary>A bearer token <c>/metrics</c> wants when set (Prometheus: <c>authorization.credentials</c>); open when not.</summary>
    public string? MetricsToken { get; init; }

    public static ManagementOptions Load(IConfiguration config, string defaultUrl) => ConfigReader.Load(config, r => Read(r, defaultUrl));

    internal static ManagementOptions Read(ConfigReader r, string defaultUrl)
    {
        var url = r.String(SwarmKeys.Management.Url) ?? defaultUrl;
        var token = r.String(SwarmKeys.Management.Token);
        var valid = Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
        r.Check(valid, $"{SwarmKeys.Management.Url} = '{url}': must be an http:// or https:// URL");
        r.Check(!valid || token is not null || IsLoopback(uri!),
            $"{SwarmKeys.Management.Url} = '{url}' is reachable from other machines: set {SwarmKeys.Management.Token} (a bearer token the CLI sends with --token)");
        return new ManagementOptions(url, token)
        {
            MaxTargetSeries = r.Number(SwarmKeys.Management.MaxTargetSeries, 1000, 1, 1_000_000),
            MetricsToken = r.String(SwarmKeys.Management.MetricsToken),
        };
    }

    /// <summary>True when only this machine can reach the endpoint: <c>localhost</c>, 127.0.0.0/8 or ::1.</summary>
    public static bool IsLoopback(Uri url) =>
        url.IsLoopback || (System.Net.IPAddress.TryParse(url.Host.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip));
}

/// <summary>Akka remoting address and seed nodes; no seeds means this node seeds itself.</summary>
public sealed record ClusterOptions(string Hostname, int Port, IReadOnlyList<string> Seeds)
{
    /// <summary>How long membership must be stable before the Split Brain Resolver downs unreachable nodes.</summary>
    public TimeSpan DownAfter { get; init; } = TimeSpan.FromSeconds(20);

    public const int LighthousePort = 4053;

    /// <summary>Mutual TLS between members (Swarm:Cluster:Tls:*), or null for plain TCP on a network you trust.</summary>
    public ClusterTls? Tls { get; init; }

    /// <summary><c>akka.ssl.tcp</c> with TLS, <c>akka.tcp</c> without: every address and seed carries it.</summary>
    public string Scheme => Tls is null ? "akka.tcp" : "akka.ssl.tcp";

    /// <summary>This node's own address as a seed, e.g. <c>akka.tcp://swarm@lighthouse-0.lighthouse:4053</c>.</summary>
    public string SelfAddress => $"{Scheme}://{SwarmNames.ActorSystem}@{Hostname}:{Port}";

    /// <summary>Reads <c>Swarm:Cluster:*</c>, falling back to the conventional <c>CLUSTER_IP</c>, <c>CLUSTER_PORT</c>, <c>CLUSTER_SEEDS</c>.</summary>
    public static ClusterOptions Load(IConfiguration config, int defaultPort) => ConfigReader.Load(config, r => Read(r, defaultPort));

    internal static ClusterOptions Read(ConfigReader r, int defaultPort)
    {
        var hostname = r.String(SwarmKeys.Cluster.Hostname, SwarmKeys.Cluster.HostnameFallback) ?? "127.0.0.1";
        var port = r.Number(SwarmKeys.Cluster.Port, defaultPort, 0, 65535, SwarmKeys.Cluster.PortFallback);
        var seeds = r.List(SwarmKeys.Cluster.Seeds, [], SwarmKeys.Cluster.SeedsFallback);
        var tls = ClusterTls.Read(r);
        var tlsWanted = ClusterTls.Keys.Any(k => r.String(k) is not null); // judged by intent: a bad file is reported on its own
        var scheme = tlsWanted ? "akka.ssl.tcp" : "akka.tcp";
        foreach (var seed in seeds)
        {
            var ok = Address.TryParse(seed, out var address) && address.System == SwarmNames.ActorSystem && address.Port is > 0;
            r.Check(ok, $"{SwarmKeys.Cluster.Seeds}: '{seed}' is not a seed address; write {scheme}://{SwarmNames.ActorSystem}@host:{LighthousePort}");
            r.Check(!ok || address!.Protocol == scheme, !tlsWanted
                ? $"{SwarmKeys.Cluster.Seeds}: '{seed}' speaks TLS but Swarm:Cluster:Tls:* is not set; set it, or write akka.tcp://"
                : $"{SwarmKeys.Cluster.Seeds}: '{seed}' is plain TCP but this node speaks TLS (Swarm:Cluster:Tls:*); write akka.ssl.tcp://");
        }
        var downAfter = r.Duration(SwarmKeys.Cluster.DownAfter, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        return new ClusterOptions(hostname, port, seeds) { DownAfter = downAfter, Tls = tls };
    }

    /// <summary>
    /// The seeds with this node's own address added when missing, as Lighthouse does: a lone seed forms the cluster,
    /// and the others join it. Order is kept; every node must list the seeds in the same order.
    /// </summary>
    public ClusterOptions WithSelfAsSeed() =>
        Seeds.Any(s => string.Equals(s.TrimEnd('/'), SelfAddress, StringComparison.OrdinalIgnoreCase))
            ? this
            : this with { Seeds = [.. Seeds, SelfAddress] };
}

/// <summary>
/// This member's certificate and the swarm's CA for mutual TLS between members: a member accepts a connection,
/// inbound or outbound, only from a peer whose certificate chains to this CA, and to no other root.
/// </summary>
public sealed record ClusterTls(X509Certificate2 Certificate, X509Certificate2Collection Ca)
{
    internal static readonly string[] Keys = [SwarmKeys.Cluster.CaFile, SwarmKeys.Cluster.CertFile, SwarmKeys.Cluster.KeyFile];

    internal static ClusterTls? Read(ConfigReader r)
    {
        var (ca, cert, key) = (r.ExistingFile(SwarmKeys.Cluster.CaFile), r.ExistingFile(SwarmKeys.Cluster.CertFile), r.ExistingFile(SwarmKeys.Cluster.KeyFile));
        var named = Keys.Select(k => r.String(k)).Count(v => v is not null);
        if (named == 0) return null;
        r.Check(named == 3, "Swarm:Cluster:Tls: set all of CaFile, CertFile and KeyFile (PEM), or none");
        if (new[] { ca, cert, key }.Any(f => f is null || !File.Exists(f))) return null; // ExistingFile reported it
        var roots = TlsFiles.LoadCa(SwarmKeys.Cluster.CaFile, ca!, r.Errors);
        var identity = TlsFiles.LoadIdentity(SwarmKeys.Cluster.CertFile, cert!, key, null, r.Errors);
        if (roots is null || identity is null) return null;
        r.Check(TlsFiles.ChainsTo(identity, roots), $"{SwarmKeys.Cluster.CertFile} = '{cert}': not issued by the CA in {SwarmKeys.Cluster.CaFile}, so no member would accept it");
        return new ClusterTls(identity, roots);
    }

    /// <summary>Akka.Remote's check of a peer: its certificate chains to the swarm's CA. Host names are not checked: the CA is the boundary.</summary>
    public Akka.Remote.Transport.DotNetty.CertificateValidationCallback Validator => (certificate, presented, peer, _, log) =>
    {
        if (certificate is not null && TlsFiles.ChainsTo(certificate, Ca, presented)) return true;
        log.Warning("cluster TLS: refused {0}: {1}", peer, certificate is null ? "it presented no certificate" : $"{certificate.Subject} is not issued by the swarm's CA");
        return false;
    };
}

/// <summary>How often each target is probed, how a round runs, and the limits that keep a bee polite.</summary>
public sealed record ProbeOptions(
    TimeSpan Interval, int Count, TimeSpan Spacing, TimeSpan Timeout, TimeSpan RequestTimeout, int MaxPerSecond, TimeSpan MinTargetSpacing)
{
    public RoundSettings Round => new(Count, Spacing, Timeout) { RequestTimeout = RequestTimeout };

    public ProbeLimits Limits => new(MaxPerSecond, MinTargetSpacing);

    /// <summary>Which addresses may be probed (Swarm:Probe:AllowNetworks, :DenyNetworks).</summary>
    public AddressPolicy Addresses { get; init; } = AddressPolicy.Default;

    internal static ProbeOptions Read(ConfigReader r)
    {
        var interval = r.Duration(SwarmKeys.Probe.Interval, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(24));
        var p = new ProbeOptions(
            interval,
            r.Number(SwarmKeys.Probe.Count, 5, 1, 1000),
            r.Duration(SwarmKeys.Probe.Spacing, TimeSpan.FromMilliseconds(200), TimeSpan.Zero, TimeSpan.FromMinutes(1)),
            r.Duration(SwarmKeys.Probe.Timeout, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1)),
            // Unset, an HTTP request may take 5 s or the whole interval, whichever is shorter.
            r.Duration(SwarmKeys.Probe.RequestTimeout, interval < TimeSpan.FromSeconds(5) ? interval : TimeSpan.FromSeconds(5),
                TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5)),
            r.Number(SwarmKeys.Probe.MaxPerSecond, 5000, 0, 10_000_000),
            r.Duration(SwarmKeys.Probe.MinTargetSpacing, TimeSpan.FromMilliseconds(50), TimeSpan.Zero, TimeSpan.FromMinutes(1)))
        {
            Addresses = new AddressPolicy(
                AddressPolicy.ParseNetworks(SwarmKeys.Probe.AllowNetworks, r.List(SwarmKeys.Probe.AllowNetworks, []), r.Errors),
                AddressPolicy.ParseNetworks(SwarmKeys.Probe.DenyNetworks, r.List(SwarmKeys.Probe.DenyNetworks, []), r.Errors)),
        };
        var spacing = p.Spacing > p.MinTargetSpacing ? p.Spacing : p.MinTargetSpacing; // the pacer stretches shorter spacing
        var round = spacing * (p.Count - 1) + p.Timeout;
        r.Check(round <= p.Interval,
            $"Swarm:Probe: a round takes up to {round.TotalMilliseconds:0} ms (Count × max(Spacing, MinTargetSpacing) + Timeout), longer than {SwarmKeys.Probe.Interval} ({p.Interval.TotalMilliseconds:0} ms)");
        r.Check(p.RequestTimeout <= p.Interval,
            $"{SwarmKeys.Probe.RequestTimeout} ({p.RequestTimeout.TotalMilliseconds:0} ms) is longer than {SwarmKeys.Probe.Interval} ({p.Interval.TotalMilliseconds:0} ms)");
        return p;
    }
}

/// <summary>The built-in default list and the limits on what <c>watch</c> accepts.</summary>
public sealed record TargetsOptions(IReadOnlyList<string> Default, int MaxPerList, int MaxPayloadBytes)
{
    /// <summary>The most bytes one list may hold (<see cref="TargetList.SizeOf"/>): a list travels in one remoting message.</summary>
    public int MaxListBytes { get; init; } = TargetList.DefaultMaxBytes;

    internal static TargetsOptions Read(ConfigReader r, AddressPolicy addresses)
    {
        var defaults = r.List(SwarmKeys.Targets.Default, SwarmOptions.DefaultTargets.Split(' '));
        if (ProbeTarget.Refusal(defaults) is { } refusal) r.Errors.Add($"{SwarmKeys.Targets.Default}: {refusal}");
        return new TargetsOptions(
            defaults.Select(t => WatchPayload.NormalizeTarget(t) ?? t).ToList(),
            r.Number(SwarmKeys.Targets.MaxPerList, 1000, 1, 1_000_000),
            r.Number(SwarmKeys.Targets.MaxPayloadBytes, 64 * 1024, 64, 16 * 1024 * 1024))
        {
            MaxListBytes = r.Number(SwarmKeys.Targets.MaxListBytes, TargetList.DefaultMaxBytes, 1024, TargetList.DefaultMaxBytes),
        };
    }
}

/// <summary>The bee's durable outbox: its size limit on disk and when it forces writes to the disk.</summary>
public sealed record OutboxOptions(long MaxBytes, Swarm.Outbox.FsyncPolicy Fsync, TimeSpan FsyncInterval)
{
    internal static OutboxOptions Read(ConfigReader r) => new(
        r.Number(SwarmKeys.Outbox.MaxBytes, 256L << 20, 1L << 16, 1L << 40),
        r.Enum(SwarmKeys.Outbox.Fsync, Swarm.Outbox.FsyncPolicy.Interval),
        r.Duration(SwarmKeys.Outbox.FsyncInterval, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10)));
}

/// <summary>How queens judge pairs and targets (<c>Swarm:Verdict:*</c>) and when verdicts become alerts (<c>Swarm:Alerts:*</c>).</summary>
public sealed record VerdictOptions(Swarm.Verdicts.VerdictSettings Settings, Uri? Webhook)
{
    /// <summary>How many (target, bee) series of rounds the node keeps for the live page (0: none, and no ping/+ subscription for it); queens keep 10,000 by default, others none.</summary>
    public int HistorySeries { get; init; } = 10_000;

    /// <summary>Rounds kept per series: 1,080 is three hours at the default 10 s interval.</summary>
    public int HistoryPoints { get; init; } = 1080;

    internal static VerdictOptions Read(ConfigReader r, TimeSpan interval, bool queen)
    {
        var s = new Swarm.Verdicts.VerdictSettings
        {
            Window = r.Number(SwarmKeys.Verdict.Window, 5, 1, 100),
            BaselineRounds = r.Number(SwarmKeys.Verdict.BaselineRounds, 60, 5, 1000),
            SlowFactor = r.Real(SwarmKeys.Verdict.SlowFactor, 2.0, 1.0, 100),
            SlowMinMs = r.Real(SwarmKeys.Verdict.SlowMinMs, 10, 0, 60_000),
            LossyPercent = r.Real(SwarmKeys.Verdict.LossyPercent, 10, 0.1, 100),
            DownRounds = r.Number(SwarmKeys.Verdict.DownRounds, 3, 1, 100),
            StaleAfter = r.Duration(SwarmKeys.Verdict.StaleAfter, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)),
            EnterRounds = r.Number(SwarmKeys.Alerts.EnterRounds, 3, 0, 10_000),
            LeaveRounds = r.Number(SwarmKeys.Alerts.LeaveRounds, 5, 0, 10_000),
            Interval = interval,
        };
        r.Check(s.DownRounds <= s.Window, $"{SwarmKeys.Verdict.DownRounds} ({s.DownRounds}) is more than {SwarmKeys.Verdict.Window} ({s.Window}): down is judged within the window");
        r.Check(s.StaleAfter >= interval * 2, $"{SwarmKeys.Verdict.StaleAfter} ({s.StaleAfter.TotalSeconds:0.#} s) is shorter than two rounds of {SwarmKeys.Probe.Interval}: every pair would go stale between its rounds");
        Uri? webhook = null;
        if (r.String(SwarmKeys.Alerts.Webhook) is { } url)
        {
            var ok = Uri.TryCreate(url, UriKind.Absolute, out webhook) && webhook.Scheme is "http" or "https";
            r.Check(ok, $"{SwarmKeys.Alerts.Webhook} = '{url}': an http:// or https:// URL expected, e.g. https://alerts.example/swarm");
            if (!ok) webhook = null;
        }
        return new VerdictOptions(s, webhook)
        {
            // On queens by default: a node keeping history takes every result, so bees do not unless told.
            HistorySeries = r.Number(SwarmKeys.History.MaxSeries, queen ? 10_000 : 0, 0, 1_000_000),
            HistoryPoints = r.Number(SwarmKeys.History.Points, 1080, 10, 100_000),
        };
    }
}
