using System.Buffers;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Swarm.Mqtt;

/// <summary>
/// One MQTT connection over the brokers in its settings: connects to the first broker that answers, fails over to the
/// next on loss, retries with exponential backoff and jitter, and re-subscribes its handlers after each reconnect.
/// </summary>
internal sealed class BrokerConnection(MqttSettings settings, ILogger logger)
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private const int MaxEarlyMessages = 10_000;
    private readonly List<Subscription> _handlers = [];
    private bool _identifiers; // the broker takes MQTT 5 subscription identifiers (CONNACK)
    private readonly Queue<(string Topic, byte[] Payload, IReadOnlyList<uint>? Ids, Func<CancellationToken, Task>? Ack)> _early = new();
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private int _brokerIndex;
    // Brokers that refused MQTT 5 (an older mosquitto, RabbitMQ's plugin before 3.13): asked in 3.1.1 from then on.
    private readonly HashSet<BrokerEndpoint> _speaks311 = [];
    private readonly HashSet<BrokerEndpoint> _speaks5 = [];
    private readonly AckLine _acks = new(settings.AckStuckAfter);

    /// <summary>The MQTT version of the current connection: 5, or 3.1.1 with a broker that refused 5.</summary>
    public MqttProtocolVersion? ConnectedVersion { get; private set; }

    public bool IsConnected => _client.IsConnected;

    private long _connections;

    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>The broker in use, or null while disconnected.</summary>
    public BrokerEndpoint? ConnectedBroker { get; private set; }

    /// <summary>Raised (on an MQTT thread) after each successful connect, subscriptions restored.</summary>
    public event Action? Connected;

    /// <summary>
    /// Registers a handler for a topic filter; it is subscribed now if connected, and after every reconnect. With a
    /// <paramref name="shareGroup"/>, as <c>$share/&lt;group&gt;/&lt;filter&gt;</c> when the broker offers it.
    /// </summary>
    public Task SubscribeAsync(string filter, Func<string, byte[], Task> handler, string? shareGroup = null) =>
        AddAsync(new Subscription(filter, shareGroup, (topic, payload, _) => handler(topic, payload), ManualAck: false));

    /// <summary>
    /// Registers a handler that acknowledges each message itself, when what it did with it is safe; until then the
    /// broker counts it in flight (see <see cref="MqttSettings.ReceiveMaximum"/>) and redelivers it to a new session.
    /// With a <paramref name="shareGroup"/>, subscribes as <c>$share/&lt;group&gt;/&lt;filter&gt;</c> when the broker offers it.
    /// </summary>
    public Task SubscribeWithAckAsync(string filter, string? shareGroup, Func<string, byte[], Func<CancellationToken, Task>, Task> handler) =>
        AddAsync(new Subscription(filter, shareGroup, (topic, payload, ack) => handler(topic, payload, ack!), ManualAck: true));

    /// <summary>Whether the broker in use offers shared subscriptions (MQTT 5 CONNACK); the embedded broker does not.</summary>
    public bool SharedSubscriptionsAvailable { get; private set; }

    private async Task AddAsync(Subscription subscription)
    {
        List<(string Topic, byte[] Payload, IReadOnlyList<uint>? Ids, Func<CancellationToken, Task>? Ack)> early;
        lock (_handlers)
        {
            _handlers.Add(subscription);
            // A message that came through another subscription (its identifier says so) waits for that one's handler.
            bool Mine((string Topic, byte[] Payload, IReadOnlyList<uint>? Ids, Func<CancellationToken, Task>? Ack) m) =>
                Matches(m.Topic, subscription.Filter) && (m.Ids is not { Count: > 0 } || m.Ids.Contains(IdOf(FilterFor(subscription))));
            early = _early.Where(Mine).ToList();
            if (early.Count > 0)
            {
                var rest = _early.Where(m => !Mine(m)).ToList();
                _early.Clear();
                foreach (var m in rest) _early.Enqueue(m);
            }
        }
        foreach (var (topic, payload, _, ack) in early) await Deliver(subscription, topic, payload, ack);
        if (_client.IsConnected) await SubscribeOneAsync(FilterFor(subscription), _stopping.Token);
    }

    /// <summary>Subscribes at QoS 1; a SUBACK that refuses (not authorized, say) is an error, not a silent nothing.</summary>
    private async Task SubscribeOneAsync(string filter, CancellationToken ct)
    {
        var builder = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        // Only to a broker that offers them: to one that does not, an identifier is a protocol error that drops the connection.
        if (_identifiers) builder.WithSubscriptionIdentifier(IdOf(filter));
        var options = builder.Build();
        var result = await _client.SubscribeAsync(options, ct);
        foreach (var item in result.Items)
        {
            if ((int)item.ResultCode >= 0x80)
                throw new MqttSubscribeRefusedException($"broker refused the subscription to {filter}: {item.ResultCode} {result.ReasonString}".TrimEnd());
        }
    }

    /// <summary>
    /// One identifier per subscribed filter: a message says which subscriptions it came through, so a node subscribed
    /// to both <c>ping/+</c> and <c>$share/…/ping/+</c> (two copies of each result) hands each copy to its own handlers.
    /// A hash of the filter, not a counter: a resumed session delivers what it queued with the identifiers the last
    /// process gave, and they must mean the same filters in this one.
    /// </summary>
    private static uint IdOf(string filter) => System.IO.Hashing.XxHash32.HashToUInt32(System.Text.Encoding.UTF8.GetBytes(filter)) % 268_435_454 + 1;

    private string FilterFor(Subscription s) =>
        s.ShareGroup is not null && SharedSubscriptionsAvailable ? $"$share/{s.ShareGroup}/{s.Filter}" : s.Filter;

    private static bool Matches(string topic, string filter) =>
        MqttTopicFilterComparer.Compare(topic, filter) == MqttTopicFilterCompareResult.IsMatch;

    public async Task PublishAsync(string topic, byte[] payload, bool retain = false, CancellationToken cancellationToken = default)
    {
        if (!_client.IsConnected) throw new MqttNotConnectedException("not connected to any broker");
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(retain)
            .Build();
        var result = await _client.PublishAsync(message, cancellationToken);
        // Reason codes below 0x80 are successes (0x10 "no matching subscribers" included).
        if ((int)result.ReasonCode >= 0x80)
            throw new MqttPublishRefusedException($"broker refused {topic}: {result.ReasonCode} {result.ReasonString}");
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _client.ApplicationMessageReceivedAsync += OnMessage;
        _client.DisconnectedAsync += e =>
        {
            // A connection that never came up (an attempt refused or hung up on) ends no session the loop waits on:
            // it may already be making the next attempt, and that one must not be taken for lost. (A session that ends
            // the moment it began may be reported so too: the loop also watches IsConnected.)
            if (!e.ClientWasConnected) return Task.CompletedTask;
            if (ConnectedBroker is not null && !_stopping.IsCancellationRequested)
                logger.LogWarning("MQTT: lost broker {Broker} ({Reason}); reconnecting", ConnectedBroker, e.Exception?.Message ?? e.Reason.ToString());
            ConnectedBroker = null;
            _disconnected.TrySetResult();
            return Task.CompletedTask;
        };
        _loop = Task.Run(() => ConnectLoop(_stopping.Token));
        return Task.CompletedTask;
    }

    private async Task ConnectLoop(CancellationToken ct)
    {
        var backoff = settings.MinBackoff;
        while (!ct.IsCancellationRequested)
        {
            var broker = settings.Brokers[_brokerIndex % settings.Brokers.Count];
            try
            {
                _disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                // Before CONNACK: a resumed session delivers at once, and those messages belong to the new session.
                _acks.Restart();
                var version = _speaks311.Contains(broker) ? MqttProtocolVersion.V311 : MqttProtocolVersion.V500;
                MqttClientConnectResult connected;
                try { connected = await _client.ConnectAsync(BuildOptions(broker, version), ct); }
                catch (Exception e) when (version == MqttProtocolVersion.V500 && !_speaks5.Contains(broker) && HungUp(e, ct))
                {
                    // RabbitMQ's plugin before 3.13 does not answer an MQTT 5 CONNECT: it closes the connection. Asked
                    // in 3.1.1 for this connection only, and in 5 again at the next: a broker that speaks 5 may also have
                    // closed one connection (a backend behind a balancer going away), and must not lose 5 for good. One
                    // that took MQTT 5 before in this process is never asked otherwise.
                    logger.LogWarning("MQTT: broker {Broker} closed the connection without answering an MQTT 5 CONNECT; asking in MQTT 3.1.1", broker);
                    version = MqttProtocolVersion.V311;
                    connected = await _client.ConnectAsync(BuildOptions(broker, version), ct);
                }
                if (version == MqttProtocolVersion.V500 && connected.ResultCode == MqttClientConnectResultCode.UnsupportedProtocolVersion)
                {
                    // Same guarantees in 3.1.1: QoS 1, a persistent session (clean session off); no subscription
                    // identifiers, and no shared subscriptions (3.1.1 cannot say it offers them).
                    _speaks311.Add(broker);
                    version = MqttProtocolVersion.V311;
                    logger.LogWarning("MQTT: broker {Broker} refused MQTT 5; asking in MQTT 3.1.1", broker);
                    connected = await _client.ConnectAsync(BuildOptions(broker, version), ct);
                }
                // MQTTnet returns a refusing CONNACK rather than throwing: a refusal is a failed attempt, with its reason.
                if (connected.ResultCode != MqttClientConnectResultCode.Success)
                {
                    if (_client.IsConnected) await _client.DisconnectAsync(cancellationToken: ct);
                    throw new InvalidOperationException($"the broker refused the connection: {connected.ResultCode}{(connected.ReasonString is { } why ? $" ({why})" : "")}");
                }
                var v5 = version == MqttProtocolVersion.V500;
                if (v5) _speaks5.Add(broker);
                SharedSubscriptionsAvailable = v5 && connected.SharedSubscriptionAvailable;
                _identifiers = v5 && connected.SubscriptionIdentifiersAvailable;
                ConnectedVersion = version;
                ConnectedBroker = broker;
                Interlocked.Increment(ref _connections);
                await ResubscribeAsync(ct);
                logger.LogInformation("MQTT: connected to {Broker} as {ClientId} over MQTT {Version}{Session}", broker, settings.ClientId,
                    v5 ? "5" : "3.1.1", connected.IsSessionPresent ? ", session resumed" : "");
                backoff = settings.MinBackoff;
                Connected?.Invoke();
                await WatchAcksUntilDisconnected(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _brokerIndex++;
                var next = settings.Brokers[_brokerIndex % settings.Brokers.Count];
                var delay = backoff * (0.8 + 0.4 * Random.Shared.NextDouble());
                logger.LogWarning("MQTT: broker {Broker} unreachable ({Reason}); trying {Next} in {Delay:0.0}s",
                    broker, e.GetBaseException().Message, next, delay.TotalSeconds);
                try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { return; }
                backoff = TimeSpan.FromTicks(Math.Min(settings.MaxBackoff.Ticks, backoff.Ticks * 2));
            }
        }
    }

    /// <summary>
    /// Waits for the connection to end. A message handed over and never acknowledged while later ones were (a handler
    /// that lost it) would hold back every acknowledgement behind it: after <see cref="MqttSettings.AckStuckAfter"/> the
    /// connection is closed, and the broker delivers the unacknowledged messages again to the new session.
    /// </summary>
    private async Task WatchAcksUntilDisconnected(CancellationToken ct)
    {
        var tick = TimeSpan.FromTicks(Math.Min(_acks.StuckAfter.Ticks / 4, TimeSpan.FromSeconds(1).Ticks));
        while (!_disconnected.Task.IsCompleted && _client.IsConnected)
        {
            try { await _disconnected.Task.WaitAsync(tick, ct); }
            catch (TimeoutException) { }
            if (_acks.Stuck() is { } age && _client.IsConnected)
            {
                logger.LogWarning("MQTT: a message from {Broker} waits {Age:0} s for its acknowledgement while later ones are done; reconnecting so the broker delivers it again",
                    ConnectedBroker, age.TotalSeconds);
                try { await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), ct); }
                catch (Exception e) when (e is not OperationCanceledException) { logger.LogDebug(e, "MQTT: disconnect failed"); }
            }
        }
    }

    private async Task ResubscribeAsync(CancellationToken ct)
    {
        string[] filters;
        lock (_handlers) filters = _handlers.Select(FilterFor).Distinct().ToArray();
        foreach (var filter in filters)
        {
            // A refusal is this filter's (an ACL, say), not the broker's: the others are still subscribed, the link stays.
            try { await SubscribeOneAsync(filter, ct); }
            catch (MqttSubscribeRefusedException e) { logger.LogError("MQTT: {Reason}; its messages will not arrive until that is fixed", e.Message); }
        }
    }

    private async Task OnMessage(MqttApplicationMessageReceivedEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        var payload = e.ApplicationMessage.Payload.ToArray();
        Subscription[] handlers;
        var ids = e.ApplicationMessage.SubscriptionIdentifiers;
        lock (_handlers)
        {
            handlers = _handlers.Where(h => Matches(topic, h.Filter)).ToArray();
            // Through a subscription this process knows: to its handlers only. With no identifier, or only unknown ones
            // (a subscription a former run made), to every handler whose filter matches.
            if (ids is { Count: > 0 } && handlers.Any(h => ids.Contains(IdOf(FilterFor(h)))))
                handlers = handlers.Where(h => ids.Contains(IdOf(FilterFor(h)))).ToArray();
            if (handlers.Length == 0)
            {
                // A resumed session delivers what the broker queued at once, before the actors have registered their
                // handlers: keep it for them rather than drop it (it is already acknowledged).
                if (_early.Count >= MaxEarlyMessages) _early.Dequeue();
                _early.Enqueue((topic, payload, ids is { Count: > 0 } ? ids.ToArray() : null, null));
                return;
            }
        }
        Func<CancellationToken, Task>? ack = null;
        if (handlers.Any(h => h.ManualAck))
        {
            e.AutoAcknowledge = false;
            ack = _acks.Take(() => e.AcknowledgeAsync(CancellationToken.None));
        }
        foreach (var handler in handlers) await Deliver(handler, topic, payload, handler.ManualAck ? ack : null);
    }

    private async Task Deliver(Subscription subscription, string topic, byte[] payload, Func<CancellationToken, Task>? ack)
    {
        try { await subscription.Handler(topic, payload, ack ?? (_ => Task.CompletedTask)); }
        catch (Exception ex)
        {
            logger.LogError(ex, "MQTT: handler for {Filter} failed on a message on {Topic}; message dropped", subscription.Filter, topic);
            if (ack is not null) _ = ack(CancellationToken.None); // dropped, so acknowledged: it must not hold back the ones behind it
        }
    }

    private sealed record Subscription(string Filter, string? ShareGroup, Func<string, byte[], Func<CancellationToken, Task>?, Task> Handler, bool ManualAck);

    /// <summary>
    /// The broker took the TCP connection and closed it before any CONNACK: how a broker that knows only 3.1.1 may
    /// refuse 5. Not a refused or timed-out connection (a broker that is down), not TLS failing.
    /// </summary>
    private static bool HungUp(Exception e, CancellationToken ct) =>
        !ct.IsCancellationRequested
        && e is MQTTnet.Exceptions.MqttCommunicationException and not MQTTnet.Exceptions.MqttCommunicationTimedOutException
        // A clean close (end of stream), not a reset, a refusal, a timeout or TLS failing somewhere down the chain.
        && !Chain(e).Any(inner => inner is System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException
            or TimeoutException or IOException { InnerException: not null });

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? at = e; at is not null; at = at.InnerException) yield return at;
    }

    private MqttClientOptions BuildOptions(BrokerEndpoint broker, MqttProtocolVersion version)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId(settings.ClientId)
            .WithProtocolVersion(version)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (version == MqttProtocolVersion.V500)
        {
            builder.WithCleanStart(false).WithSessionExpiryInterval((uint)settings.SessionExpiry.TotalSeconds);
            if (settings.ReceiveMaximum is { } receiveMaximum) builder.WithReceiveMaximum(receiveMaximum);
        }
        else
        {
            builder.WithCleanSession(false); // 3.1.1's persistent session: the broker keeps it until the client says otherwise
        }
        if (settings.Username is not null) builder.WithCredentials(settings.Username, settings.Password);
        if (settings.Will is { } will)
        {
            builder.WithWillTopic(will.Topic).WithWillPayload(will.Payload).WithWillRetain(true)
                .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        }
        if (broker.Tls) builder.WithTlsOptions(o => ConfigureTls(o, broker));
        return LinkSocket.Apply(builder.Build());
    }

    private void ConfigureTls(MqttClientTlsOptionsBuilder tls, BrokerEndpoint broker)
    {
        var material = settings.Tls ?? MqttTls.None;
        tls.UseTls()
            .WithTargetHost(broker.Host)
            .WithCertificateValidationHandler(e => material.Accept(e.Certificate, e.SslPolicyErrors));
        if (material.ClientCertificate is not null) tls.WithClientCertificates([material.ClientCertificate]);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null) await _loop;
        if (_client.IsConnected)
        {
            if (settings.Goodbye is { } goodbye)
            {
                try
                {
                    await _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(goodbye.Topic).WithPayload(goodbye.Payload)
                        .WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken);
                }
                catch (Exception e) { logger.LogDebug(e, "MQTT: goodbye not published"); }
            }
            // A clean DISCONNECT: the broker then does not publish the last will (we left, we did not die).
            try { await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), cancellationToken); }
            catch (Exception e) { logger.LogDebug(e, "MQTT: disconnect failed"); }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested) await StopAsync(CancellationToken.None);
        _client.Dispose();
    }
}
