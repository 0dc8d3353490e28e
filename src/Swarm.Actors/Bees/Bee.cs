using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using Swarm.Probing;
using Swarm.Protocol;

namespace Swarm.Bees;

/// <summary>
/// A pinger bound to its vantage point (<c>bee-{id}</c>). It journals every list version it adopts, so a bee cut off
/// from the cluster keeps probing its last known list; it hands each round's result to the outbox, which numbers it.
/// </summary>
public sealed class Bee : ReceivePersistentActor, IWithTimers
{
    private const int SnapshotEvery = 100;
    private const string SyncTimer = "sync";
    private readonly BeeSettings _settings;
    private readonly IProber _prober;
    private readonly IActorRef _targetLists;
    private readonly IActorRef _results;
    private readonly IActorRef _mediator;
    private readonly IActorRef? _status;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, TargetsAdopted> _lists = new();
    private readonly Dictionary<string, TimeSpan> _phases = new();
    // Each target's interval and round, from the first list (in the bee's order) that holds it: the list's own
    // probe settings where it has them, the bee's otherwise.
    private Dictionary<string, (TimeSpan Interval, RoundSettings Round)> _plans = new();
    // One schedule for every target, served by one timer: a timer per target cost ~3 KiB each (10,000 targets: 37 MiB).
    // A target's entry in _next is the truth; queue entries that disagree (the target was removed or rescheduled) are skipped.
    // Times on the monotonic clock (Now): a wall-clock step (NTP on a board with no RTC) neither fires every round at
    // once nor silences the bee.
    private readonly Dictionary<string, TimeSpan> _next = new();
    private readonly PriorityQueue<string, TimeSpan> _due = new();
    private const string DueTimer = "due";
    private readonly HashSet<string> _inFlight = [];
    private readonly HashSet<string> _listsHeardFrom = [];
    private (string List, long? Version) _lastRefused;
    private readonly CancellationTokenSource _stopping = new();
    private TimeSpan _epoch;

    private static TimeSpan Now => System.Diagnostics.Stopwatch.GetElapsedTime(0);

    private const string HealthPart = "bee";
    private readonly Health.NodeHealth _health;

    public override string PersistenceId { get; }
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// A bee. <paramref name="targetLists"/> answers <see cref="GetTargets"/>; <paramref name="mediator"/> takes its
    /// <see cref="Subscribe"/> to each list's announcements (DistributedPubSub's in the cluster; an edge bee's list
    /// feed plays both parts). <paramref name="status"/>, when given, hears what the bee follows and what it refused,
    /// for the status it publishes.
    /// </summary>
    public static Props Props(BeeSettings settings, IProber prober, IActorRef targetLists, IActorRef results, IActorRef? mediator = null,
        Health.NodeHealth? health = null, IActorRef? status = null) =>
        Akka.Actor.Props.Create(() => new Bee(settings, prober, targetLists, results, mediator, health ?? Health.NodeHealth.Unwatched, status));

    public Bee(BeeSettings settings, IProber prober, IActorRef targetLists, IActorRef results, IActorRef? mediator, Health.NodeHealth health,
        IActorRef? status)
    {
        _settings = settings;
        _status = status;
        _health = health;
        _prober = prober;
        _targetLists = targetLists;
        _results = results;
        _mediator = mediator ?? DistributedPubSub.Get(Context.System).Mediator;
        PersistenceId = $"bee-{settings.BeeId}";

        Recover<TargetsAdopted>(e => _lists[e.ListId] = e);
        Recover<SequenceReserved>(_ => { }); // journals from before the outbox numbered results
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not BeeSnapshot s) return;
            foreach (var list in s.Lists) _lists[list.ListId] = list;
        });
        Recover<RecoveryCompleted>(_ =>
        {
            _health.Healthy(HealthPart);
            _plans = Plans();
            Start();
        });

        Command<CurrentTargets>(Adopt);
        Command<SyncLists>(_ => AskLists());
        Command<ProbeDue>(_ => StartDueRounds());
        Command<RoundFinished>(Finish);
        Command<GetBeeDuty>(_ => Sender.Tell(new BeeDuty(_settings.BeeId, _lists.Values.ToList(), Targets())));
        Command<SubscribeAck>(_ => { });
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning("bee {0}: snapshot failed ({1}); recovery replays more events", _settings.BeeId, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    private void Start()
    {
        var targets = Targets();
        _log.Info("bee {0} ({1}) follows lists [{2}]; {3} targets from its journal",
            _settings.BeeId, _settings.Location ?? "no location", string.Join(", ", _settings.Lists), targets.Count);
        foreach (var list in _settings.Lists)
            _mediator.Tell(new Subscribe(SwarmNames.TargetsTopic(list), Self));
        Schedule(targets, []);
        Announce();
        AskLists();
    }

    /// <summary>Tells the status what the bee follows now.</summary>
    private void Announce() =>
        _status?.Tell(new BeeListsChanged(_lists.Values.OrderBy(l => l.ListId, StringComparer.Ordinal)
            .Select(l => new BeeListView(l.ListId, l.Version, l.Targets.Count) { Probe = l.Probe is null ? null : ProbeSettingsCheck.Describe(l.Probe) })
            .ToList(), Targets().Count));

    private void AskLists()
    {
        Announce(); // again at each sync: a restarted outbox learns what the bee follows (it publishes only changes)
        foreach (var list in _settings.Lists) _targetLists.Tell(new GetTargets(list));
        var allHeard = _settings.Lists.All(_listsHeardFrom.Contains);
        Timers.StartSingleTimer(SyncTimer, SyncLists.Instance, allHeard ? _settings.SyncInterval : _settings.InitialSyncInterval);
    }

    private void Adopt(CurrentTargets current)
    {
        if (!_settings.Lists.Contains(current.ListId)) return;
        _listsHeardFrom.Add(current.ListId);
        // The same version with other settings: the bee journaled it from a queen too old to send them (a rolling upgrade).
        if (_lists.TryGetValue(current.ListId, out var known) && known.Version >= current.Version
            && !(known.Version == current.Version && current.Probe is not null && !ProbeSettingsCheck.Same(known.Probe, current.Probe)))
        {
            // The same version comes back at every sync. An older one is a stale copy (a retained message a broker
            // restored, a list whose journal went back), refused; the bee keeps the newer list it holds. In the cluster
            // a change comes two ways (the list's own tell and DistributedPubSub) in no order between them: an older
            // announcement after a newer one is only that.
            var overtaken = current.Changed && !_settings.Edge;
            if (known.Version > current.Version && !overtaken)
                Refuse(current.ListId, current.Version, $"version {current.Version} is older than version {known.Version}, which the bee holds");
            return;
        }

        var before = Targets();
        // The first rounds are due counted from the change's arrival, not from the end of its journal write: a write
        // that waited on the disk (ten bees and the queen syncing at once) must not push every first round back by as
        // much. None starts before the write is done; one already due then starts at once.
        var heard = Now;
        Persist(new TargetsAdopted(current.ListId, current.Version, current.Targets) { Probe = current.Probe }, e =>
        {
            _lists[e.ListId] = e;
            var after = Targets();
            var plans = Plans();
            // A target whose interval changed is planned anew, at its place in the new interval.
            var replanned = after.Intersect(before).Where(t => _plans.TryGetValue(t, out var old) && old.Interval != plans[t].Interval).ToList();
            _plans = plans;
            var added = after.Except(before).ToList();
            var removed = before.Except(after).ToList();
            _log.Info("bee {0}: list {1} version {2} adopted, {3} targets (+{4} -{5}), " + ProbeSettingsCheck.Describe(e.Probe).Replace("{", "{{").Replace("}", "}}"),
                _settings.BeeId, e.ListId, e.Version, after.Count, added.Count, removed.Count);
            Schedule(added.Concat(replanned).ToList(), removed.Concat(replanned).ToList(), heard);
            Announce();
            SnapshotIfDue();
        });
    }

    private void Refuse(string list, long? version, string reason)
    {
        // A stale copy comes back at every sync (a retained list older than the journal): said once, not every 5 s.
        if (_lastRefused == (list, version)) return;
        _lastRefused = (list, version);
        _log.Warning("bee {0}: refused list {1} version {2}: {3}; it keeps its list", _settings.BeeId, list, version, reason);
        _status?.Tell(new ListRefusal(list, version, reason, DateTime.UtcNow));
    }

    /// <summary>
    /// Each target gets a fixed phase in the interval, spread evenly, so rounds never burst at the top of the period;
    /// a new target's first round comes within <see cref="BeeSettings.FirstRoundWindow"/> (and this bee's share of
    /// <see cref="BeeSettings.FirstRoundSpread"/>). The phases start at this bee's own offset
    /// (<see cref="BeeSettings.PhaseOffset"/>, from a hash of its id): bees that adopt a list at the same moment then
    /// reach any one target at different instants of the interval, not all in the same millisecond.
    /// </summary>
    /// <param name="from">When the targets came (now, unless told): the first rounds are due from then.</param>
    private void Schedule(IReadOnlyList<string> added, IReadOnlyList<string> removed, TimeSpan? from = null)
    {
        foreach (var target in removed)
        {
            _phases.Remove(target);
            _next.Remove(target);
        }
        if (added.Count == 0) return;
        _epoch = from ?? Now;
        var window = _settings.FirstRoundsOver(added.Count);
        for (var i = 0; i < added.Count; i++)
        {
            _phases[added[i]] = IntervalOf(added[i]) * _settings.Slot(i, added.Count);
            Plan(added[i], _epoch + window * i / added.Count + _settings.FirstRoundSpread * _settings.PhaseOffset);
        }
        Arm();
    }

    private void Plan(string target, TimeSpan due)
    {
        _next[target] = due;
        _due.Enqueue(target, due);
    }

    /// <summary>The one timer, set for the earliest round due.</summary>
    private void Arm()
    {
        while (_due.TryPeek(out var target, out var due) && !(_next.TryGetValue(target, out var next) && next == due)) _due.Dequeue();
        if (_due.TryPeek(out _, out var earliest))
        {
            var wait = earliest - Now;
            Timers.StartSingleTimer(DueTimer, ProbeDue.Instance, wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
        }
        else
        {
            Timers.Cancel(DueTimer);
        }
    }

    private void StartDueRounds()
    {
        var now = Now;
        while (_due.TryPeek(out var target, out var due) && due <= now)
        {
            _due.Dequeue();
            if (!_next.TryGetValue(target, out var next) || next != due || !_phases.TryGetValue(target, out var phase)) continue; // stale
            Plan(target, now + NextDue(IntervalOf(target), phase));
            StartRound(target);
        }
        Arm();
    }

    private void StartRound(string target)
    {
        if (!_inFlight.Add(target))
        {
            _log.Warning("bee {0}: round on {1} still running after {2}; skipping this one", _settings.BeeId, target, IntervalOf(target));
            return;
        }
        var startedAt = DateTime.UtcNow;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        _prober.ProbeAsync(target, _plans.TryGetValue(target, out var plan) ? plan.Round : _settings.Round, _stopping.Token)
            .PipeTo(Self,
                success: outcome => new RoundFinished(target, startedAt, started, outcome),
                failure: e => new RoundFinished(target, startedAt, started, ProbeOutcome.Failed(target, ProbeTarget.Parse(target)?.Kind ?? "unknown", $"probe failed: {e.Message}")));
    }

    private TimeSpan IntervalOf(string target) => _plans.TryGetValue(target, out var plan) ? plan.Interval : _settings.Interval;

    /// <summary>Each target's interval and round settings, from the first of the bee's lists that holds it.</summary>
    private Dictionary<string, (TimeSpan Interval, RoundSettings Round)> Plans()
    {
        var plans = new Dictionary<string, (TimeSpan, RoundSettings)>();
        foreach (var list in _settings.Lists.Where(_lists.ContainsKey).Select(l => _lists[l]))
        {
            var plan = ProbeSettingsCheck.Effective(list.Probe, _settings.Interval, _settings.Round);
            foreach (var target in list.Targets) plans.TryAdd(target, plan);
        }
        return plans;
    }

    private TimeSpan NextDue(TimeSpan interval, TimeSpan phase)
    {
        var sinceAnchor = Now - (_epoch + phase);
        var periods = Math.Max(0, Math.Ceiling(sinceAnchor / interval));
        var next = _epoch + phase + interval * periods - Now;
        return next < interval / 2 ? next + interval : next;
    }

    private void Finish(RoundFinished round)
    {
        _inFlight.Remove(round.Target);
        var duration = Math.Round(System.Diagnostics.Stopwatch.GetElapsedTime(round.Started).TotalMilliseconds, 3);
        // A family=both target's round is two results, IPv4's and IPv6's, each under its own family's target.
        for (var outcome = round.Outcome; outcome is not null; outcome = outcome.OtherFamily)
        {
            // Sequence 0: the outbox gives the number, from what its disk holds, so numbering survives any crash gaplessly.
            _results.Tell(outcome.ToResult(_settings.BeeId, 0, round.StartedAt, _settings.Location, _settings.Geo) with
            {
                Connection = _settings.Connection,
                DurationMs = duration,
            });
        }
    }

    private void SnapshotIfDue()
    {
        if (LastSequenceNr % SnapshotEvery == 0)
            SaveSnapshot(new BeeSnapshot(_lists.Values.ToList(), 0));
    }

    /// <summary>The union of all followed lists, in list order then target order, each target once.</summary>
    private List<string> Targets() =>
        _settings.Lists.Where(_lists.ContainsKey).SelectMany(l => _lists[l].Targets).Distinct().ToList();

    protected override void PreStart()
    {
        // Not ready until the journal gave the bee its duty back; a journal that fails stops the bee (restarted with backoff).
        _health.Problem(HealthPart, "recovering its duty from the journal");
        base.PreStart();
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _health.Problem(HealthPart, $"its journal failed at recovery ({reason.Message}); restarting with backoff");
        base.OnRecoveryFailure(reason, message);
    }

    protected override void PostStop()
    {
        _health.Problem(HealthPart, "stopped; no rounds are probed (it restarts with backoff)");
        _stopping.Cancel();
        base.PostStop();
    }

    private sealed record SyncLists
    {
        public static readonly SyncLists Instance = new();
    }

    private sealed record ProbeDue
    {
        public static readonly ProbeDue Instance = new();
    }

    private sealed record RoundFinished(string Target, DateTime StartedAt, long Started, ProbeOutcome Outcome);
}
