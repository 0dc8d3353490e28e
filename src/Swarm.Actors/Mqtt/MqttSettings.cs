namespace Swarm.Mqtt;

/// <summary>How a node reaches its brokers: several URLs tried in turn, TLS and credentials shared by all.</summary>
public sealed record MqttSettings(
    IReadOnlyList<BrokerEndpoint> Brokers,
    string ClientId,
    string? Username = null,
    string? Password = null,
    MqttTls? Tls = null)
{
    /// <summary>The last will, retained: published by the broker when this client vanishes without a goodbye.</summary>
    public (string Topic, byte[] Payload)? Will { get; init; }

    /// <summary>Published, retained, on a clean stop just before DISCONNECT (which cancels the will).</summary>
    public (string Topic, byte[] Payload)? Goodbye { get; init; }

    /// <summary>How long the broker keeps this client's session (subscriptions, queued QoS 1 messages) while it is away.</summary>
    public TimeSpan SessionExpiry { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How many QoS 1 messages the broker may have in flight to us unacknowledged: a consumer's backpressure.</summary>
    public ushort? ReceiveMaximum { get; init; }

    /// <summary>
    /// One connection to each broker at once, read and written together, instead of one at a time in failover order:
    /// for queens and indexers, so that a bee may publish to whichever broker it reaches.
    /// </summary>
    public bool EveryBroker { get; init; }

    /// <summary>
    /// How long a manually acknowledged message may stay unacknowledged while later ones are acknowledged (its handler
    /// lost it) before the connection is restarted and the broker delivers it again: acknowledgements go in order.
    /// </summary>
    public TimeSpan AckStuckAfter { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(250);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
}
