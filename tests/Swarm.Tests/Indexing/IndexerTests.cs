using System.Text.Json;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Indexing;

/// <summary>The indexer as a node runs it: real mosquitto, results from MQTT into an Elasticsearch stand-in.</summary>
public sealed class IndexerTests : IAsyncLifetime
{
    private Mosquitto _broker = null!;
    private FakeElasticsearch _es = null!;
    private SwarmHost _node = null!;
    private MqttCollector _client = null!;

    public async Task InitializeAsync()
    {
        _broker = await Mosquitto.StartAsync();
        _es = new FakeElasticsearch();
        _client = await MqttCollector.ConnectAsync(_broker.Port, "indexer/dead-letters");
        _node = await SwarmHost.StartAsync(
            ("Swarm:Roles", "indexer"),
            ("Swarm:Bee:Id", "indexer-1"),
            ("Swarm:Mqtt:Brokers:0", _broker.Url),
            ("Swarm:Elasticsearch:Urls:0", _es.Url.ToString()),
            ("Swarm:Elasticsearch:DataStream", "swarm-test"));
        await Eventually.True(() => _es.Templates.ContainsKey("swarm-test"), TimeSpan.FromSeconds(20), "the index template installed");
        // Ready, as /health/ready says it: the broker holds the indexer's subscription, so nothing published is lost.
        await Eventually.True(() => _node.Health.Problems.Count == 0, TimeSpan.FromSeconds(30), () => string.Join("; ", _node.Health.Problems));
    }

    private static byte[] Result(long seq) => JsonSerializer.SerializeToUtf8Bytes(new ProbeResult
    {
        Bee = "pub", Seq = seq, Timestamp = DateTime.UtcNow, Target = $"127.0.{seq % 250}.1", Kind = "icmp", Address = $"127.0.{seq % 250}.1",
        Sent = 5, Received = 5, AvgMs = 0.1, MinMs = 0.05, MaxMs = 0.2,
    }, SwarmJson.Wire.ProbeResult);

    private async Task Publish(long from, long to)
    {
        for (var seq = from; seq <= to; seq++) await _client.PublishAsync($"ping/127.0.{seq % 250}.1", Result(seq));
    }

    [Fact]
    public async Task Ten_thousand_results_are_stored_exactly_once_through_a_30_s_elasticsearch_outage()
    {
        await Publish(1, 5000);
        await Eventually.True(() => _es.Documents.Count >= 1000, TimeSpan.FromSeconds(30), "indexing under way");

        await _es.PauseAsync();
        await Publish(5001, 10_000);
        await Task.Delay(TimeSpan.FromSeconds(30)); // the outage itself, not a wait for a condition
        _es.Resume();
        var bulksAtResume = _es.BulkRequests;

        // Said on failure: whether the indexer asked again after the outage (a stall of its own) or was not answered.
        await Eventually.True(() => _es.Documents.Count == 10_000, TimeSpan.FromSeconds(90),
            () => $"all 10,000 stored (now {_es.Documents.Count}; _bulk requests since the resume: {_es.BulkRequests - bulksAtResume})");
        Assert.Equal(Enumerable.Range(1, 10_000).Select(i => $"pub-{i}").Order(), _es.Results.Keys.Order());
        var sample = _es.Results["pub-4242"];
        Assert.Equal("icmp", sample["monitor"]!["type"]!.GetValue<string>());
        Assert.Equal(4242, sample["swarm"]!["seq"]!.GetValue<long>());
    }

    [Fact]
    public async Task Verdicts_and_alerts_are_indexed_beside_the_results_once_each_and_a_forged_one_is_dead_lettered()
    {
        var at = new DateTime(2026, 12, 1, 10, 42, 0, DateTimeKind.Utc);
        var verdict = new TargetVerdict("free.fr", "everyone", "free.fr: lossy for everyone (2 of 2 bees) since 10:42 UTC")
        {
            Since = at, At = at, Judged = 2, Degraded = 2, Bees = [new PairView("b1", "lossy"), new PairView("b2", "lossy"), new PairView("c", "lossy") { OwnLink = true }],
        };
        var alert = new Alert("free.fr", Alert.AboutTarget, Alert.Raised, "everyone", verdict.Text) { Since = at, At = at.AddSeconds(30), Id = "target:free.fr:raised:1" };
        var verdictBytes = JsonSerializer.SerializeToUtf8Bytes(verdict, SwarmJson.Wire.TargetVerdict);
        await _client.PublishAsync("verdict/free.fr", verdictBytes, retain: true);
        await _client.PublishAsync("verdict/free.fr", verdictBytes, retain: true); // the same verdict again (a retained copy): one document
        await _client.PublishAsync("alert/free.fr", JsonSerializer.SerializeToUtf8Bytes(alert, SwarmJson.Wire.Alert));
        await _client.PublishAsync("alert/yahoo.fr", JsonSerializer.SerializeToUtf8Bytes(alert, SwarmJson.Wire.Alert)); // its topic names another subject

        await Eventually.True(() => _es.Documents.Count == 2, TimeSpan.FromSeconds(30), "the verdict and the alert stored");
        var stored = _es.Documents.Values.ToDictionary(d => d["event"]!["dataset"]!.GetValue<string>());
        var v = stored["swarm.verdict"]["swarm"]!["verdict"]!;
        Assert.Equal(("free.fr", "everyone", 2), (v["subject"]!.GetValue<string>(), v["kind"]!.GetValue<string>(), v["degraded"]!.GetValue<int>()));
        Assert.Equal(["b1", "b2"], v["degraded_names"]!.AsArray().Select(n => n!.GetValue<string>())); // c's own link: not counted
        Assert.Equal("state", stored["swarm.verdict"]["event"]!["kind"]!.GetValue<string>());
        var a = stored["swarm.alert"];
        Assert.Equal(("alert", "raised"), (a["event"]!["kind"]!.GetValue<string>(), a["event"]!["action"]!.GetValue<string>()));
        Assert.Equal("target:free.fr:raised:1", a["swarm"]!["alert"]!["id"]!.GetValue<string>());
        var forged = await _client.WaitForAsync((t, j) => t == "indexer/dead-letters" && j.GetProperty("topic").GetString() == "alert/yahoo.fr",
            TimeSpan.FromSeconds(10), "the forged alert's dead letter");
        Assert.StartsWith("not an alert for yahoo.fr", forged.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Refused_documents_and_garbage_go_to_dead_letters_and_rejected_429_items_are_retried()
    {
        _es.FailItemOnce("pub-2", 400);
        _es.FailItemOnce("pub-3", 429);

        await Publish(1, 5);
        await _client.PublishAsync("ping/junk", "this is not a result");

        await Eventually.True(() => _es.Documents.Count == 4, TimeSpan.FromSeconds(30), "four of five stored");
        Assert.Equal(["pub-1", "pub-3", "pub-4", "pub-5"], _es.Results.Keys.Order());
        var refused = await _client.WaitForAsync((t, j) => t == "indexer/dead-letters" && j.GetProperty("id").GetString()?.StartsWith("pub-2-") == true,
            TimeSpan.FromSeconds(10), "the refused document's dead letter");
        Assert.Contains("document_parsing_exception", refused.GetProperty("reason").GetString());
        var junk = await _client.WaitForAsync((t, j) => t == "indexer/dead-letters" && j.GetProperty("topic").GetString() == "ping/junk",
            TimeSpan.FromSeconds(10), "the garbage's dead letter");
        Assert.StartsWith("not a Swarm result", junk.GetProperty("reason").GetString());
        Assert.Equal("this is not a result", junk.GetProperty("payload").GetString());
    }

    public async Task DisposeAsync()
    {
        if (_node is not null) await _node.DisposeAsync();
        if (_client is not null) await _client.DisposeAsync();
        if (_es is not null) await _es.DisposeAsync();
        if (_broker is not null) await _broker.DisposeAsync();
    }
}

/// <summary>The indexer as a process: killed with SIGKILL mid-stream and restarted.</summary>
public sealed class IndexerProcessTests : IAsyncLifetime
{
    private readonly TempDir _data = new();
    private readonly List<IAsyncDisposable> _resources = [];

    [Fact]
    public async Task An_indexer_killed_mid_batch_and_restarted_stores_every_result_exactly_once()
    {
        var broker = await Mosquitto.StartAsync();
        _resources.Add(broker);
        var es = new FakeElasticsearch();
        _resources.Add(es);
        var publisher = await MqttCollector.ConnectAsync(broker.Port);
        _resources.Add(publisher);
        var env = new Dictionary<string, string>
        {
            ["Swarm__Roles"] = "indexer",
            ["Swarm__Bee__Id"] = "indexer-p",
            ["Swarm__DataDir"] = _data.Path,
            ["Swarm__Management__Url"] = $"http://127.0.0.1:{Ports.Free()}",
            ["Swarm__Mqtt__Brokers__0"] = broker.Url,
            ["Swarm__Elasticsearch__Urls__0"] = es.Url.ToString(),
        };
        var indexer = NodeProcess.Start(env);
        _resources.Add(indexer);
        await Eventually.True(() => es.Templates.Count == 1, TimeSpan.FromSeconds(30), "the indexer set up");

        for (var seq = 1; seq <= 5000; seq++)
        {
            await publisher.PublishAsync($"ping/127.0.0.{seq % 200 + 1}", JsonSerializer.SerializeToUtf8Bytes(new ProbeResult
            {
                Bee = "pub", Seq = seq, Timestamp = DateTime.UtcNow, Target = $"127.0.0.{seq % 200 + 1}", Kind = "icmp", Sent = 1, Received = 1,
            }, SwarmJson.Wire.ProbeResult));
            if (seq == 2500) await Eventually.True(() => es.Documents.Count > 0, TimeSpan.FromSeconds(30), "indexing under way");
            if (seq == 3000) await indexer.KillAsync(); // mid-stream, with a batch likely in flight
        }
        var restarted = NodeProcess.Start(env);
        _resources.Add(restarted);

        await Eventually.True(() => es.Documents.Count == 5000, TimeSpan.FromSeconds(90), $"all 5,000 stored (now {es.Documents.Count})");
        Assert.Equal(Enumerable.Range(1, 5000).Select(i => $"pub-{i}").Order(), es.Results.Keys.Order());
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var r in Enumerable.Reverse(_resources)) await r.DisposeAsync();
        _data.Dispose();
    }
}
