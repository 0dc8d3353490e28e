using System.Collections.Concurrent;
using Prometheus;
using Swarm.Protocol;

namespace Swarm.Metrics;

/// <summary>
/// Every metric a node exposes on <c>/metrics</c>, on a registry of its own (tests run several nodes in one process).
/// Per-target series are capped: past <see cref="MaxTargetSeries"/> distinct targets, the rest share the label
/// <c>target="_other"</c>, so a flood of targets cannot flood Prometheus.
/// </summary>
public sealed class SwarmMetrics
{
    /// <summary>The label that targets past the cap share.</summary>
    public const string OtherTargets = "_other";

    private readonly ConcurrentDictionary<string, byte> _targets = new();
    private readonly Histogram _rtt;
    private readonly Gauge _loss;
    private readonly Counter _rounds;
    private readonly Counter _echoesSent;
    private readonly Counter _echoesReceived;
    private readonly Gauge _outboxBacklog;
    private readonly Gauge _outboxBytes;
    private readonly Counter _outboxDropped;
    private readonly Counter _outboxDelivered;
    private readonly Gauge _mqttConnected;
    private readonly Histogram _batchSize;
    private readonly Histogram _batchSeconds;
    private readonly Gauge _indexerLag;
    private readonly Counter _indexed;
    private readonly Counter _deadLetters;
    private readonly Gauge _members;
    private readonly Gauge _unreachable;
    private readonly Gauge _bees;
    private readonly Gauge _beeInfo;
    private readonly Gauge _verdict;
    private readonly Gauge _verdictDegraded;
    private readonly Gauge _beeVerdict;
    private readonly Counter _verdictResults;
    private readonly Counter _alerts;
    private readonly Counter _webhook;

    /// <summary>Metrics on a registry nobody scrapes: for actors built without a node around them (tests, benchmarks).</summary>
    public static SwarmMetrics Unscraped => new(Prometheus.Metrics.NewCustomRegistry(), 1000);

    public SwarmMetrics(CollectorRegistry registry, int maxTargetSeries)
    {
        Registry = registry;
        MaxTargetSeries = maxTargetSeries;
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        _rtt = f.CreateHistogram("swarm_probe_rtt_seconds", "Average round-trip time of each probe round, by target and bee.",
            new HistogramConfiguration
            {
                LabelNames = ["target", "bee"],
                // 50 µs (loopback) to ~6.5 s (a far, congested path), doubling.
                Buckets = Histogram.ExponentialBuckets(0.00005, 2, 18),
            });
        _loss = f.CreateGauge("swarm_probe_loss_ratio", "Share of echoes lost in the latest round (0 to 1), by target and bee.", "target", "bee");
        _rounds = f.CreateCounter("swarm_probe_rounds_total", "Probe rounds run, by kind and outcome (up: answered, down: failed).", "kind", "status");
        _echoesSent = f.CreateCounter("swarm_probe_echoes_sent_total", "Echoes (or connects, or requests) sent.", "kind");
        _echoesReceived = f.CreateCounter("swarm_probe_echoes_received_total", "Echoes (or connects, or requests) answered.", "kind");
        _outboxBacklog = f.CreateGauge("swarm_outbox_backlog", "Results on disk not yet acknowledged by the broker.");
        _outboxBytes = f.CreateGauge("swarm_outbox_bytes", "Disk used by the outbox.");
        _outboxDropped = f.CreateCounter("swarm_outbox_dropped_total", "Results dropped because the outbox was full (oldest first).");
        _outboxDelivered = f.CreateCounter("swarm_outbox_delivered_total", "Results the broker acknowledged.");
        _mqttConnected = f.CreateGauge("swarm_mqtt_connected", "1 while the MQTT connection is up, by connection (node, indexer).", "connection");
        _batchSize = f.CreateHistogram("swarm_indexer_batch_documents", "Documents per _bulk request.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 12) });
        _batchSeconds = f.CreateHistogram("swarm_indexer_batch_seconds", "Duration of each _bulk request, answered or failed.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        _indexerLag = f.CreateGauge("swarm_indexer_lag_seconds", "Age of the latest result Elasticsearch stored, when it was stored.");
        _indexed = f.CreateCounter("swarm_indexer_documents_total",
            "Documents by outcome: stored, duplicate (already stored), retried, conflict (a second, different result under one bee and sequence).", "outcome");
        _deadLetters = f.CreateCounter("swarm_indexer_dead_letters_total", "Results refused for good, sent to indexer/dead-letters.");
        _members = f.CreateGauge("swarm_cluster_members", "Cluster members by status, as this node sees them.", "status");
        _unreachable = f.CreateGauge("swarm_cluster_unreachable_members", "Members this node's failure detector marks unreachable.");
        _bees = f.CreateGauge("swarm_bees",
            "Bees of the swarm as this node knows them, by kind (cluster, edge, legacy) and status (online, offline, dead).", "kind", "status");
        _beeInfo = f.CreateGauge("swarm_bee_info",
            "1 for this node's bee, with its kind, connection type and location: join on bee to split other series by them.",
            "bee", "kind", "connection", "location");
        _verdict = f.CreateGauge("swarm_verdict",
            "1 for each target's current verdict (ok, everyone, some-places, one-path), as this node heard it on verdict/#.", "target", "verdict");
        _verdictDegraded = f.CreateGauge("swarm_verdict_degraded_bees", "Bees that see the target degraded, of those whose view counts.", "target");
        _beeVerdict = f.CreateGauge("swarm_bee_verdict", "1 for each bee's current link verdict (ok, one-bee), as this node heard it on verdict/bee/#.",
            "bee", "verdict");
        _verdictResults = f.CreateCounter("swarm_verdict_results_total",
            "Results the verdict feed took, by outcome: judged, stale (a replayed backlog, older than Swarm:Verdict:StaleAfter), invalid.", "outcome");
        _alerts = f.CreateCounter("swarm_alerts_total", "Alerts raised and cleared by the verdict entities this node hosts.", "about", "state");
        _webhook = f.CreateCounter("swarm_alert_webhook_total",
            "Alert deliveries to Swarm:Alerts:Webhook by outcome: delivered, retried, refused (a 4xx answer), dropped (gave up or queue full).", "outcome");
    }

    public CollectorRegistry Registry { get; }

    public int MaxTargetSeries { get; }

    /// <summary>Runs before every scrape: for values read from elsewhere (cluster state, connection flags).</summary>
    public void BeforeScrape(Action update) => Registry.AddBeforeCollectCallback(update);

    public void Round(ProbeResult r)
    {
        var target = TargetLabel(r.Target);
        if (r.AvgMs is { } avg) _rtt.WithLabels(target, r.Bee).Observe(avg / 1000);
        _loss.WithLabels(target, r.Bee).Set(r.LossPercent / 100);
        _rounds.WithLabels(r.Kind, r.Received > 0 && r.Error is null ? "up" : "down").Inc();
        _echoesSent.WithLabels(r.Kind).Inc(r.Sent);
        _echoesReceived.WithLabels(r.Kind).Inc(r.Received);
    }

    public void Outbox(int backlog, long bytes, long delivered, long dropped)
    {
        _outboxBacklog.Set(backlog);
        _outboxBytes.Set(bytes);
        _outboxDelivered.IncTo(delivered);
        _outboxDropped.IncTo(dropped);
    }

    public void MqttConnected(string connection, bool connected) => _mqttConnected.WithLabels(connection).Set(connected ? 1 : 0);

    public void Batch(int documents, TimeSpan took)
    {
        _batchSize.Observe(documents);
        _batchSeconds.Observe(took.TotalSeconds);
    }

    public void Indexed(int stored, int duplicates, int retried, DateTime? newest)
    {
        if (stored > 0) _indexed.WithLabels("stored").Inc(stored);
        if (duplicates > 0) _indexed.WithLabels("duplicate").Inc(duplicates);
        if (retried > 0) _indexed.WithLabels("retried").Inc(retried);
        if (newest is { } ts) _indexerLag.Set(Math.Max(0, (DateTime.UtcNow - ts.ToUniversalTime()).TotalSeconds));
    }

    public void DeadLetter() => _deadLetters.Inc();

    public void Conflict() => _indexed.WithLabels("conflict").Inc();

    public void Cluster(IEnumerable<(string Status, int Count)> members, int unreachable)
    {
        foreach (var status in MemberStatuses) _members.WithLabels(status).Set(0);
        foreach (var (status, count) in members) _members.WithLabels(status).Set(count);
        _unreachable.Set(unreachable);
    }

    /// <summary>Who this node's bee is: its kind, link and place, for queries that split by them.</summary>
    public void BeeInfo(string bee, string kind, string? connection, string? location) =>
        _beeInfo.WithLabels(bee, kind, connection ?? "unknown", location ?? "").Set(1);

    /// <summary>The bees of the swarm by kind and status; a pair not given is set to 0.</summary>
    public void Bees(IEnumerable<(string Kind, string Status, int Count)> bees)
    {
        foreach (var kind in BeeKindNames)
            foreach (var status in BeeStatuses) _bees.WithLabels(kind, status).Set(0);
        foreach (var (kind, status, count) in bees) _bees.WithLabels(kind, status).Inc(count);
    }

    /// <summary>The verdicts as heard on <c>verdict/#</c>: one series per target (capped like every per-target series) and per bee.</summary>
    public void Verdicts(IEnumerable<TargetVerdict> targets, IEnumerable<BeeVerdict> bees)
    {
        // A target whose verdict changed must not keep its old series at 1.
        foreach (var gauge in new[] { _verdict, _verdictDegraded, _beeVerdict })
            foreach (var labels in gauge.GetAllLabelValues().ToList()) gauge.RemoveLabelled(labels);
        foreach (var v in targets)
        {
            var target = TargetLabel(v.Target);
            _verdict.WithLabels(target, v.Verdict).Inc();
            _verdictDegraded.WithLabels(target).Inc(v.Degraded);
        }
        foreach (var b in bees) _beeVerdict.WithLabels(b.Bee, b.Verdict).Set(1);
    }

    public void VerdictResult(string outcome) => _verdictResults.WithLabels(outcome).Inc();

    public void AlertEvent(string about, string state) => _alerts.WithLabels(about, state).Inc();

    public void Webhook(string outcome) => _webhook.WithLabels(outcome).Inc();

    private static readonly string[] BeeKindNames = [BeeKinds.Cluster, BeeKinds.Edge, BeeKinds.Legacy];
    private static readonly string[] BeeStatuses = ["online", "offline", "dead"];

    private static readonly string[] MemberStatuses = ["joining", "weaklyup", "up", "leaving", "exiting", "down", "removed"];

    /// <summary>The target's own name while fewer than the cap have been seen, <see cref="OtherTargets"/> after.</summary>
    public string TargetLabel(string target)
    {
        if (_targets.ContainsKey(target)) return target;
        if (_targets.Count >= MaxTargetSeries) return OtherTargets;
        _targets.TryAdd(target, 0);
        return target;
    }
}
