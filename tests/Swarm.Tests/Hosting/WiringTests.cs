using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Swarm.Hosting;
using Swarm.Probing;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Hosting;

/// <summary>Registering a node's services does wiring only: no folder made, no socket opened, nothing started.</summary>
public class WiringTests
{
    [Fact]
    public void Registering_a_node_makes_no_folder_opens_no_engine_and_starts_nothing()
    {
        using var temp = new TempDir();
        var dataDir = Path.Combine(temp.Path, "not-yet");
        var options = SwarmOptions.Load(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Swarm:DataDir"] = dataDir,
            ["Swarm:Mqtt:Brokers"] = $"mqtt://127.0.0.1:{Ports.Free()}",
            ["Swarm:Elasticsearch:Urls"] = $"http://127.0.0.1:{Ports.Free()}",
        }).Build());
        var services = new ServiceCollection();

        services.AddSwarmNode(options);

        Assert.False(Directory.Exists(dataDir), "the data folder was made while registering");
        // The engine, the prober and the Elasticsearch client are registered as factories: nothing exists until the host starts.
        Assert.All(services.Where(d => d.ServiceType == typeof(IcmpEngine) || d.ServiceType == typeof(IProber)
                                       || d.ServiceType == typeof(Swarm.Indexing.ElasticsearchClient)),
            d => Assert.Null(d.ImplementationInstance));
        Assert.Contains(services, d => d.ServiceType == typeof(IcmpEngine));
        // The feeds of the queen and the indexer start with the host, after the actor system that they feed.
        var hosted = services.Where(d => d.ServiceType == typeof(IHostedService)).ToList();
        Assert.True(hosted.Count >= 5, $"{hosted.Count} hosted services");
        Assert.Contains(services, d => d.ServiceType == typeof(NodeVerdict));
        // Every broker feed is its own hosted service: the bee directory's rip/#, the verdict board's verdict/#, the round
        // history's ping/+, and the queen's watch and shared ping/+ (AddHostedService with a factory keeps one per type
        // and dropped the second without a word).
        Assert.Equal(5, hosted.Count(d => d.ImplementationFactory?.Method.ReturnType == typeof(MqttFeed)));
    }

    [Fact]
    public void An_edge_bee_registers_its_bee_and_link_but_nothing_of_the_cluster_or_the_indexer()
    {
        var options = SwarmOptions.Load(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Swarm:Roles"] = "edge",
            ["Swarm:Mqtt:Brokers"] = $"mqtt://127.0.0.1:{Ports.Free()}",
            ["Swarm:Elasticsearch:Urls"] = $"http://127.0.0.1:{Ports.Free()}",
        }).Build());
        var services = new ServiceCollection();

        services.AddSwarmNode(options);

        Assert.Contains(services, d => d.ServiceType == typeof(IcmpEngine));
        Assert.Contains(services, d => d.ImplementationType?.Name == "LinkAtStart");
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(Swarm.Edge.BeeDirectory)); // edge bees know only themselves
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(Swarm.Indexing.ElasticsearchClient));
    }
}
