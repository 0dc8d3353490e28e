namespace Swarm.Mqtt;

/// <summary>The one thing actors need from the broker: publish at QoS 1 and learn when it was acknowledged.</summary>
public interface IMqttPublisher
{
    bool IsConnected { get; }

    /// <summary>
    /// How many times a connection was made: a new value means a broker that may not hold what was retained on the
    /// last one (a failover, or a restart without persistence).
    /// </summary>
    long Connections => 0;

    /// <summary>Completes when the broker acknowledged the message (PUBACK); throws when it could not be delivered.</summary>
    Task PublishAsync(string topic, byte[] payload, bool retain = false, CancellationToken cancellationToken = default);
}
