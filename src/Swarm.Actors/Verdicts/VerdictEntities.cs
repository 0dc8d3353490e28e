using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Swarm.Metrics;
using Swarm.Mqtt;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Verdicts;

/// <summary>
/// Routes to the verdict entities: <c>target:&lt;target&gt;</c> for results and link updates, <c>bee:&lt;bee&gt;</c> for
/// pair updates. One entity per target and per bee across the queens, so each change is published once.
/// </summary>
public sealed class VerdictMessageExtractor(int shardCount = 60) : HashCodeMessageExtractor(shardCount)
{
    public const string TargetPrefix = "target:";
    public const string BeePrefix = "bee:";

    public override string? EntityId(object message) => message switch
    {
        ProbeResult r => TargetPrefix + r.Target,
        LinkUpdate l => TargetPrefix + l.Target,
        PairUpdate p => BeePrefix + p.Bee,
        _ => null,
    };
}

/// <summary>What a verdict entity is given: its settings, where it publishes, where alerts also go, and the region to reach its peers.</summary>
public sealed record VerdictContext(VerdictSettings Settings, IMqttPublisher Broker, SwarmMetrics Metrics)
{
    /// <summary>
    /// The latest alert on a topic as this node heard it (retained on <c>alert/#</c>): an entity that starts anew
    /// (moved to another queen, restarted) takes up a raised alert instead of raising it twice or never clearing it.
    /// </summary>
    public Func<string, Alert?> LastAlert { get; init; } = _ => null;

    /// <summary>The node's webhook deliverer (<see cref="AlertWebhook"/>), or null when no webhook is set.</summary>
    public IActorRef? Webhook { get; init; }

    /// <summary>The entity for an id from the region's extractor.</summary>
    public Props PropsFor(string entityId, Func<IActorRef> region)
    {
        if (entityId.StartsWith(VerdictMessageExtractor.BeePrefix, StringComparison.Ordinal))
        {
            var bee = entityId[VerdictMessageExtractor.BeePrefix.Length..];
            return Props.Create(() => new BeeVerdictEntity(bee, this, region));
        }
        var target = entityId[VerdictMessageExtractor.TargetPrefix.Length..];
        return Props.Create(() => new TargetVerdictEntity(target, this, region));
    }
}

/// <summary>
/// What both verdict entities share: the latest verdict published retained (a newer one replaces one not yet sent),
/// alerts published in order, one publish in flight, and a broker that is away retried at each tick.
/// </summary>
public abstract class VerdictEntity : ReceiveActor, IWithTimers
{
    private readonly Queue<(string Topic, byte[] Payload)> _alerts = new();
    private (string Topic, byte[] Payload)? _verdict;
    private bool _inFlight, _failing, _leaving;
    private readonly Func<IActorRef> _region;
    private readonly AlertGate _gate;
    protected readonly ILoggingAdapter Log = Context.GetLogger();
    protected readonly VerdictContext Ctx;

    public ITimerScheduler Timers { get; set; } = null!;

    protected VerdictEntity(VerdictContext ctx, Func<IActorRef> region)
    {
        Ctx = ctx;
        _region = region;
        _gate = new AlertGate(ctx.Settings);
        Receive<Tick>(_ =>
        {
            OnRefresh(DateTime.UtcNow);
            Flush();
        });
        Receive<GateTick>(_ => Gate(DateTime.UtcNow));
        Receive<Sent>(sent =>
        {
            _inFlight = false;
            if (sent.IsAlert) _alerts.Dequeue();
            if (_failing) Log.Info("verdicts: the broker takes publications again");
            _failing = false;
            Flush();
            if (_leaving && Idle) Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        });
        Receive<NotSent>(n =>
        {
            _inFlight = false;
            if (!_failing) Log.Warning("verdicts: {0} not published ({1}); kept, tried again in {2:0}s", n.Topic, n.Reason, Ctx.Settings.Refresh.TotalSeconds);
            _failing = true;
            if (!n.IsAlert) _verdict ??= (n.Topic, n.Payload); // kept, unless a newer verdict came meanwhile
        });
    }

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("refresh", Tick.Instance, Ctx.Settings.Refresh);
        Timers.StartPeriodicTimer("gate", GateTick.Instance, Ctx.Settings.Interval);
        if (Ctx.LastAlert(AlertTopic) is { State: Alert.Raised } raised)
        {
            _gate.Resume(raised.Verdict, raised.Since);
            Log.Info("verdicts: {0} was raised since {1:HH:mm:ss} UTC; the alert goes on here", AlertTopic, raised.Since);
        }
    }

    /// <summary>Where this subject's alerts are published.</summary>
    protected abstract string AlertTopic { get; }

    private bool Idle => !_inFlight && _verdict is null && _alerts.Count == 0;

    protected IActorRef Region => _region();

    /// <summary>The subject's current verdict, for the alert gate.</summary>
    protected abstract string CurrentVerdict { get; }

    /// <summary>The alert's words: subject, what it is about, and a text for the state.</summary>
    protected abstract (string Subject, string About, string Topic, string Text) AlertFor(string state, string verdict);

    protected abstract void OnRefresh(DateTime now);

    protected void PublishVerdict(string topic, byte[] payload)
    {
        _verdict = (topic, payload);
        Flush();
    }

    /// <summary>Feeds the alert gate; a raise or a clear is published on <c>alert/…</c> and handed to the webhook.</summary>
    protected void Gate(DateTime now)
    {
        if (_gate.Feed(CurrentVerdict, now) is not { } state) return;
        var verdict = state == Alert.Raised ? _gate.LastDegraded : VerdictKinds.Ok;
        var (subject, about, topic, text) = AlertFor(state, _gate.LastDegraded);
        var alert = new Alert(subject, about, state, verdict, text)
        {
            Since = _gate.CandidateSince,
            At = now,
            Id = $"{about}:{subject}:{state}:{now.Ticks}",
        };
        Log.Info("alert {0}: {1}", state, text);
        Ctx.Metrics.AlertEvent(about, state);
        _alerts.Enqueue((topic, JsonSerializer.SerializeToUtf8Bytes(alert, SwarmJson.Wire.Alert)));
        Ctx.Webhook?.Tell(alert);
        Flush();
    }

    private void Flush()
    {
        if (_inFlight) return;
        if (_alerts.TryPeek(out var alert))
        {
            Send(alert.Topic, alert.Payload, isAlert: true);
        }
        else if (_verdict is { } verdict)
        {
            _verdict = null;
            Send(verdict.Topic, verdict.Payload, isAlert: false);
        }
    }

    private void Send(string topic, byte[] payload, bool isAlert)
    {
        _inFlight = true;
        // Alerts stay at the head of their queue until the broker has them: raised and cleared keep their order.
        Ctx.Broker.PublishAsync(topic, payload, retain: true).PipeTo(Self,
            success: () => isAlert ? Sent.Alert : Sent.Verdict,
            failure: e => new NotSent(topic, payload, e.GetBaseException().Message, isAlert));
    }

    /// <summary>
    /// When nothing is left to judge (every pair stale) and no alert is raised: clears the retained verdict (an empty
    /// payload), then passivates once the broker has that.
    /// </summary>
    protected void LeaveWhenEmpty(bool empty, string verdictTopic)
    {
        if (!empty || _gate.Raised || _leaving) return;
        _leaving = true;
        PublishVerdict(verdictTopic, []);
    }

    /// <summary>Something came to judge again: the entity stays.</summary>
    protected void Stay() => _leaving = false;

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record GateTick
    {
        public static readonly GateTick Instance = new();
    }

    private sealed record Sent(bool IsAlert)
    {
        public static readonly Sent Alert = new(true);
        public static readonly Sent Verdict = new(false);
    }

    private sealed record NotSent(string Topic, byte[] Payload, string Reason, bool IsAlert);
}

/// <summary>The verdict on one target (<c>verdict/&lt;target&gt;</c>), from every bee's rounds against it.</summary>
public sealed class TargetVerdictEntity : VerdictEntity
{
    private readonly TargetJudge _judge;
    private readonly string _topic;
    private readonly string _alertTopic;
    private TargetVerdict? _latest;

    public TargetVerdictEntity(string target, VerdictContext ctx, Func<IActorRef> region) : base(ctx, region)
    {
        _judge = new TargetJudge(target, ctx.Settings);
        _topic = Topics.ForVerdict(target);
        _alertTopic = Topics.ForAlert(target);
        Receive<ProbeResult>(r =>
        {
            var now = DateTime.UtcNow;
            // An outbox delivering its backlog after an outage replays old rounds: they tell nothing about now.
            if (now - r.Timestamp.ToUniversalTime() > ctx.Settings.StaleAfter)
            {
                ctx.Metrics.VerdictResult("stale");
                return;
            }
            ctx.Metrics.VerdictResult("judged");
            Stay();
            Tell(_judge.Observe(r, now));
            Evaluate(now, force: false);
        });
        Receive<LinkUpdate>(l =>
        {
            var now = DateTime.UtcNow;
            _judge.Link(l.Bee, l.Degraded, now);
            Evaluate(now, force: false);
        });
    }

    protected override string CurrentVerdict => _judge.Verdict;

    protected override string AlertTopic => _alertTopic;

    protected override (string, string, string, string) AlertFor(string state, string verdict) =>
        (_judge.Target, Alert.AboutTarget, _alertTopic, state == Alert.Raised
            ? _latest?.Text ?? $"{_judge.Target}: {verdict}"
            : $"{_judge.Target}: ok again");

    protected override void OnRefresh(DateTime now)
    {
        Tell(_judge.Refresh(now));
        if (_judge.Pairs == 0)
        {
            LeaveWhenEmpty(true, _topic);
            return;
        }
        // Degraded: published at each refresh too, so the figures on verdict/<target> stay current.
        Evaluate(now, force: _judge.Verdict != VerdictKinds.Ok);
    }

    private void Tell(IReadOnlyList<PairUpdate> updates)
    {
        foreach (var u in updates) Region.Tell(u);
    }

    /// <summary>A verdict is made only when something it shows changed (or <paramref name="force"/>): most rounds change nothing.</summary>
    private void Evaluate(DateTime now, bool force)
    {
        if (_judge.Dirty || force)
        {
            var (verdict, changed) = _judge.Evaluate(now);
            _latest = verdict;
            if (changed || force) PublishVerdict(_topic, JsonSerializer.SerializeToUtf8Bytes(verdict, SwarmJson.Wire.TargetVerdict));
        }
        Gate(now);
    }
}

/// <summary>The verdict on one bee's link (<c>verdict/bee/&lt;bee&gt;</c>), from how its targets' judges see its pairs.</summary>
public sealed class BeeVerdictEntity : VerdictEntity
{
    private readonly BeeJudge _judge;
    private readonly string _topic;
    private readonly string _alertTopic;
    private BeeVerdict? _latest;
    private bool _toldDegraded;

    public BeeVerdictEntity(string bee, VerdictContext ctx, Func<IActorRef> region) : base(ctx, region)
    {
        _judge = new BeeJudge(bee, ctx.Settings);
        _topic = Topics.ForBeeVerdict(bee);
        _alertTopic = Topics.ForBeeAlert(bee);
        Receive<PairUpdate>(u =>
        {
            var now = DateTime.UtcNow;
            if (u.State != PairUpdate.Gone) Stay();
            _judge.Update(u, now);
            Evaluate(now);
        });
    }

    protected override string CurrentVerdict => _judge.LinkDegraded ? VerdictKinds.OneBee : VerdictKinds.Ok;

    protected override string AlertTopic => _alertTopic;

    protected override (string, string, string, string) AlertFor(string state, string verdict) =>
        (_judge.Bee, Alert.AboutBee, _alertTopic, state == Alert.Raised ? _latest?.Text ?? $"bee {_judge.Bee}: {verdict}" : $"bee {_judge.Bee}: its link is fine again");

    protected override void OnRefresh(DateTime now)
    {
        _judge.Expire(now);
        Evaluate(now);
        // Targets' judges forget a bad-link mark not heard again within StaleAfter: say it again while it holds.
        if (_judge.LinkDegraded) TellTargets(true);
        LeaveWhenEmpty(_judge.Targets == 0, _topic);
    }

    private void Evaluate(DateTime now)
    {
        var (verdict, changed) = _judge.Evaluate(now);
        _latest = verdict;
        if (changed) PublishVerdict(_topic, JsonSerializer.SerializeToUtf8Bytes(verdict, SwarmJson.Wire.BeeVerdict));
        if (_judge.LinkDegraded != _toldDegraded)
        {
            _toldDegraded = _judge.LinkDegraded;
            TellTargets(_toldDegraded);
        }
        Gate(now);
    }

    private void TellTargets(bool degraded)
    {
        foreach (var target in _judge.TargetNames) Region.Tell(new LinkUpdate(_judge.Bee, target, degraded));
    }
}
