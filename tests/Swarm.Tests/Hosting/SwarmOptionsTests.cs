using Microsoft.Extensions.Configuration;
using Swarm.Hosting;

namespace Swarm.Tests.Hosting;

public class SwarmOptionsTests
{
    private static SwarmOptions Load(params (string Key, string Value)[] values) =>
        SwarmOptions.Load(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());

    [Fact]
    public void No_configuration_is_a_whole_swarm_on_this_machine()
    {
        var o = Load();

        Assert.Equal(["bee", "indexer", "queen"], o.Roles.Order());
        Assert.True(o.Mqtt.UsesEmbeddedBroker);
        Assert.Equal("mqtt://127.0.0.1:1883", o.Mqtt.EffectiveBrokers.Single().ToString());
        Assert.Equal("sqlite", o.Persistence.Provider);
        Assert.Contains(Path.Combine(o.DataDir, "swarm.db"), o.Persistence.ConnectionString);
        Assert.Equal(["default"], o.Bee.Lists);
        Assert.Empty(o.Cluster.Seeds);
        Assert.Equal(TimeSpan.FromSeconds(10), o.Probe.Interval);
        Assert.Contains("127.0.0.1", o.Targets.Default);
    }

    [Fact]
    public void Lists_come_as_indexed_keys_or_as_one_comma_separated_value()
    {
        var o = Load(("Swarm:Mqtt:Brokers:0", "mqtt://a:1883"), ("Swarm:Mqtt:Brokers:1", "mqtts://b"),
            ("Swarm:Roles", "bee, queen"), ("CLUSTER_SEEDS", "akka.tcp://swarm@l-0:4053,akka.tcp://swarm@l-1:4053"));

        Assert.Equal(["mqtt://a:1883", "mqtts://b:8883"], o.Mqtt.Brokers.Select(b => b.ToString()));
        Assert.Equal(["bee", "queen"], o.Roles.Order());
        Assert.Equal(2, o.Cluster.Seeds.Count);
    }

    [Fact]
    public void Swarm_keys_win_over_conventional_cluster_variables()
    {
        var o = Load(("CLUSTER_PORT", "4053"), ("Swarm:Cluster:Port", "5000"), ("CLUSTER_IP", "10.0.0.7"));

        Assert.Equal(5000, o.Cluster.Port);
        Assert.Equal("10.0.0.7", o.Cluster.Hostname);
    }

    [Fact]
    public void Every_bad_key_is_named_with_the_value_it_got()
    {
        var e = Assert.Throws<SwarmConfigurationException>(() => Load(
            ("Swarm:Roles", "bee,drone"),
            ("Swarm:Mqtt:Brokers:0", "http://x"),
            ("Swarm:Probe:Count", "lots"),
            ("Swarm:Probe:Interval", "soon"),
            ("Swarm:Persistence:Provider", "postgresql"),
            ("Swarm:Cluster:Seeds", "akka.tcp://other@h:1"),
            ("Swarm:Mqtt:Tls:CaFile", "/no/such/ca.pem")));

        Assert.Contains("Swarm:Roles: unknown role 'drone'; roles are bee, queen, indexer, edge", e.Errors);
        Assert.Contains("Swarm:Mqtt:Brokers: 'http://x' is not a broker URL; write mqtt://host:1883 or mqtts://host:8883 (credentials go in Swarm:Mqtt:Username and :Password)", e.Errors);
        Assert.Contains("Swarm:Probe:Count = 'lots': must be a whole number from 1 to 1000", e.Errors);
        Assert.Contains(e.Errors, x => x.StartsWith("Swarm:Probe:Interval = 'soon': must be a duration"));
        Assert.Contains(e.Errors, x => x.StartsWith("Swarm:Persistence:ConnectionString is required with provider 'postgresql'"));
        Assert.Contains(e.Errors, x => x.StartsWith("Swarm:Cluster:Seeds: 'akka.tcp://other@h:1' is not a seed address"));
        Assert.Contains("Swarm:Mqtt:Tls:CaFile = '/no/such/ca.pem': no such file", e.Errors);
        Assert.Equal(7, e.Errors.Count);
    }

    [Fact]
    public void An_edge_bee_runs_alone_dials_a_broker_and_reads_no_cluster_section()
    {
        var edge = Load(("Swarm:Roles", "edge"), ("Swarm:Mqtt:Brokers:0", "mqtts://broker.example"),
            ("CLUSTER_SEEDS", "akka.ssl.tcp://swarm@l-0:4053"), ("Swarm:Cluster:Tls:CaFile", "/no/such/ca.pem"), ("Swarm:Bee:Connection", "Fiber"));
        Assert.True(edge.IsEdge && edge.IsBee);
        Assert.Empty(edge.Cluster.Seeds); // the cluster section is not read: its files need not exist
        Assert.Equal("fiber", edge.Bee.Connection);

        var e = Assert.Throws<SwarmConfigurationException>(() => Load(("Swarm:Roles", "edge,queen"), ("Swarm:Persistence:Provider", "postgresql"),
            ("Swarm:Persistence:ConnectionString", "Host=db"), ("Swarm:Bee:Connection", "two words")));
        Assert.Contains("Swarm:Roles: 'edge' runs alone (an edge bee is not a cluster member); drop queen", e.Errors);
        Assert.Contains(e.Errors, x => x.StartsWith("Swarm:Mqtt:Brokers is empty: an edge bee dials out to a broker"));
        Assert.Contains(e.Errors, x => x.StartsWith("Swarm:Persistence:Provider = 'postgresql': an edge bee keeps its journal in local SQLite"));
        Assert.Contains(e.Errors, x => x.StartsWith("Swarm:Bee:Connection = 'two words': one word"));
    }

    [Fact]
    public void A_round_longer_than_the_interval_is_refused()
    {
        var e = Assert.Throws<SwarmConfigurationException>(() =>
            Load(("Swarm:Probe:Interval", "1s"), ("Swarm:Probe:Count", "10"), ("Swarm:Probe:Spacing", "200ms")));

        Assert.StartsWith("Swarm:Probe: a round takes up to 2800 ms", e.Errors.Single());
    }

    [Theory]
    [InlineData("http://0.0.0.0:9110", false)]
    [InlineData("http://10.0.0.5:9110", false)]
    [InlineData("http://127.0.0.2:9110", true)]
    [InlineData("http://[::1]:9110", true)]
    [InlineData("http://localhost:9110", true)]
    public void A_management_endpoint_other_machines_can_reach_needs_a_token(string url, bool loopback)
    {
        if (loopback)
        {
            Assert.Null(Load(("Swarm:Management:Url", url)).Management.Token);
            return;
        }
        var e = Assert.Throws<SwarmConfigurationException>(() => Load(("Swarm:Management:Url", url)));
        Assert.Equal($"Swarm:Management:Url = '{url}' is reachable from other machines: set Swarm:Management:Token (a bearer token the CLI sends with --token)", e.Errors.Single());
        Assert.Equal("t", Load(("Swarm:Management:Url", url), ("Swarm:Management:Token", "t")).Management.Token);
    }

    [Theory]
    [InlineData(" 48.8566 , 2.3522 ", "48.8566,2.3522")]
    [InlineData("-33.87,151.21", "-33.87,151.21")]
    [InlineData("91,0", null)]
    [InlineData("48.8566", null)]
    [InlineData("paris", null)]
    public void A_bee_geo_point_is_latitude_then_longitude_in_degrees(string text, string? expected)
    {
        if (expected is not null)
        {
            Assert.Equal(expected, Load(("Swarm:Bee:Geo", text)).Bee.Geo);
            return;
        }
        var e = Assert.Throws<SwarmConfigurationException>(() => Load(("Swarm:Bee:Geo", text)));
        Assert.StartsWith($"Swarm:Bee:Geo = '{text.Trim()}': must be \"latitude,longitude\" in degrees", e.Errors.Single());
    }

    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("10s", 10_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("00:00:03", 3_000)]
    public void Durations_read_with_units(string text, int ms)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(ms), Load(("Swarm:Probe:Interval", text), ("Swarm:Probe:Count", "1"), ("Swarm:Probe:Timeout", "100ms")).Probe.Interval);
    }
}

public class SwarmOptionsFromFilesTests
{
    [Fact]
    public void Environment_brokers_win_over_the_empty_array_in_appsettings()
    {
        using var dir = new Swarm.Tests.Infrastructure.TempDir();
        File.WriteAllText(dir.File("appsettings.json"), """{ "Swarm": { "Mqtt": { "Brokers": [] } } }""");
        var config = new ConfigurationBuilder()
            .AddJsonFile(dir.File("appsettings.json"))
            .AddInMemoryCollection([new("Swarm:Mqtt:Brokers:0", "mqtt://10.0.0.5:1883")])
            .Build();

        var o = SwarmOptions.Load(config);

        Assert.False(o.Mqtt.UsesEmbeddedBroker);
        Assert.Equal("mqtt://10.0.0.5:1883", o.Mqtt.Brokers.Single().ToString());
    }
}

public class ClusterOptionsTests
{
    [Fact]
    public void A_lighthouse_adds_itself_to_the_seeds_once_keeping_their_order()
    {
        var seeds = new[] { "akka.tcp://swarm@lighthouse-0.lighthouse:4053", "akka.tcp://swarm@lighthouse-1.lighthouse:4053" };
        var first = new Swarm.Hosting.ClusterOptions("lighthouse-1.lighthouse", 4053, seeds);
        var lone = new Swarm.Hosting.ClusterOptions("10.0.0.9", 4053, []);

        Assert.Equal(seeds, first.WithSelfAsSeed().Seeds);
        Assert.Equal(["akka.tcp://swarm@10.0.0.9:4053"], lone.WithSelfAsSeed().Seeds);
    }
}

public class ShippedSettingsTests
{
    [Fact]
    public void The_shipped_appsettings_accept_a_short_interval_set_alone()
    {
        var shipped = Path.Combine(Path.GetDirectoryName(Swarm.Tests.Infrastructure.NodeProcess.BinaryPath("Swarm.Node"))!, "appsettings.json");
        var config = new ConfigurationBuilder()
            .AddJsonFile(shipped)
            .AddInMemoryCollection([new("Swarm:Probe:Interval", "1s"), new("Swarm:Probe:Count", "2"), new("Swarm:Probe:Spacing", "50ms"), new("Swarm:Probe:Timeout", "500ms")])
            .Build();

        var o = SwarmOptions.Load(config);

        Assert.Equal(TimeSpan.FromSeconds(1), o.Probe.RequestTimeout);
    }
}

public class TlsFileTests
{
    [Fact]
    public void Bad_tls_files_stop_the_node_naming_the_file_and_what_is_wrong()
    {
        using var dir = new Swarm.Tests.Infrastructure.TempDir();
        File.WriteAllText(dir.File("ca.crt"), "not a certificate");
        File.WriteAllText(dir.File("bee.crt"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        File.WriteAllText(dir.File("bee.key"), "nope");
        var config = new ConfigurationBuilder().AddInMemoryCollection([
            new("Swarm:Mqtt:Tls:CaFile", dir.File("ca.crt")),
            new("Swarm:Mqtt:Tls:CertFile", dir.File("bee.crt")),
            new("Swarm:Mqtt:Tls:KeyFile", dir.File("bee.key")),
        ]).Build();

        var e = Assert.Throws<SwarmConfigurationException>(() => SwarmOptions.Load(config));

        Assert.Contains(e.Errors, x => x.StartsWith($"Swarm:Mqtt:Tls:CaFile = '{dir.File("ca.crt")}': holds no PEM certificate"));
        Assert.Contains(e.Errors, x => x.StartsWith($"Swarm:Mqtt:Tls:CertFile/KeyFile = '{dir.File("bee.crt")}' / '{dir.File("bee.key")}': not a PEM certificate and matching private key"));
    }

    [Fact]
    public void Cluster_tls_is_all_three_files_from_one_ca_and_seeds_must_speak_it()
    {
        using var dir = new Swarm.Tests.Infrastructure.TempDir();
        var swarm = new Swarm.Tests.Infrastructure.TestPki(dir.Path, "swarm").Create();
        var other = new Swarm.Tests.Infrastructure.TestPki(dir.Path, "other").Create();
        var (cert, key) = other.Issue("node-1");
        SwarmConfigurationException Fails(params (string, string)[] values) =>
            Assert.Throws<SwarmConfigurationException>(() => ClusterOptions.Load(new ConfigurationBuilder()
                .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Item1, v.Item2))).Build(), 0));

        Assert.Contains("Swarm:Cluster:Tls: set all of CaFile, CertFile and KeyFile (PEM), or none",
            Fails(("Swarm:Cluster:Tls:CaFile", swarm.CaFile)).Errors);
        Assert.Contains($"Swarm:Cluster:Tls:CertFile = '{cert}': not issued by the CA in Swarm:Cluster:Tls:CaFile, so no member would accept it",
            Fails(("Swarm:Cluster:Tls:CaFile", swarm.CaFile), ("Swarm:Cluster:Tls:CertFile", cert), ("Swarm:Cluster:Tls:KeyFile", key)).Errors);
        Assert.Contains("Swarm:Cluster:Seeds: 'akka.tcp://swarm@lighthouse-0:4053' is plain TCP but this node speaks TLS (Swarm:Cluster:Tls:*); write akka.ssl.tcp://",
            Fails(("Swarm:Cluster:Tls:CaFile", other.CaFile), ("Swarm:Cluster:Tls:CertFile", cert), ("Swarm:Cluster:Tls:KeyFile", key),
                ("Swarm:Cluster:Seeds", "akka.tcp://swarm@lighthouse-0:4053")).Errors);
        Assert.Contains("Swarm:Cluster:Seeds: 'akka.ssl.tcp://swarm@lighthouse-0:4053' speaks TLS but Swarm:Cluster:Tls:* is not set; set it, or write akka.tcp://",
            Fails(("Swarm:Cluster:Seeds", "akka.ssl.tcp://swarm@lighthouse-0:4053")).Errors);

        var good = ClusterOptions.Load(new ConfigurationBuilder().AddInMemoryCollection([
            new("Swarm:Cluster:Tls:CaFile", other.CaFile), new("Swarm:Cluster:Tls:CertFile", cert), new("Swarm:Cluster:Tls:KeyFile", key),
            new("Swarm:Cluster:Hostname", "lighthouse-0"), new("Swarm:Cluster:Port", "4053")]).Build(), 0);
        Assert.Equal("akka.ssl.tcp://swarm@lighthouse-0:4053", good.SelfAddress);
    }
}
