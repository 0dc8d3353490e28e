using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Management;

/// <summary>A real Prometheus scrapes a running node's <c>/metrics</c>; PromQL through its HTTP API sees the node's RTT series.</summary>
public sealed class PrometheusTests : IAsyncLifetime
{
    private readonly TempDir _data = new();
    private readonly int _port = Ports.Free();
    private NodeProcess _node = null!;
    private PrometheusServer _prometheus = null!;

    public async Task InitializeAsync()
    {
        _node = NodeProcess.Start(new Dictionary<string, string>
        {
            ["Swarm__DataDir"] = _data.Path,
            ["Swarm__Bee__Id"] = "prom-bee",
            ["Swarm__Mqtt__EmbeddedPort"] = Ports.Free().ToString(),
            ["Swarm__Management__Url"] = $"http://127.0.0.1:{_port}",
            ["Swarm__Targets__Default"] = "127.0.0.1 ::1 127.0.0.3 127.0.0.4",
            ["Swarm__Metrics__MaxTargetSeries"] = "3",
            ["Swarm__Probe__Interval"] = "1s",
            ["Swarm__Probe__Count"] = "2",
            ["Swarm__Probe__Spacing"] = "50ms",
            ["Swarm__Probe__Timeout"] = "500ms",
        });
        _prometheus = await PrometheusServer.StartAsync($"127.0.0.1:{_port}");
    }

    [Fact]
    public async Task Prometheus_scrapes_rtt_per_target_and_bee_with_per_target_series_capped()
    {
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> series = [];
        await Eventually.True(async () =>
        {
            series = await _prometheus.QueryAsync("sum by (target, bee) (swarm_probe_rtt_seconds_count)");
            return series.Count == 4;
        }, TimeSpan.FromSeconds(90), $"RTT series for 4 target labels in Prometheus; node said:\n{_node.Output}");

        // Three targets get series of their own (the cap), the fourth shares "_other"; every series is this bee's.
        Assert.All(series, s => Assert.Equal("prom-bee", s.Labels["bee"]));
        Assert.Contains(series, s => s.Labels["target"] == "_other");
        Assert.Equal(3, series.Count(s => s.Labels["target"] is "127.0.0.1" or "::1" or "127.0.0.3" or "127.0.0.4"));
        Assert.All(series, s => Assert.True(s.Value >= 1));

        // Loopback answers in well under 100 ms: the histogram's median says so.
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> median = [];
        await Eventually.True(async () =>
        {
            median = await _prometheus.QueryAsync("histogram_quantile(0.5, sum by (le) (rate(swarm_probe_rtt_seconds_bucket[30s])))");
            return median.Count == 1 && !double.IsNaN(median[0].Value);
        }, TimeSpan.FromSeconds(30), "a rate over two scrapes");
        Assert.InRange(median.Single().Value, 0, 0.1);

        // The node's own health: one member up, its MQTT connection up.
        Assert.Equal(1, (await _prometheus.QueryAsync("swarm_cluster_members{status=\"up\"}")).Single().Value);
        Assert.Equal(1, (await _prometheus.QueryAsync("swarm_mqtt_connected{connection=\"node\"}")).Single().Value);
    }

    public async Task DisposeAsync()
    {
        await _prometheus.DisposeAsync();
        await _node.DisposeAsync();
        _data.Dispose();
    }
}
