using System.Diagnostics;
using System.Net;
using Swarm.Probing;

// Quick probe-rate check; grows into the full harness.
var targets = Enumerable.Range(1, 200).Select(i => $"127.0.{i / 250}.{i % 250 + 1}").ToArray();
var count = args.Length > 0 ? int.Parse(args[0]) : 100;
using var engine = IcmpEngine.Open(ProbeLimits.Unlimited);
var prober = new IcmpProber(engine);
var settings = new RoundSettings(count, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));
await Task.WhenAll(targets.Take(10).Select(t => prober.ProbeAsync(t, settings with { Count = 5 }, default))); // warm-up
for (var run = 0; run < 3; run++)
{
    var sw = Stopwatch.StartNew();
    var outcomes = await Task.WhenAll(targets.Select(t => prober.ProbeAsync(t, settings, default)));
    sw.Stop();
    var received = outcomes.Sum(o => o.Stats.Received);
    Console.WriteLine($"{targets.Length * count} echoes, {received} replies in {sw.Elapsed.TotalSeconds:0.000}s = {received / sw.Elapsed.TotalSeconds:0} /s; median avg rtt {outcomes.Select(o => o.Stats.AvgMs ?? 0).Order().ElementAt(100):0.000} ms");
}
