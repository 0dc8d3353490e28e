using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet.Formatter;

namespace Swarm.Mqtt;

/// <summary>
/// A node's link to its brokers. By default one connection that fails over along <see cref="MqttSettings.Brokers"/>
/// (a bee publishes to one broker at a time). With <see cref="MqttSettings.EveryBroker"/>, one connection per broker,
/// all at once: every subscription is made on each, a message is published on the first connected broker in the list,
/// and a retained one on every connected broker, so that a reader of any of them finds it.
/// </summary>
public sealed class MqttLink : IMqttPublisher, IHostedService, IAsyncDisposable
{
    private readonly BrokerConnection[] _connections;

    public MqttLink(MqttSettings settings, ILogger<MqttLink> logger)
    {
        _connections = settings.EveryBroker && settings.Brokers.Count > 1
            ? settings.Brokers.Select(b => new BrokerConnection(settings with { Brokers = [b] }, logger)).ToArray()
            : [new BrokerConnection(settings, logger)];
        foreach (var connection in _connections) connection.Connected += () => Connected?.Invoke();
    }

    /// <summary>How many brokers this link reads at once: 1, or each of them (<see cref="MqttSettings.EveryBroker"/>).</summary>
    public int Readers => _connections.Length;

    public bool IsConnected => _connections.Any(c => c.IsConnected);

    public long Connections => _connections.Sum(c => c.Connections);

    /// <summary>The broker published to (the first connected one), or null while disconnected.</summary>
    public BrokerEndpoint? ConnectedBroker => First?.ConnectedBroker;

    /// <summary>The MQTT version spoken with <see cref="ConnectedBroker"/>: 5, or 3.1.1 with a broker that refused 5.</summary>
    public MqttProtocolVersion? ConnectedVersion => First?.ConnectedVersion;

    /// <summary>Whether <see cref="ConnectedBroker"/> offers shared subscriptions (MQTT 5 CONNACK); the embedded broker does not.</summary>
    public bool SharedSubscriptionsAvailable => First?.SharedSubscriptionsAvailable ?? false;

    /// <summary>Raised (on an MQTT thread) after each successful connect to any broker, subscriptions restored.</summary>
    public event Action? Connected;

    private BrokerConnection? First => Array.Find(_connections, c => c.IsConnected);

    /// <summary>
    /// Registers a handler for a topic filter; it is subscribed now if connected, and after every reconnect. With a
    /// <paramref name="shareGroup"/>, as <c>$share/&lt;group&gt;/&lt;filter&gt;</c> when the broker offers it. With
    /// <paramref name="once"/>, a message that comes through several brokers (bridged ones) is handed over once: see
    /// <see cref="CopyFilter"/>. Handlers of a link reading several brokers are called from each broker's thread.
    /// </summary>
    public Task SubscribeAsync(string filter, Func<string, byte[], Task> handler, string? shareGroup = null, bool once = false)
    {
        var copies = once && _connections.Length > 1 ? new CopyFilter(_connections.Length) : null;
        return Task.WhenAll(_connections.Select((c, i) => c.SubscribeAsync(filter,
            copies is null ? handler : (topic, payload) => copies.FirstCopy(i, topic, payload) ? handler(topic, payload) : Task.CompletedTask, shareGroup)));
    }

    /// <summary>
    /// Registers a handler that acknowledges each message itself, when what it did with it is safe; until then the
    /// broker counts it in flight (see <see cref="MqttSettings.ReceiveMaximum"/>) and redelivers it to a new session.
    /// With a <paramref name="shareGroup"/>, subscribes as <c>$share/&lt;group&gt;/&lt;filter&gt;</c> when the broker offers it.
    /// Each acknowledgement goes to the broker the message came from.
    /// </summary>
    public Task SubscribeWithAckAsync(string filter, string? shareGroup, Func<string, byte[], Func<CancellationToken, Task>, Task> handler) =>
        Task.WhenAll(_connections.Select(c => c.SubscribeWithAckAsync(filter, shareGroup, handler)));

    public async Task PublishAsync(string topic, byte[] payload, bool retain = false, CancellationToken cancellationToken = default)
    {
        if (!retain || _connections.Length == 1)
        {
            await (First ?? _connections[0]).PublishAsync(topic, payload, retain, cancellationToken);
            return;
        }
        // Retained: on every broker a reader may be on. Those up take it now. A broker that is down gets a message again
        // when it is back (publishers republish on a change of Connections, and readers keep the newest), but not a
        // clear (an empty message): that publish fails, so that the publisher tries again, or an old verdict comes back.
        var live = _connections.Where(c => c.IsConnected).ToArray();
        if (live.Length == 0) throw new MqttNotConnectedException("not connected to any broker");
        await Task.WhenAll(live.Select(c => c.PublishAsync(topic, payload, retain, cancellationToken)));
        if (payload.Length == 0 && live.Length < _connections.Length)
            throw new MqttNotConnectedException($"cleared on {live.Length} of {_connections.Length} brokers; the others are down");
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.WhenAll(_connections.Select(c => c.StartAsync(cancellationToken)));

    public Task StopAsync(CancellationToken cancellationToken) => Task.WhenAll(_connections.Select(c => c.StopAsync(cancellationToken)));

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections) await connection.DisposeAsync();
    }
}

/// <summary>A publish was attempted while no broker was connected.</summary>
public sealed class MqttNotConnectedException(string message) : Exception(message);

/// <summary>The broker answered a subscription with a failure reason code (e.g. not authorized).</summary>
public sealed class MqttSubscribeRefusedException(string message) : Exception(message);

/// <summary>The broker answered a publish with a failure reason code (e.g. not authorized).</summary>
public sealed class MqttPublishRefusedException(string message) : Exception(message);
