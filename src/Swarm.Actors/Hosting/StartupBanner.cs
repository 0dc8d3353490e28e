using Akka.Actor;
using Microsoft.Extensions.Hosting;

namespace Swarm.Hosting;

/// <summary>Once the node is up, says where the broker listens and how to watch and steer the swarm.</summary>
public sealed class StartupBanner(SwarmOptions options, ActorSystem system, IHostApplicationLifetime lifetime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => Console.Out.Write(Text()));
        return Task.CompletedTask;
    }

    public string Text()
    {
        var broker = options.Mqtt.EffectiveBrokers[0];
        var (host, port) = (broker.Host, broker.Port);
        var where = options.Mqtt.UsesEmbeddedBroker ? "embedded, in this process" : string.Join(", ", options.Mqtt.Brokers);
        if (options.IsEdge)
        {
            return $"""

                Swarm edge bee '{options.Bee.Id}' is up: it dials out to the broker only (no cluster, nothing inbound)
                  MQTT broker     {string.Join(", ", options.Mqtt.Brokers)}
                  follows         {string.Join(", ", options.Bee.Lists.Select(SwarmNames.TargetsTopic))} (published by the queens, retained)
                  results         ping/<target>; its status on rip/{options.Bee.Id}
                  data folder     {options.DataDir} (journal and outbox)
                  management      {options.Management.Url.TrimEnd('/')}  (swarm --host {options.Management.Url.TrimEnd('/')} bees; /metrics; /health/ready)

                """;
        }
        var self = Akka.Cluster.Cluster.Get(system).SelfAddress;
        var seeds = options.Cluster.Seeds.Count == 0 ? "self-seeded" : "seeds " + string.Join(", ", options.Cluster.Seeds);
        return $"""

            Swarm node '{options.Bee.Id}' is up: roles {string.Join(", ", options.Roles.Order())}
              MQTT broker     {broker} ({where})
              watch results   mosquitto_sub -h {host} -p {port} -t 'ping/+' -v
              change targets  mosquitto_pub -h {host} -p {port} -t watch -m "127.0.0.1 ::1 localhost"
              rejections      mosquitto_sub -h {host} -p {port} -t watch/errors
              data folder     {options.DataDir} ({options.Persistence.Provider})
              cluster         {self} ({seeds})
              management      {options.Management.Url.TrimEnd('/')}  (swarm --host {options.Management.Url.TrimEnd('/')} cluster show; /metrics; /health/ready)

            """;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
