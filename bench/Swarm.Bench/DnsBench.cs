using System.Diagnostics;
using System.Globalization;
using System.Net;
using Swarm.Probing;
using Swarm.Tests.Infrastructure;

namespace Swarm.Bench;

/// <summary>
/// DNS probes per second against a local resolver (dnsmasq on loopback), beside dnsperf and a loop of dig against the
/// same server: Swarm's whole probe path (target parsed, budget, fresh socket and id per question, reply checked).
/// </summary>
public static class DnsBench
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly string[] Questions = ["www.swarm.test A", "alias.swarm.test A", "swarm.test MX", "www.swarm.test AAAA"];

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        await using var dns = await Dnsmasq.StartAsync();
        var targets = Questions.Select(q => q.Split(' ')).Select(q => $"dns://127.0.0.1:{dns.Port}/{q[0]}?type={q[1]}").ToArray();
        var rows = new List<Row>();
        foreach (var workers in new[] { 1, 32 })
        {
            var (rate, median) = await SwarmRateAsync(targets, workers);
            var reference = workers == 1 ? DigLoop(dns.Port) : DnsPerf(dns.Port, workers);
            rows.Add(new Row($"DNS questions answered per second, {workers} in flight (dnsmasq on loopback, {Duration.TotalSeconds:0} s)",
                $"{rate:N0}/s (median {median:0.000} ms)", reference, "—"));
        }
        return rows;
    }

    /// <summary>Rounds of one question each, <paramref name="workers"/> at a time, for <see cref="Duration"/>.</summary>
    private static async Task<(double Rate, double MedianMs)> SwarmRateAsync(string[] targets, int workers)
    {
        // The bee's budget is lifted here to find the probe path's own ceiling; a bee holds it to Swarm:Probe:MaxPerSecond.
        var prober = new DnsProber(new ProbePacer(ProbeLimits.Unlimited), new AddressPolicy([IPNetwork.Parse("127.0.0.0/8")], []));
        var round = new RoundSettings(1, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        var rtts = new List<double>();
        var failures = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            for (var i = w; clock.Elapsed < Duration; i++)
            {
                var outcome = await prober.ProbeAsync(targets[i % targets.Length], round, default);
                lock (rtts)
                {
                    if (outcome.Error is null && outcome.Stats.MedianMs is { } ms) rtts.Add(ms);
                    else failures++;
                }
            }
        }));
        if (failures > 0) Console.Error.WriteLine($"dns bench: {failures} rounds failed");
        return (rtts.Count / clock.Elapsed.TotalSeconds, Tools.Median(rtts));
    }

    /// <summary>dig, one process per question, in a loop: what a shell script watching DNS does.</summary>
    private static string DigLoop(int port)
    {
        var clock = Stopwatch.StartNew();
        var answered = 0;
        for (var i = 0; clock.Elapsed < Duration; i++)
        {
            var q = Questions[i % Questions.Length].Split(' ');
            if (Tools.Run("dig", ["@127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), q[0], q[1], "+short", "+tries=1", "+time=2"]).Exit == 0) answered++;
        }
        return $"{answered / clock.Elapsed.TotalSeconds:N0}/s (a dig loop)";
    }

    /// <summary>dnsperf with <paramref name="inFlight"/> questions outstanding, over the same questions.</summary>
    private static string DnsPerf(int port, int inFlight)
    {
        var file = Path.GetTempFileName();
        File.WriteAllLines(file, Questions);
        try
        {
            var run = Tools.Run("dnsperf", ["-s", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-d", file, "-l", Duration.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                "-q", inFlight.ToString(CultureInfo.InvariantCulture)]);
            var qps = run.Output.Split('\n').FirstOrDefault(l => l.Contains("Queries per second:"))?.Split(':')[1].Trim();
            var latency = run.Output.Split('\n').FirstOrDefault(l => l.Contains("Average Latency"))?.Split(':')[1].Trim();
            // dnsperf says seconds: "Average Latency (s): 0.000262 (min 0.000016, max 0.005664)".
            var averageMs = latency is null ? "?" : (double.Parse(latency.Split(' ')[0], CultureInfo.InvariantCulture) * 1000).ToString("0.000", CultureInfo.InvariantCulture);
            return qps is null ? $"dnsperf failed: {run.Error.Trim()}" : $"{double.Parse(qps, CultureInfo.InvariantCulture):N0}/s (dnsperf; average {averageMs} ms)";
        }
        finally
        {
            File.Delete(file);
        }
    }
}
