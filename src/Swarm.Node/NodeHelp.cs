/// <summary>The text of <c>Swarm.Node --help</c>.</summary>
internal static class NodeHelp
{
    public const string Text = """
        Swarm.Node: a swarm node (bee, queen, indexer) or an edge bee of the Swarm network-quality monitor.

        With no configuration it is a whole swarm in one process: every role, an MQTT broker on
        127.0.0.1:1883, SQLite under ./data, and a one-node cluster. Results stream on ping/<target>:
            mosquitto_sub -h 127.0.0.1 -t 'ping/+' -v
            mosquitto_pub -h 127.0.0.1 -t watch -m "127.0.0.1 ::1 localhost"

        An edge bee (Swarm:Roles=edge) needs nothing but an outbound connection to a broker: no cluster, nothing
        inbound, so it runs behind NAT (home, office, mobile links). It follows its lists from targets/<list>,
        which the queens publish retained, and keeps its journal and outbox in SQLite under DataDir:
            Swarm.Node --Swarm:Roles=edge --Swarm:Mqtt:Brokers:0=mqtts://broker.example:8883 --Swarm:Bee:Id=home-1
        The native build (dotnet publish src/Swarm.Node -r linux-x64 -p:NativeEdge=true) runs edge bees only, with
        no .NET runtime and less memory: give it Swarm:Roles=edge (it refuses any other role with exit 2).

        Configuration: appsettings.json next to the binary, environment variables (Swarm__Mqtt__Brokers__0=...),
        or arguments (--Swarm:Bee:Id=paris-1). Keys, with their defaults:
          Swarm:Roles                   bee,queen,indexer (or edge, alone)
          Swarm:DataDir                 ./data
          Swarm:Bee:Id | :Location | :Lists      host name | none | default
          Swarm:Bee:Geo                 none; "lat,lon" in degrees for Kibana's map, e.g. 48.8566,2.3522
          Swarm:Bee:Connection          guessed; the bee's link as you name it: ethernet, wifi, cellular, dsl, fiber...
          Swarm:Mqtt:Brokers            empty = embedded broker; mqtt://host:1883, mqtts://host:8883 (several: a bee fails over)
          Swarm:Mqtt:EmbeddedPort       1883
          Swarm:Mqtt:EveryBroker        true: queens and indexers read every broker at once; false: bridged brokers
          Swarm:Mqtt:Tls:CaFile | :CertFile | :KeyFile, Swarm:Mqtt:Username | :Password
          Swarm:Persistence:Provider    sqlite | postgresql
          Swarm:Persistence:ConnectionString     SQLite file under DataDir
          Swarm:Elasticsearch:Urls | :DataStream | :ApiKey | :Username | :Password | :CaFile
          Swarm:Management:Url | :Token          http://127.0.0.1:9110 (a token is required off loopback)
          Swarm:Metrics:MaxTargetSeries          1000 (targets past it share target="_other" in /metrics)
          Swarm:Cluster:Hostname | :Port | :Seeds (or CLUSTER_IP, CLUSTER_PORT, CLUSTER_SEEDS)   127.0.0.1 | 0 | self
          Swarm:Probe:Interval | :Count | :Spacing | :Timeout    10s | 5 | 200ms | 1s
          Swarm:Probe:RequestTimeout | :MaxPerSecond | :MinTargetSpacing    5s | 5000 | 50ms
          Swarm:Probe:AllowNetworks:0.. | :DenyNetworks:0..    CIDR; private ranges TCP/HTTP may reach | never probed
          Swarm:Targets:Default | :MaxPerList | :MaxPayloadBytes
          Swarm:Outbox:MaxBytes | :Fsync | :FsyncInterval      256 MiB | interval (always, never) | 1s
          Swarm:Verdict:Window | :BaselineRounds | :SlowFactor | :SlowMinMs    5 | 60 | 2.0 | 10
          Swarm:Verdict:LossyPercent | :DownRounds | :StaleAfter              10 | 3 | 5m
          Swarm:Alerts:EnterRounds | :LeaveRounds | :Webhook                  3 | 5 | none (POSTs each alert as JSON)
          Swarm:History:MaxSeries | :Points      10000 | 1080 (the live page's charts; 0 = off)

          Swarm:Cluster:DownAfter       20s (Split Brain Resolver, keep-majority: same value on every node)
          Swarm:Cluster:Tls:CaFile | :CertFile | :KeyFile    mutual TLS between members (PEM; seeds then akka.ssl.tcp://)

        The live page: the management URL's / (verdicts, bees, target x bee matrix, charts).

        Exit codes: 0 stopped cleanly, 1 failed while running, 2 invalid configuration or no ICMP rights,
        3 downed or removed by the cluster (a supervisor should restart it).

        """;
}
