using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Swarm;
using Swarm.Hosting;
using Swarm.Management;

if (args.Any(a => a is "--help" or "-h" or "-?"))
{
    Console.Out.Write("""
        Swarm.Lighthouse: a seed node (role 'lighthouse') of the Swarm cluster; it only keeps membership.

        Configuration (environment or appsettings.json):
          CLUSTER_IP     or Swarm:Cluster:Hostname   address other nodes reach this one on   127.0.0.1
          CLUSTER_PORT   or Swarm:Cluster:Port       Akka remoting port                       4053
          CLUSTER_SEEDS  or Swarm:Cluster:Seeds      comma list, same order on every node     this node
          Swarm:Cluster:DownAfter                    stable time before unreachable nodes are downed (keep-majority)   20s
          Swarm:Cluster:Tls:CaFile | :CertFile | :KeyFile   mutual TLS with every member (PEM); seeds then akka.ssl.tcp://   none
          Swarm:Management:Url | :Token              management endpoint (/health/*, /metrics, swarm verbs)   http://127.0.0.1:9100
        Exit codes: 0 stopped, 1 failed, 2 invalid configuration, 3 downed by the cluster (restart it).
        A seed reads akka.tcp://swarm@lighthouse-0.lighthouse:4053; this node's own address is added when missing.

        """);
    return 0;
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Logging.AddSwarmConsole();
ClusterOptions cluster;
try
{
    cluster = ClusterOptions.Load(builder.Configuration, ClusterOptions.LighthousePort).WithSelfAsSeed();
    builder.Services.AddSwarmManagement(ManagementOptions.Load(builder.Configuration, ManagementOptions.LighthouseUrl), builder.WebHost);
}
catch (SwarmConfigurationException e)
{
    Console.Error.WriteLine($"lighthouse cannot start: {e.Message}");
    return 2;
}

builder.Services.AddSwarmClusterExit();
builder.Services.AddAkka(SwarmNames.ActorSystem, (akka, _) => akka
    .WithSwarmLogging()
    .WithSwarmSerialization()
    .WithSwarmCluster(cluster, [SwarmNames.Roles.Lighthouse])
    .WithSwarmMetrics());

var host = builder.Build();
host.MapSwarmManagement(isBee: false);
var verdict = host.Services.GetRequiredService<NodeVerdict>(); // taken now: the container is gone once the host has run
Console.Out.WriteLine($"lighthouse {cluster.SelfAddress} starting; seeds {string.Join(", ", cluster.Seeds)}");
try
{
    await host.RunAsync();
}
catch (Exception e)
{
    Console.Error.WriteLine($"lighthouse stopped: {e.GetBaseException().Message}");
    return 1;
}
return verdict.ExitCode ?? Environment.ExitCode;
