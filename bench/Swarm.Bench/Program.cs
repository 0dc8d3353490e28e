using Swarm.Bench;

// dotnet run -c Release --project bench/Swarm.Bench -- [rate|rtt|memory|watch|edge|edge-memory|indexer|outbox|verdict|page|dns|path|all] | outage [minutes]
//   | cluster [nodes] | load [--bees N] [--targets N] [--interval 10s] [--duration 2m] [--indexers N] [--brokers N] [--churn F] [--garbage F]
// Needs root (raw ICMP, network namespaces) and fping (apt-get install fping). Prints a Markdown table.
// SWARM_BENCH_MOSQUITTO=/path/to/mosquitto runs the benches on another broker build than Debian's /usr/sbin/mosquitto.
var scenario = args.FirstOrDefault() ?? "all";
if (scenario == BeeMemory.WorkerVerb) return await BeeMemory.RunWorkerAsync(int.Parse(args[1]), TimeSpan.FromSeconds(int.Parse(args[2])));
if (scenario == PathBench.WorkerVerb) return await PathBench.RunWorkerAsync(args[1..]);

var rows = new List<Row>();
if (scenario is "rate" or "all") rows.AddRange(await ProbeRate.RunAsync());
if (scenario is "rtt" or "all") rows.AddRange(await VethRtt.RunAsync());
if (scenario is "memory" or "all") rows.AddRange(await BeeMemory.RunAsync());
if (scenario is "watch" or "all") rows.AddRange(await WatchLatency.RunAsync());
if (scenario is "edge" or "all") rows.AddRange(await EdgeBench.RunAsync());
if (scenario is "edge-memory") rows.AddRange(await EdgeBench.MemoryAsync());
if (scenario is "indexer" or "all") rows.AddRange(await IndexerThroughput.RunAsync());
if (scenario is "verdict" or "all") rows.AddRange(await VerdictBench.RunAsync());
if (scenario is "page" or "all") rows.AddRange(await PageBench.RunAsync());
if (scenario is "dns" or "all") rows.AddRange(await DnsBench.RunAsync());
if (scenario is "path" or "all") rows.AddRange(await PathBench.RunAsync());
if (scenario is "outbox" or "all") rows.AddRange(await OutboxStores.RunAsync());
if (scenario is "cluster") rows.AddRange(await WatchLatency.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 10, cluster: true));
if (scenario is "load") rows.AddRange(await Load.RunAsync(Load.Options.Parse(args[1..])));
if (scenario is "outage") rows.AddRange(await Outage.RunAsync(args.Length > 1 ? double.Parse(args[1]) : 10));

Console.WriteLine();
Console.WriteLine($"Swarm bench, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {Tools.FpingVersion()}, broker {Tools.MosquittoBinary}");
Console.WriteLine();
Console.WriteLine("| measure | Swarm | fping | goal |");
Console.WriteLine("| --- | --- | --- | --- |");
foreach (var row in rows) Console.WriteLine($"| {row.Measure} | {row.Swarm} | {row.Reference} | {row.Goal} |");
return 0;

namespace Swarm.Bench
{
    public sealed record Row(string Measure, string Swarm, string Reference, string Goal);
}
