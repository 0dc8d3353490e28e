using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
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
/// Subscriptions of the node's MQTT link that feed one part of the node: the queen's <c>watch</c> and
/// <c>watch/&lt;list&gt;</c> (the watch bridge), an edge bee's <c>targets/&lt;list&gt;</c> (its list feed), every node's
/// <c>rip/#</c> (the bee directory). Registered before the actor system, so that the broker holds the subscriptions
/// before the node publishes anything (a <c>watch</c> sent on seeing the first results is never lost); a message that
/// comes before its actor is up waits for it. With a health part, the node is not ready until the broker has
/// acknowledged the subscriptions. A subscription the broker refuses is said in the log; the link subscribes again at
/// each connection.
/// </summary>
internal sealed class MqttFeed(IReadOnlyList<string> filters, Func<string, byte[], Task> handler, MqttLink link, ILogger<MqttFeed> logger,
    NodeHealth? health = null, string? healthPart = null, string? shareGroup = null, bool once = false) : IHostedService
{
    /// <summary>
    /// A feed into the actor registered under <typeparamref name="TKey"/>, each message wrapped by <paramref name="wrap"/>
    /// (null: not for the actor). With a <paramref name="shareGroup"/>, nodes of the group split the messages.
    /// </summary>
    public static MqttFeed ToActor<TKey>(IServiceProvider services, IReadOnlyList<string> filters, Func<string, byte[], object?> wrap,
        string? healthPart = null, string? shareGroup = null, bool once = false)
    {
        var registry = services.GetRequiredService<ActorRegistry>();
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        Task<IActorRef>? actor = null;
        return new MqttFeed(filters, async (topic, payload) =>
        {
            // MQTTnet delivers one message at a time; a wait that failed (the system was slow to start) is tried again.
            if (wrap(topic, payload) is not { } message) return;
            if (actor is null || actor.IsFaulted) actor = registry.Started<TKey>(lifetime, CancellationToken.None);
            (await actor).Tell(message);
        }, services.GetRequiredService<MqttLink>(), services.GetRequiredService<ILogger<MqttFeed>>(),
            healthPart is null ? null : services.GetRequiredService<NodeHealth>(), healthPart, shareGroup, once);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (health is not null && healthPart is not null)
        {
            health.Problem(healthPart, $"not yet subscribed to {string.Join(", ", filters)} on the broker");
            link.Connected += () => health.Healthy(healthPart); // raised once the subscriptions are restored
        }
        foreach (var filter in filters)
        {
            try
            {
                await link.SubscribeAsync(filter, handler, shareGroup, once);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError("MQTT: subscribing to {Filter} failed ({Reason}); the link subscribes again when it reconnects", filter, e.Message);
            }
        }
        // Connected already: each subscription above was acknowledged before SubscribeAsync returned.
        if (health is not null && healthPart is not null && link.IsConnected) health.Healthy(healthPart);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal static class MqttFeeds
{
    /// <summary>
    /// Registers a feed. Not with AddHostedService: given a factory, it keeps one service per implementation type, so
    /// a second <see cref="MqttFeed"/> would be dropped without a word (the queen's watch feed was, behind the rip feed).
    /// </summary>
    public static IServiceCollection AddMqttFeed(this IServiceCollection services, Func<IServiceProvider, MqttFeed> feed) =>
        services.AddSingleton<IHostedService>(feed);
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
        // Results, and the verdicts and alerts said about them: all become documents.
        foreach (var filter in new[] { SwarmNames.Topics.PingAll, SwarmNames.Topics.VerdictAll, SwarmNames.Topics.AlertAll })
        {
            await _link.SubscribeWithAckAsync(filter, SwarmNames.IndexerShareGroup, (topic, payload, ack) =>
            {
                indexer.Tell(new ResultArrived(topic, payload, ack));
                return Task.CompletedTask;
            });
        }
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
