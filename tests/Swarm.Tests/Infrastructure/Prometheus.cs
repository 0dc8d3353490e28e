using System.Diagnostics;
using System.Text.Json;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// A real Prometheus (Debian's) on a free loopback port, scraping the given targets every second with a throwaway
/// configuration and storage; stopped by PID on dispose.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly TempDir _dir = new();
    private readonly HttpClient _http = new();
    private Process? _process;

    public int Port { get; } = Ports.Free();

    public static string Binary =>
        new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("prometheus is not installed: run ./test.sh (it installs it) or apt-get install prometheus");

    public static Task<PrometheusServer> StartAsync(params string[] targets) => StartAsync(null, targets);

    /// <summary>With <paramref name="rules"/>, a rules file's text, evaluated every second.</summary>
    public static Task<PrometheusServer> StartWithRulesAsync(string rules, params string[] targets) => StartAsync(rules, targets);

    private static async Task<PrometheusServer> StartAsync(string? rules, string[] targets)
    {
        var server = new PrometheusServer();
        var config = server._dir.File("prometheus.yml");
        if (rules is not null) await File.WriteAllTextAsync(server._dir.File("rules.yml"), rules);
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            {(rules is null ? "" : $"rule_files: ['{server._dir.File("rules.yml")}']")}
            scrape_configs:
              - job_name: swarm
                static_configs:
                  - targets: [{string.Join(", ", targets.Select(t => $"'{t}'"))}]

            """);
        server._process = FixtureProcess.Start(Binary,
        [
            $"--config.file={config}", $"--web.listen-address=127.0.0.1:{server.Port}",
            $"--storage.tsdb.path={server._dir.File("data")}", "--log.level=warn",
        ]);
        // Listening is not ready: queries answer 503 until the TSDB has opened.
        await Eventually.True(async () =>
        {
            try { return (await server._http.GetAsync($"http://127.0.0.1:{server.Port}/-/ready")).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(60), "Prometheus ready");
        return server;
    }

    /// <summary>An instant PromQL query through the HTTP API; returns each series' labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        var text = await _http.GetStringAsync($"http://127.0.0.1:{Port}/api/v1/query?query={Uri.EscapeDataString(promql)}");
        var root = JsonDocument.Parse(text).RootElement;
        if (root.GetProperty("status").GetString() != "success") throw new InvalidOperationException($"query {promql}: {text}");
        return root.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(r => ((IReadOnlyDictionary<string, string>)r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                double.Parse(r.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await FixtureProcess.StopAsync(_process);
        _http.Dispose();
        _dir.Dispose();
    }
}
