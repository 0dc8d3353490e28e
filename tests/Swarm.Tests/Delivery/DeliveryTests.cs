using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Delivery;

/// <summary>Zero loss under faults: the real Node binary, real mosquitto processes, a subscriber that misses nothing.</summary>
public sealed class DeliveryTests : IAsyncLifetime
{
    private readonly TempDir _data = new();
    private readonly List<IAsyncDisposable> _resources = [];

    private NodeProcess Bee(string id, params string[] brokers)
    {
        var env = new Dictionary<string, string>
        {
            ["Swarm__Bee__Id"] = id,
            ["Swarm__DataDir"] = Path.Combine(_data.Path, id),
            ["Swarm__Management__Url"] = $"http://127.0.0.1:{Ports.Free()}",
            ["Swarm__Probe__Interval"] = "200ms",
            ["Swarm__Probe__Count"] = "1",
            ["Swarm__Probe__Timeout"] = "100ms",
            ["Swarm__Targets__Default"] = string.Join(' ', Enumerable.Range(1, 10).Select(i => $"127.0.9.{i}")),
        };
        for (var i = 0; i < brokers.Length; i++) env[$"Swarm__Mqtt__Brokers__{i}"] = brokers[i];
        var node = NodeProcess.Start(env);
        _resources.Add(node);
        return node;
    }

    private async Task<Mosquitto> Broker()
    {
        var broker = await Mosquitto.StartAsync();
        _resources.Add(broker);
        return broker;
    }

    private async Task<MqttCollector> Subscriber(Mosquitto broker)
    {
        var collector = await MqttCollector.ConnectAsync(broker.Port, persistent: true, "ping/+");
        _resources.Add(collector);
        return collector;
    }

    /// <summary>Every number from 1 to <paramref name="upTo"/> arrived, and the first arrivals came in order.</summary>
    private static void AssertComplete(IReadOnlyList<long> arrivals, long upTo, int maxDuplicates)
    {
        var distinct = arrivals.Distinct().ToList();
        var missing = Enumerable.Range(1, (int)upTo).Select(i => (long)i).Except(distinct).ToList();
        Assert.True(missing.Count == 0, $"missing {missing.Count}: {string.Join(", ", missing.Take(20))}");
        Assert.Equal(distinct.Order(), distinct); // first arrivals in sequence order
        Assert.True(arrivals.Count - distinct.Count <= maxDuplicates, $"{arrivals.Count - distinct.Count} duplicates");
    }

    [Fact]
    public async Task Broker_stopped_for_30_s_then_back_every_sequence_number_arrives_in_order()
    {
        var broker = await Broker();
        var subscriber = await Subscriber(broker);
        Bee("outage", broker.Url);
        await Eventually.True(() => subscriber.Sequences("outage").Count >= 20, TimeSpan.FromSeconds(30), "results flowing");

        await broker.ShutdownAsync();
        await Task.Delay(TimeSpan.FromSeconds(30)); // the outage itself, not a wait for a condition
        await broker.StartProcessAsync();

        // Everything produced during the outage (about 30 s × 50/s) comes out of the outbox, then new results follow.
        await Eventually.True(() => subscriber.Sequences("outage").DefaultIfEmpty().Max() >= 2000, TimeSpan.FromSeconds(60), "the backlog delivered");
        var arrivals = subscriber.Sequences("outage");
        AssertComplete(arrivals, arrivals.Max(), maxDuplicates: 64);
    }

    [Fact]
    public async Task A_bee_killed_mid_publish_and_restarted_leaves_no_gap()
    {
        var broker = await Broker();
        var subscriber = await Subscriber(broker);
        var bee = Bee("phoenix", broker.Url);
        await Eventually.True(() => subscriber.Sequences("phoenix").Count >= 100, TimeSpan.FromSeconds(30), "results flowing");

        await bee.KillAsync();
        var beforeKill = subscriber.Sequences("phoenix").Max();
        Bee("phoenix", broker.Url);

        await Eventually.True(() => subscriber.Sequences("phoenix").Max() >= beforeKill + 100, TimeSpan.FromSeconds(60), "results after the restart");
        var arrivals = subscriber.Sequences("phoenix");
        AssertComplete(arrivals, arrivals.Max(), maxDuplicates: 64); // at most the publish window in flight at the kill
    }

    [Fact]
    public async Task When_the_broker_in_use_dies_the_bee_goes_on_with_the_other_and_nothing_is_lost()
    {
        var first = await Broker();
        var second = await Broker();
        var onFirst = await Subscriber(first);
        var onSecond = await Subscriber(second);
        Bee("failover", first.Url, second.Url);
        await Eventually.True(() => onFirst.Sequences("failover").Count >= 50, TimeSpan.FromSeconds(30), "results on the first broker");
        Assert.Empty(onSecond.Sequences("failover"));

        await first.StopAsync(); // SIGKILL
        var lastOnFirst = onFirst.Sequences("failover").Max();

        await Eventually.True(() => onSecond.Sequences("failover").Count >= 50, TimeSpan.FromSeconds(15), "results on the second broker");
        var both = onFirst.Sequences("failover").Concat(onSecond.Sequences("failover")).ToList();
        var upTo = onSecond.Sequences("failover").Max();
        var missing = Enumerable.Range(1, (int)upTo).Select(i => (long)i).Except(both).ToList();
        // The bee keeps a result until a broker acknowledges it, and resends the rest to the second broker. A broker
        // killed outright can still lose what it had acknowledged but not yet handed to its subscribers (seen under
        // load): at most the bee's publish window, right after the last result the first broker delivered. Nothing
        // else may be missing.
        Assert.True(missing.All(m => m > lastOnFirst && m <= lastOnFirst + 64) && missing.Count <= 64,
            $"missing {missing.Count} (the first broker delivered up to {lastOnFirst}): {string.Join(", ", missing.Take(20))}");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var resource in Enumerable.Reverse(_resources)) await resource.DisposeAsync();
        _data.Dispose();
    }
}
