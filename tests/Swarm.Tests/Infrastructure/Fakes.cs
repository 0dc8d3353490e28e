using System.Collections.Concurrent;
using System.Text;
using Swarm.Mqtt;
using Swarm.Probing;

namespace Swarm.Tests.Infrastructure;

/// <summary>A prober that answers at once with a fixed RTT, recording which targets it was asked about.</summary>
public sealed class FakeProber : IProber
{
    public ConcurrentQueue<string> Probed { get; } = new();

    public Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken)
    {
        Probed.Enqueue(target);
        var rtts = Enumerable.Repeat(0.5, settings.Count).ToArray();
        return Task.FromResult(new ProbeOutcome(target, "icmp", "127.0.0.1", null, RoundStats.Of(settings.Count, rtts), null));
    }
}

/// <summary>A broker stand-in for actor tests: records what would have been published.</summary>
public sealed class RecordingPublisher : IMqttPublisher
{
    public ConcurrentQueue<(string Topic, string Payload)> Published { get; } = new();
    public ConcurrentQueue<string> Retained { get; } = new();
    public bool IsConnected { get; set; } = true;

    /// <summary>Connections made: a test raises it to play a reconnect (a failover, a broker restarted empty).</summary>
    public long Connections { get; set; }

    /// <summary>Topics the broker refuses for good, as a broker's ACL does (NotAuthorized), and how often it did.</summary>
    public ConcurrentDictionary<string, int> Refused { get; } = new();

    public Task PublishAsync(string topic, byte[] payload, bool retain = false, CancellationToken cancellationToken = default)
    {
        if (!IsConnected) return Task.FromException(new MqttNotConnectedException("down"));
        if (Refused.ContainsKey(topic))
        {
            Refused[topic]++;
            return Task.FromException(new MqttPublishRefusedException($"broker refused {topic}: NotAuthorized"));
        }
        Published.Enqueue((topic, Encoding.UTF8.GetString(payload)));
        if (retain) Retained.Enqueue(topic);
        return Task.CompletedTask;
    }
}
