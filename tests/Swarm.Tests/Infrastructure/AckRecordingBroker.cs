using System.Collections.Concurrent;
using MQTTnet.Server;

namespace Swarm.Tests.Infrastructure;

/// <summary>MQTTnet's broker on a free loopback port, recording what clients acknowledged (as <c>record</c> says), in order.</summary>
public sealed class AckRecordingBroker : IDisposable
{
    private readonly MqttServer _server;

    private AckRecordingBroker(MqttServer server, int port) => (_server, Port) = (server, port);

    public int Port { get; }
    public ConcurrentQueue<string> Acked { get; } = new();

    /// <param name="record">What to keep of an acknowledgement, or null to skip it.</param>
    public static async Task<AckRecordingBroker> StartAsync(Func<ClientAcknowledgedPublishPacketEventArgs, string?> record)
    {
        var port = Ports.Free();
        var server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder()
            .WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(System.Net.IPAddress.Loopback)
            .WithDefaultEndpointBoundIPV6Address(System.Net.IPAddress.None).WithDefaultEndpointPort(port).Build());
        var broker = new AckRecordingBroker(server, port);
        server.ClientAcknowledgedPublishPacketAsync += e =>
        {
            if (record(e) is { } kept) broker.Acked.Enqueue(kept);
            return Task.CompletedTask;
        };
        await server.StartAsync();
        return broker;
    }

    public void Dispose() => _server.Dispose();
}
