using Swarm.Hosting;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Indexing;

/// <summary>A node with an indexer is ready only once the broker holds the indexer's subscription to ping/+.</summary>
public class IndexerReadinessTests
{
    [Fact]
    public async Task Until_the_broker_holds_its_subscription_the_indexer_keeps_the_node_unready()
    {
        await using var broker = new Mosquitto(); // not started yet: its port refuses
        await using var es = new FakeElasticsearch();
        await using var node = await SwarmHost.StartAsync(
            ("Swarm:Roles", "indexer"),
            ("Swarm:Bee:Id", "indexer-r"),
            ("Swarm:Mqtt:Brokers:0", broker.Url),
            ("Swarm:Elasticsearch:Urls:0", es.Url.ToString()));

        Assert.Contains(node.Health.Problems, p => p.StartsWith($"{IndexerFeed.HealthPart}: not yet subscribed to ping/+", StringComparison.Ordinal));

        await broker.StartProcessAsync();
        await Eventually.True(() => node.Health.Problems.Count == 0, TimeSpan.FromSeconds(60), () => string.Join("; ", node.Health.Problems));
    }
}
