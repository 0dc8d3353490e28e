namespace Swarm.Hosting;

/// <summary>
/// Every configuration key the node and the Lighthouse read, in one place (DESIGN.md's configuration surface).
/// Environment variables write them with <c>__</c> for <c>:</c> (<c>Swarm__Mqtt__Brokers</c>).
/// </summary>
public static class SwarmKeys
{
    public const string Roles = "Swarm:Roles";
    public const string DataDir = "Swarm:DataDir";

    public static class Bee
    {
        public const string Id = "Swarm:Bee:Id";
        public const string Location = "Swarm:Bee:Location";
        public const string Geo = "Swarm:Bee:Geo";
        public const string Lists = "Swarm:Bee:Lists";
        public const string Connection = "Swarm:Bee:Connection";
    }

    public static class Mqtt
    {
        public const string Brokers = "Swarm:Mqtt:Brokers";
        public const string EmbeddedPort = "Swarm:Mqtt:EmbeddedPort";
        public const string EveryBroker = "Swarm:Mqtt:EveryBroker";
        public const string CaFile = "Swarm:Mqtt:Tls:CaFile";
        public const string CertFile = "Swarm:Mqtt:Tls:CertFile";
        public const string KeyFile = "Swarm:Mqtt:Tls:KeyFile";
        public const string Username = "Swarm:Mqtt:Username";
        public const string Password = "Swarm:Mqtt:Password";
    }

    public static class Persistence
    {
        public const string Provider = "Swarm:Persistence:Provider";
        public const string ConnectionString = "Swarm:Persistence:ConnectionString";
    }

    public static class Elasticsearch
    {
        public const string Urls = "Swarm:Elasticsearch:Urls";
        public const string DataStream = "Swarm:Elasticsearch:DataStream";
        public const string ApiKey = "Swarm:Elasticsearch:ApiKey";
        public const string Username = "Swarm:Elasticsearch:Username";
        public const string Password = "Swarm:Elasticsearch:Password";
        public const string CaFile = "Swarm:Elasticsearch:CaFile";
    }

    public static class Management
    {
        public const string Url = "Swarm:Management:Url";
        public const string Token = "Swarm:Management:Token";
        public const string MetricsToken = "Swarm:Management:MetricsToken";
        public const string MaxTargetSeries = "Swarm:Metrics:MaxTargetSeries";
    }

    public static class Cluster
    {
        public const string Hostname = "Swarm:Cluster:Hostname";
        public const string Port = "Swarm:Cluster:Port";
        public const string Seeds = "Swarm:Cluster:Seeds";
        public const string DownAfter = "Swarm:Cluster:DownAfter";
        public const string CaFile = "Swarm:Cluster:Tls:CaFile";
        public const string CertFile = "Swarm:Cluster:Tls:CertFile";
        public const string KeyFile = "Swarm:Cluster:Tls:KeyFile";

        /// <summary>The conventional fallbacks (Lighthouse's), read when the Swarm keys are unset.</summary>
        public const string HostnameFallback = "CLUSTER_IP";
        public const string PortFallback = "CLUSTER_PORT";
        public const string SeedsFallback = "CLUSTER_SEEDS";
    }

    public static class Probe
    {
        public const string Interval = "Swarm:Probe:Interval";
        public const string Count = "Swarm:Probe:Count";
        public const string Spacing = "Swarm:Probe:Spacing";
        public const string Timeout = "Swarm:Probe:Timeout";
        public const string RequestTimeout = "Swarm:Probe:RequestTimeout";
        public const string MaxPerSecond = "Swarm:Probe:MaxPerSecond";
        public const string MinTargetSpacing = "Swarm:Probe:MinTargetSpacing";
        public const string AllowNetworks = "Swarm:Probe:AllowNetworks";
        public const string DenyNetworks = "Swarm:Probe:DenyNetworks";
    }

    public static class Targets
    {
        public const string Default = "Swarm:Targets:Default";
        public const string MaxPerList = "Swarm:Targets:MaxPerList";
        public const string MaxPayloadBytes = "Swarm:Targets:MaxPayloadBytes";
        public const string MaxListBytes = "Swarm:Targets:MaxListBytes";
    }

    public static class Verdict
    {
        public const string Window = "Swarm:Verdict:Window";
        public const string BaselineRounds = "Swarm:Verdict:BaselineRounds";
        public const string SlowFactor = "Swarm:Verdict:SlowFactor";
        public const string SlowMinMs = "Swarm:Verdict:SlowMinMs";
        public const string LossyPercent = "Swarm:Verdict:LossyPercent";
        public const string DownRounds = "Swarm:Verdict:DownRounds";
        public const string StaleAfter = "Swarm:Verdict:StaleAfter";
    }

    public static class History
    {
        public const string MaxSeries = "Swarm:History:MaxSeries";
        public const string Points = "Swarm:History:Points";
    }

    public static class Alerts
    {
        public const string EnterRounds = "Swarm:Alerts:EnterRounds";
        public const string LeaveRounds = "Swarm:Alerts:LeaveRounds";
        public const string Webhook = "Swarm:Alerts:Webhook";
    }

    public static class Outbox
    {
        public const string MaxBytes = "Swarm:Outbox:MaxBytes";
        public const string Fsync = "Swarm:Outbox:Fsync";
        public const string FsyncInterval = "Swarm:Outbox:FsyncInterval";
    }
}
