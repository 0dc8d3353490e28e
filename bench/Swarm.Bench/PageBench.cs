using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Tests.Infrastructure;
using Swarm.Verdicts;

namespace Swarm.Bench;

/// <summary>
/// The live page at 1,000 targets × 100 bees (generated verdicts, retained on mosquitto, heard by a queen process):
/// load to matrix drawn, and the render time of each frame while verdicts change, in headless Chromium. And the
/// round history's memory at 1,000 and 10,000 series of 1,080 rounds.
/// </summary>
public static class PageBench
{
    private const int Targets = 1000;
    private const int Bees = 100;
    private const int Updates = 300;

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        var rows = new List<Row>
        {
            History(1_000),
            History(10_000),
        };
        if (Chromium.Binary is null)
        {
            Console.Error.WriteLine("page: chromium is not installed (apt-get install chromium); skipped");
            return rows;
        }
        rows.AddRange(await PageAsync());
        return rows;
    }

    private static Row History(int series)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalMemory(true);
        var history = new RoundHistory(series, 1080);
        var now = DateTime.UtcNow;
        for (var round = 0; round < 1080; round++)
            for (var s = 0; s < series; s++)
                history.Add(new ProbeResult
                {
                    Bee = $"bee-{s % 100}", Seq = round + 1, Timestamp = now.AddSeconds(round * 10), Target = $"t{s / 100}.example", Kind = "icmp",
                    Sent = 5, Received = 5, MedianMs = 10, MinMs = 9, MaxMs = 12, P95Ms = 11.5,
                });
        var after = GC.GetTotalMemory(true);
        GC.KeepAlive(history);
        var mib = (after - before) / 1024.0 / 1024.0;
        return new($"round history, {series:N0} series × 1,080 rounds: managed memory (MiB)", Tools.F(mib, "0"), "—",
            series == 10_000 ? "< 256 MiB" : "—");
    }

    private static async Task<IEnumerable<Row>> PageAsync()
    {
        Console.Error.WriteLine($"page: {Targets} targets × {Bees} bees, queen process + mosquitto + headless chromium");
        var dir = Directory.CreateTempSubdirectory("swarm-bench-page-").FullName;
        var processes = new List<Process>();
        try
        {
            var mqttPort = Tools.FreePort();
            processes.Add(Tools.Mosquitto(dir, mqttPort));
            using var client = await Tools.MqttClientAsync(mqttPort);
            var random = new Random(7);
            var bees = Enumerable.Range(0, Bees).Select(b => $"bee-{b:000}").ToArray();
            string[] states = ["ok", "ok", "ok", "ok", "ok", "ok", "slow", "lossy", "down"];
            byte[] Verdict(int t) => JsonSerializer.SerializeToUtf8Bytes(new TargetVerdict($"t{t:0000}.example", t % 10 == 0 ? "some-places" : "ok", $"t{t:0000}.example: words")
            {
                Since = DateTime.UtcNow,
                At = DateTime.UtcNow,
                Judged = Bees,
                Bees = bees.Select(b => new PairView(b, states[random.Next(states.Length)]) { Loss = 1, RttMs = 10, BaselineMs = 9 }).ToList(),
            }, SwarmJson.Wire.TargetVerdict);
            async Task Publish(int t) => await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"verdict/t{t:0000}.example")
                .WithPayload(Verdict(t)).WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            for (var t = 0; t < Targets; t++) await Publish(t);

            var port = Tools.FreePort();
            processes.Add(Tools.Start("dotnet", [Tools.Binary("Swarm.Node")], new()
            {
                ["Swarm__Roles"] = "queen",
                ["Swarm__Bee__Id"] = "queen-1",
                ["Swarm__DataDir"] = Path.Combine(dir, "queen"),
                ["Swarm__Mqtt__Brokers__0"] = $"mqtt://127.0.0.1:{mqttPort}",
                ["Swarm__Management__Url"] = $"http://127.0.0.1:{port}",
            }));
            using var http = new HttpClient();
            await Tools.Until(async () =>
            {
                try { return (await http.GetStringAsync($"http://127.0.0.1:{port}/api/verdicts")).Split("\"target\"").Length > Targets; }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromSeconds(90), "the queen's board holds every generated verdict");

            await using var browser = await Chromium.StartAsync();
            var loads = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                await browser.NavigateAsync($"http://127.0.0.1:{port}/");
                await Eventually.True(async () => (await browser.EvaluateAsync("window.swarmStats.loaded")).ValueKind == JsonValueKind.True, TimeSpan.FromSeconds(60), "the page loaded");
                loads.Add((await browser.EvaluateAsync("window.swarmStats.loadedAt")).GetDouble());
            }
            var cells = (await browser.EvaluateAsync("document.querySelectorAll('#matrix-rows .cell').length")).GetInt32();
            // Verdicts change, 50 a second, over targets in view and out of it; each frame's render time is kept by the page.
            await browser.EvaluateAsync("window.swarmStats.renders = []; window.swarmStats.events = 0");
            for (var u = 0; u < Updates; u++)
            {
                await Publish(random.Next(Targets / 10) * (u % 2 == 0 ? 1 : 10) % Targets);
                await Task.Delay(20);
            }
            await Eventually.True(async () => (await browser.EvaluateAsync("window.swarmStats.events")).GetInt32() >= Updates, TimeSpan.FromSeconds(30), "every update received");
            var renders = (await browser.EvaluateAsync("window.swarmStats.renders")).EnumerateArray().Select(e => e.GetDouble()).ToList();
            return
            [
                new($"live page, {Targets} targets × {Bees} bees: navigation → matrix drawn, median of 5 (ms); cells in the DOM",
                    $"{Tools.F(Tools.Median(loads), "0")}; {cells:N0} of {Targets * Bees:N0}", "—", "usable"),
                new($"live page, {Updates} verdict changes at 50/s: frames rendered, render time per frame median / p99 (ms)",
                    $"{renders.Count}: {Tools.F(Tools.Median(renders), "0.00")} / {Tools.F(Tools.Percentile(renders, 0.99), "0.00")}", "—", "< 16 ms (a frame)"),
            ];
        }
        finally
        {
            foreach (var p in processes) { try { p.Kill(entireProcessTree: true); p.WaitForExit(); } catch (InvalidOperationException) { } }
            Directory.Delete(dir, true);
        }
    }
}
