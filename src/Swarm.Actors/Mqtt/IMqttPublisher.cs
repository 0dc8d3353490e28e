namespace Swarm.Mqtt;

/// <summary>The one thing actors need from the broker: publish at QoS 1 and learn when it was acknowledged.</summary>
public interface IMqttPublisher
{
    bool IsConnected { get; }

    /// <summary>Completes when the broker acknowledged the message (PUBACK); throws when it could not be delivered.</summary>
    Task PublishAsync(string topic, byte[] payload, bool retain = false, CancellationToken cancellationToken = default);
}
