using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet.Server;

namespace Swarm.Mqtt;

/// <summary>The in-process MQTT broker that makes <c>dotnet run</c> a whole swarm with nothing installed.</summary>
public sealed class EmbeddedBroker(int port, ILogger<EmbeddedBroker> logger) : IHostedService, IAsyncDisposable
{
    private MqttServer? _server;

    public int Port => port;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointBoundIPV6Address(IPAddress.None)
            .WithDefaultEndpointPort(port)
            .WithPersistentSessions()
            .Build();
        _server = new MqttServerFactory().CreateMqttServer(options);
        _server.ValidatingConnectionAsync += AssignClientIdentifier;
        try
        {
            await _server.StartAsync();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new InvalidOperationException(
                $"the embedded MQTT broker cannot listen on 127.0.0.1:{port}: the port is in use (another broker?). " +
                "Set Swarm:Mqtt:EmbeddedPort to a free port, or Swarm:Mqtt:Brokers to use the running broker.", e);
        }
        logger.LogInformation("embedded MQTT broker listening on mqtt://127.0.0.1:{Port}", port);
    }

    private static readonly FieldInfo? ConnectPacketField =
        typeof(ValidatingConnectionEventArgs).GetField("_connectPacket", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>
    /// mosquitto_sub and mosquitto_pub speak MQTT 3.1.1 with an empty client id; the spec lets the server assign one
    /// [MQTT-3.1.3-6], but MQTTnet 5 does so only for MQTT 5 (dotnet/MQTTnet#2181). Without this, the README's
    /// first command is refused with "identifier rejected".
    /// </summary>
    private Task AssignClientIdentifier(ValidatingConnectionEventArgs e)
    {
        if (!string.IsNullOrEmpty(e.ClientId) || e.CleanSession != true) return Task.CompletedTask;
        if (ConnectPacketField?.GetValue(e) is MQTTnet.Packets.MqttConnectPacket packet)
            packet.ClientId = $"auto-{Guid.NewGuid():N}";
        else
            logger.LogWarning("embedded broker: cannot assign an id to a client that sent none; use a client id (-i NAME) or MQTT 5 (-V 5)");
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null) await _server.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is null) return;
        await _server.StopAsync();
        _server.Dispose();
    }
}
