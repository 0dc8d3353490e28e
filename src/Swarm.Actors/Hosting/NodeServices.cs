using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Swarm.Health;
using Swarm.Indexing;
using Swarm.Metrics;
using Swarm.Mqtt;
using Swarm.Probing;
using Swarm.Targets;

namespace Swarm.Hosting;

// The parts of a node with a lifetime of their own, started and stopped by the host in the order they are
// registered (and stopped in reverse): nothing here runs while services are being registered.

/// <summary>Makes the data folder at start, before the journal and the outbox open files in it.</summary>
internal sealed class DataFolder(SwarmOptions options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.DataDir);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Opens the probe engine when the host starts (taking it is what opens it): a bee that may not send ICMP says so
/// then, naming the fixes, rather than at its first round. The container closes it at exit.
/// </summary>
internal sealed class ProbeEngineAtStart(IcmpEngine engine, ILogger<ProbeEngineAtStart> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("probe engine open ({Kind} ICMP sockets)", engine.SocketKind);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// The queen's <c>watch</c> and <c>watch/&lt;list&gt;</c> subscriptions, feeding the watch bridge. A subscription the
/// broker refuses now is said in the log; the link subscribes again at each connection.
/// </summary>
internal sealed class WatchFeed(MqttLink link, ActorRegistry registry, IHostApplicationLifetime lifetime, ILogger<WatchFeed> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var bridge = await registry.Started<WatchBridgeActor>(lifetime, cancellationToken);
        Task Forward(string topic, byte[] payload)
        {
            bridge.Tell(new WatchReceived(topic, payload));
            return Task.CompletedTask;
        }
        foreach (var filter in new[] { SwarmNames.Topics.Watch, SwarmNames.Topics.WatchNamed })
        {
            try
            {
                await link.SubscribeAsync(filter, Forward);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError("MQTT: subscribing to {Filter} failed ({Reason}); the link subscribes again when it reconnects", filter, e.Message);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// The indexer's own MQTT connection (its unacknowledged results must not hold back <c>watch</c>), subscribed to
/// <c>ping/+</c> before it connects so that nothing a resumed session delivers is acknowledged unseen; closed at stop.
/// </summary>
internal sealed class IndexerFeed(MqttSettings settings, ActorRegistry registry, SwarmMetrics metrics, NodeHealth health,
    IHostApplicationLifetime lifetime, ILoggerFactory logs) : IHostedService, IAsyncDisposable
{
    public const string HealthPart = "indexer-feed";
    private readonly MqttLink _link = new(settings, logs.CreateLogger<MqttLink>());

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Not ready until the broker holds the subscription: results published before it would reach no indexer.
        health.Problem(HealthPart, $"not yet subscribed to {SwarmNames.Topics.PingAll} on the broker");
        _link.Connected += () => health.Healthy(HealthPart); // raised once the subscriptions are restored
        var indexer = await registry.Started<IndexerActor>(lifetime, cancellationToken);
        await _link.SubscribeWithAckAsync(SwarmNames.Topics.PingAll, SwarmNames.IndexerShareGroup, (topic, payload, ack) =>
        {
            indexer.Tell(new ResultArrived(topic, payload, ack));
            return Task.CompletedTask;
        });
        await _link.StartAsync(cancellationToken);
        metrics.BeforeScrape(() => metrics.MqttConnected("indexer", _link.IsConnected));
    }

    public Task StopAsync(CancellationToken cancellationToken) => _link.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _link.DisposeAsync();
}

internal static class RegistryWaits
{
    /// <summary>
    /// The actor the actor system registers under <typeparamref name="TKey"/> once it is up. If it never comes up
    /// (Akka.Hosting then stops the application), this says so instead of waiting forever or failing as "canceled".
    /// </summary>
    public static async Task<IActorRef> Started<TKey>(this ActorRegistry registry, IHostApplicationLifetime lifetime, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        wait.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            return await registry.GetAsync<TKey>(wait.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"the actor system did not start its {typeof(TKey).Name} (see the lines above for why)");
        }
    }
}
