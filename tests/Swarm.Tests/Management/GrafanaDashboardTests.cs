using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Prometheus;
using Swarm.Metrics;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Management;

/// <summary>The Grafana dashboard we ship reads only metrics and labels the nodes expose.</summary>
public class GrafanaDashboardTests
{
    private static readonly JsonObject Dashboard = JsonNode.Parse(File.ReadAllText(Repo.File("deploy", "grafana", "swarm.json")))!.AsObject();

    /// <summary>Every metric family a node exposes, with its labels, read from a real export of <see cref="SwarmMetrics"/>.</summary>
    private static async Task<Dictionary<string, HashSet<string>>> Exposed()
    {
        var metrics = new SwarmMetrics(Prometheus.Metrics.NewCustomRegistry(), 10);
        metrics.Round(new Protocol.ProbeResult { Bee = "b", Seq = 1, Timestamp = DateTime.UtcNow, Target = "t", Kind = "icmp", Sent = 1, Received = 1, AvgMs = 1 });
        metrics.Outbox(1, 1, 1, 1);
        metrics.MqttConnected("node", true);
        metrics.Batch(1, TimeSpan.FromMilliseconds(1));
        metrics.Indexed(1, 1, 1, DateTime.UtcNow);
        metrics.DeadLetter();
        metrics.Cluster([("up", 1)], 0);
        metrics.BeeInfo("b", "edge", "wifi", "lab");
        metrics.Bees([("edge", "online", 1)]);
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream);
        var exposed = new Dictionary<string, HashSet<string>>();
        foreach (var line in System.Text.Encoding.UTF8.GetString(stream.ToArray()).Split('\n').Where(l => l.StartsWith("swarm_")))
        {
            var m = Regex.Match(line, @"^(\w+)(?:\{([^}]*)\})?");
            var labels = exposed.TryGetValue(m.Groups[1].Value, out var l) ? l : exposed[m.Groups[1].Value] = [];
            foreach (Match label in Regex.Matches(m.Groups[2].Value, @"(\w+)=")) labels.Add(label.Groups[1].Value);
        }
        return exposed;
    }

    private static IEnumerable<string> Expressions() =>
        Dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]?.AsArray() ?? []).Select(t => t!["expr"]!.GetValue<string>())
            .Concat(Dashboard["templating"]!["list"]!.AsArray().Select(v => v!["definition"]!.GetValue<string>()));

    [Fact]
    public async Task Every_query_reads_a_metric_the_nodes_expose_with_labels_they_carry()
    {
        var exposed = await Exposed();
        var expressions = Expressions().ToList();
        Assert.True(expressions.Count >= 10, "the dashboard has its panels");
        foreach (var expr in expressions)
        {
            foreach (Match use in Regex.Matches(expr, @"(swarm_\w+)(?:\{([^}]*)\})?"))
            {
                var name = use.Groups[1].Value;
                Assert.True(exposed.ContainsKey(name), $"'{expr}' reads {name}, which no node exposes");
                foreach (Match label in Regex.Matches(use.Groups[2].Value, @"(\w+)\s*(?:=~|!=|=)"))
                    Assert.Contains(label.Groups[1].Value, exposed[name]);
            }
            foreach (Match by in Regex.Matches(expr, @"by \(([^)]*)\) \((?:rate|increase)\((swarm_\w+)"))
                foreach (var label in by.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries).Where(l => l != "le"))
                    Assert.Contains(label, exposed[by.Groups[2].Value]);
        }
    }

    [Fact]
    public void The_dashboard_shows_latency_per_target_per_bee_loss_and_swarm_health_on_an_imported_datasource()
    {
        var titles = Dashboard["panels"]!.AsArray().Select(p => p!["title"]!.GetValue<string>()).ToList();
        Assert.Contains("RTT median per target and bee", titles);
        Assert.Contains("Loss per target and bee (latest round)", titles);
        Assert.Contains("Members up", titles);
        Assert.Equal("DS_PROMETHEUS", Dashboard["__inputs"]![0]!["name"]!.GetValue<string>());
        Assert.All(Dashboard["panels"]!.AsArray().Where(p => p!["type"]!.GetValue<string>() != "row"),
            p => Assert.Equal("${DS_PROMETHEUS}", p!["datasource"]!["uid"]!.GetValue<string>()));
        Assert.Equal(titles.Count, Dashboard["panels"]!.AsArray().Select(p => p!["id"]!.GetValue<int>()).Distinct().Count());
    }
}
