namespace Swarm.Mqtt;

/// <summary>How a node reaches its brokers: several URLs tried in turn, TLS and credentials shared by all.</summary>
public sealed record MqttSettings(
    IReadOnlyList<BrokerEndpoint> Brokers,
    string ClientId,
    string? Username = null,
    string? Password = null,
    MqttTls? Tls = null)
{
    /// <summary>
    /// Every link's socket receive and send buffers (<see cref="LinkSocket"/> sets them). MQTTnet's own sockets get its
    /// BufferSize (8 KiB unless told), and Linux does not autotune a buffer that was set, so the size must be right. At 8 KiB, once a backlog made mosquitto
    /// send large segments, the receiver's free space stayed under its estimate of a segment, it kept advertising a zero
    /// window, and mosquitto sent one window per persist-timer probe. Measured with 1,000 bees: delivery to the indexer
    /// fell to 70 messages/s for good, 1.7 MB waiting in mosquitto's send queue (`ss`: rwnd_limited 95%, snd_wnd
    /// 5,825). Over a WAN, 16 KiB a round trip is a ceiling too (320 KB/s at 50 ms). 256 KiB (capped at
    /// net.core.rmem_max / wmem_max, 208 KiB on a default Linux, then doubled by the kernel) holds a loopback segment
    /// with room to spare; 4 MiB cost the indexer 10 µs more CPU a result in <c>bench indexer</c>.
    /// </summary>
    public const int SocketBufferBytes = 256 << 10;

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
