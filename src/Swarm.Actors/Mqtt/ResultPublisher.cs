using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Mqtt;

/// <summary>
/// Publishes a bee's results on <c>ping/&lt;target&gt;</c> at QoS 1, a window of them in flight, in sequence order,
/// keeping a bounded backlog while the broker is away (oldest dropped first, and every drop counted and logged).
/// </summary>
public sealed class ResultPublisher : ReceiveActor, IWithTimers
{
    private readonly IMqttPublisher _broker;
    private readonly int _maxBacklog;
    private readonly int _window;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SortedDictionary<long, ProbeResult> _backlog = new();
    private readonly HashSet<long> _inFlight = [];
    private long _delivered;
    private long _dropped;
    private long _droppedAtLastReport;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IMqttPublisher broker, int maxBacklog = 100_000, int window = 64) =>
        Akka.Actor.Props.Create(() => new ResultPublisher(broker, maxBacklog, window));

    public ResultPublisher(IMqttPublisher broker, int maxBacklog, int window)
    {
        _broker = broker;
        _maxBacklog = maxBacklog;
        _window = window;

        Receive<ProbeResult>(Accept);
        Receive<Published>(p =>
        {
            _inFlight.Remove(p.Seq);
            _backlog.Remove(p.Seq);
            _delivered++;
            Pump();
        });
        Receive<PublishFailed>(f =>
        {
            // Stays in the backlog at its place in the sequence; the pump retries it after the broker is back.
            _inFlight.Remove(f.Seq);
            _log.Warning("result {0} not delivered ({1}); {2} results waiting; retry when the broker is back", f.Seq, f.Reason, _backlog.Count);
        });
        Receive<Tick>(_ =>
        {
            ReportDrops();
            Pump();
        });
        Receive<GetPublisherStatus>(_ => Sender.Tell(new PublisherStatus(_backlog.Count, _inFlight.Count, _delivered, _dropped, _broker.IsConnected)));
    }

    protected override void PreStart() => Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromMilliseconds(500));

    private void Accept(ProbeResult result)
    {
        if (_backlog.Count >= _maxBacklog)
        {
            // Network monitoring wants fresh data: the oldest waiting result goes, unless it is already on the wire.
            var oldest = _backlog.Keys.FirstOrDefault(k => !_inFlight.Contains(k));
            if (oldest != 0 && _backlog.Remove(oldest)) _dropped++;
        }
        _backlog[result.Seq] = result;
        Pump();
    }

    private void Pump()
    {
        if (!_broker.IsConnected) return;
        foreach (var (seq, result) in _backlog)
        {
            if (_inFlight.Count >= _window) break;
            if (_inFlight.Contains(seq)) continue;
            _inFlight.Add(seq);
            var payload = JsonSerializer.SerializeToUtf8Bytes(result, SwarmJson.Wire.ProbeResult);
            _broker.PublishAsync(Topics.ForResult(result.Target), payload)
                .PipeTo(Self, success: () => new Published(seq), failure: e => new PublishFailed(seq, e.GetBaseException().Message));
        }
    }

    private void ReportDrops()
    {
        if (_dropped == _droppedAtLastReport) return;
        _log.Warning("backlog full ({0} results): dropped {1} oldest results ({2} since start) while the broker was away",
            _maxBacklog, _dropped - _droppedAtLastReport, _dropped);
        _droppedAtLastReport = _dropped;
    }

    private sealed record Published(long Seq);
    private sealed record PublishFailed(long Seq, string Reason);

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }
}

/// <summary>Ask the result publisher how it is doing; answered with <see cref="PublisherStatus"/>.</summary>
public sealed record GetPublisherStatus
{
    public static readonly GetPublisherStatus Instance = new();
}

/// <summary>Backlog depth, results in flight, delivered and dropped counts, broker connection.</summary>
public sealed record PublisherStatus(int Backlog, int InFlight, long Delivered, long Dropped, bool Connected);
