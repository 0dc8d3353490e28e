using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace Swarm.Tests.Infrastructure;

/// <summary>A plain MQTT client that records every message it receives, for tests to wait on.</summary>
public sealed class MqttCollector : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly ConcurrentQueue<(string Topic, string Payload)> _messages = new();
    private volatile bool _disposed;

    public IReadOnlyList<(string Topic, string Payload)> Messages => _messages.ToArray();

    public static Task<MqttCollector> ConnectAsync(int port, params string[] filters) => ConnectAsync(port, persistent: false, filters);

    /// <summary>
    /// Connects and subscribes at QoS 1. A persistent collector (MQTT 5, clean start off, a fixed id) reconnects by
    /// itself, and the broker keeps its messages while it is away: it sees everything, across broker restarts.
    /// </summary>
    public static Task<MqttCollector> ConnectAsync(int port, bool persistent, params string[] filters) =>
        ConnectAsync("127.0.0.1", port, persistent, filters);

    /// <summary>As above, to a broker on <paramref name="host"/> (one listening on a test network's address).</summary>
    public static async Task<MqttCollector> ConnectAsync(string host, int port, bool persistent, params string[] filters)
    {
        var collector = new MqttCollector();
        collector._client.ApplicationMessageReceivedAsync += e =>
        {
            collector._messages.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload.ToArray())));
            return Task.CompletedTask;
        };
        var builder = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId($"test-{Guid.NewGuid():N}");
        if (persistent)
            builder.WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).WithCleanStart(false).WithSessionExpiryInterval(3600);
        var options = builder.Build();
        if (persistent)
        {
            collector._client.DisconnectedAsync += async _ =>
            {
                while (!collector._disposed)
                {
                    await Task.Delay(200);
                    try { await collector._client.ConnectAsync(options); return; }
                    catch (Exception) { /* the broker is still away */ }
                }
            };
        }
        await Eventually.True(() =>
        {
            try { collector._client.ConnectAsync(options).GetAwaiter().GetResult(); return true; }
            catch (Exception) { return false; }
        }, TimeSpan.FromSeconds(15), $"MQTT connect to {host}:{port}");
        foreach (var filter in filters)
            await collector._client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
        return collector;
    }

    public Task PublishAsync(string topic, string payload) => PublishAsync(topic, Encoding.UTF8.GetBytes(payload));

    public async Task PublishAsync(string topic, byte[] payload, bool retain = false) =>
        await _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag(retain)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

    /// <summary>Waits for a message on a topic whose payload matches, and returns its JSON.</summary>
    public async Task<JsonElement> WaitForAsync(Func<string, JsonElement, bool> match, TimeSpan timeout, string what)
    {
        JsonElement found = default;
        await Eventually.True(() =>
        {
            foreach (var (topic, payload) in _messages)
            {
                JsonElement json;
                try { json = JsonDocument.Parse(payload).RootElement.Clone(); }
                catch (JsonException) { continue; }
                if (!match(topic, json)) continue;
                found = json;
                return true;
            }
            return false;
        }, timeout, what);
        return found;
    }

    public void Clear() => _messages.Clear();

    /// <summary>The sequence numbers of one bee's results, in arrival order (duplicates included).</summary>
    public List<long> Sequences(string bee) =>
        Messages.Where(m => m.Topic.StartsWith("ping/"))
            .Select(m => JsonDocument.Parse(m.Payload).RootElement)
            .Where(j => j.GetProperty("bee").GetString() == bee)
            .Select(j => j.GetProperty("seq").GetInt64())
            .ToList();

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (_client.IsConnected) await _client.DisconnectAsync();
        _client.Dispose();
    }
}
