using System.Text.Json;
using Akka.Actor;
using MQTTnet;
using Akka.Configuration;
using Swarm.Bees;
using Swarm.Hosting;
using Swarm.Probing;
using Swarm.Protocol;

namespace Swarm.Bench;

/// <summary>RSS of a real bee (actor, journal, ICMP engine) holding 10,000 targets at a 60 s interval, in a process of its own.</summary>
public static class BeeMemory
{
    public const string WorkerVerb = "bee-memory-worker";
    private const int Targets = 10_000;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(75);

    public static async Task<IEnumerable<Row>> RunAsync()
    {
        var idle = await MeasureAsync(0, TimeSpan.FromSeconds(20));
        var full = await MeasureAsync(Targets, Duration);
        var perTarget = (full.Steady - idle.Steady) / Targets; // KiB
        var native = await NativeAsync();
        // The reference column is the figure measured before the lighter node (issue #13: 159 and 122 MiB), same method.
        return
        [
            new($"RSS of a bee with {Targets:#,0} targets, 60 s interval (MiB, steady / peak)", $"{full.Steady / 1024:0} / {full.Peak / 1024.0:0}", "159 (before)", "< 100"),
            new("RSS of the same bee with no targets (MiB)", $"{idle.Steady / 1024:0}", "122 (before)", $"< 80; ≈ {perTarget:0.0} KiB per target"),
            new($"results in the {Targets:#,0}-target run; heap at its end", full.Report, "—", $"{Targets:#,0} per interval"),
            new($"native edge bee (a whole node: bee, journal, outbox, MQTT, HTTP), {Targets:#,0} targets at 60 s (MiB; reference: the .dll bee above)",
                native.Full, $"{full.Steady / 1024:0}", "< 100"),
            new("native edge bee, no targets (MiB; reference: the .dll bee above)", native.Idle, $"{idle.Steady / 1024:0}", "< 80"),
            new($"results the native edge bee published in its last 60 s of the {Targets:#,0}-target run", $"{native.Results:#,0}", "—", $"{Targets:#,0} per interval"),
        ];
    }

    /// <summary>
    /// The native edge bee, a whole node in its own process: idle, then following ten lists of 1,000 loopback targets
    /// (a list holds at most 1,000) with the worker's round settings, its results counted off the broker.
    /// </summary>
    private static async Task<(string Idle, string Full, int Results)> NativeAsync()
    {
        Console.Error.WriteLine($"memory: the native edge bee, idle then with {Targets} targets at a 60 s interval");
        var dir = Directory.CreateTempSubdirectory("swarm-bench-native-").FullName;
        var processes = new List<System.Diagnostics.Process>();
        try
        {
            var mqttPort = Tools.FreePort();
            processes.Add(Tools.Mosquitto(dir, mqttPort));
            using var client = await Tools.MqttClientAsync(mqttPort);
            var results = 0;
            client.ApplicationMessageReceivedAsync += _ =>
            {
                Interlocked.Increment(ref results);
                return Task.CompletedTask;
            };
            await client.SubscribeAsync("ping/+");
            var env = EdgeBench.Edge(dir, "native-mem", mqttPort);
            var lists = Enumerable.Range(1, Targets / 1000).Select(i => $"part-{i}").ToList();
            env["Swarm__Bee__Lists"] = string.Join(',', lists);
            env["Swarm__Probe__Interval"] = "60s";
            env["Swarm__Probe__Count"] = "5";
            env["Swarm__Probe__Spacing"] = "200ms";
            env["Swarm__Probe__Timeout"] = "1s";
            var native = Tools.Start(Tools.NativeEdge, [], env);
            processes.Add(native);
            var idle = EdgeBench.WithAnonymous(await EdgeBench.SteadyRssMiB(native, TimeSpan.FromSeconds(40)), native);
            var list = Enumerable.Range(0, Targets).Select(i => $"127.{10 + i / 62500}.{i / 250 % 250}.{i % 250 + 1}").ToList();
            for (var i = 0; i < lists.Count; i++)
            {
                var targets = list.GetRange(i * 1000, 1000);
                await EdgeBench.Publish(client, $"targets/{lists[i]}", JsonSerializer.Serialize(new { list = lists[i], version = 1, targets }), retain: true);
            }
            var full = EdgeBench.SteadyRssMiB(native, Duration + TimeSpan.FromSeconds(45));
            await Task.Delay(Duration + TimeSpan.FromSeconds(45) - TimeSpan.FromSeconds(60));
            Interlocked.Exchange(ref results, 0);
            return (idle, EdgeBench.WithAnonymous(await full, native), results);
        }
        finally
        {
            foreach (var p in processes) { try { p.Kill(entireProcessTree: true); p.WaitForExit(); } catch (InvalidOperationException) { } }
            Directory.Delete(dir, true);
        }
    }

    private static async Task<(double Steady, long Peak, string Report)> MeasureAsync(int targets, TimeSpan duration)
    {
        Console.Error.WriteLine($"memory: a bee with {targets} targets at a 60 s interval for {duration.TotalSeconds:0} s");
        var self = typeof(BeeMemory).Assembly.Location;
        using var worker = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", [self, WorkerVerb, targets.ToString(), ((int)duration.TotalSeconds).ToString()])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var samples = new List<long>();
        while (!worker.HasExited)
        {
            var rss = ReadRssKb(worker.Id);
            if (rss > 0) samples.Add(rss);
            await Task.Delay(1000);
        }
        var report = (await worker.StandardOutput.ReadToEndAsync()).Trim();
        // Steady state: the second half of the run, after start-up and the first burst of rounds.
        var steady = samples.Count > 4 ? samples.Skip(samples.Count / 2).Average() : samples.DefaultIfEmpty(0).Max();
        return (steady, samples.DefaultIfEmpty(0).Max(), report);
    }

    /// <summary>The bee itself: the real actor and engine, results counted instead of published.</summary>
    public static async Task<int> RunWorkerAsync(int targets, TimeSpan duration)
    {
        var dir = Directory.CreateTempSubdirectory("swarm-bench-").FullName;
        var config = ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.actor.serializers.swarm = "Swarm.Serialization.SwarmSerializer, Swarm.Actors"
            akka.actor.serialization-bindings { "Swarm.Protocol.ISwarmMessage, Swarm.Protocol" = swarm }
            """).WithFallback(SwarmHosting.PersistenceConfig(new PersistenceOptions("sqlite", $"Data Source={dir}/bench.db")));
        using var system = ActorSystem.Create("bench", config);
        using var engine = IcmpEngine.Open(new ProbeLimits());
        var counter = system.ActorOf(Props.Create(() => new Counter()));
        var lists = system.ActorOf(Props.Create(() => new Silent()));
        var settings = new BeeSettings("bench", null, ["default"], TimeSpan.FromSeconds(60), new RoundSettings(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1))) { MaxEchoesPerSecond = 5000 };
        var bee = system.ActorOf(Bee.Props(settings, new IcmpProber(engine), lists, counter, lists));
        var list = Enumerable.Range(0, targets).Select(i => $"127.{10 + i / 62500}.{i / 250 % 250}.{i % 250 + 1}").ToList();
        bee.Tell(new CurrentTargets("default", 1, list, true));
        await Task.Delay(duration);
        var count = await counter.Ask<long>("count");
        var gc = GC.GetGCMemoryInfo();
        Console.WriteLine($"{count:#,0} results ({engine.Counters.Received:#,0} of {engine.Counters.Sent:#,0} echoes answered); " +
                          $"managed heap {GC.GetTotalMemory(forceFullCollection: true) / 1048576.0:0.0} MiB live, {gc.TotalCommittedBytes / 1048576.0:0.0} MiB committed");
        await system.Terminate();
        Directory.Delete(dir, true);
        return 0;
    }

    private static long ReadRssKb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:"));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        catch (IOException) { return 0; }
    }

    private sealed class Counter : ReceiveActor
    {
        private long _count;

        public Counter()
        {
            Receive<ProbeResult>(_ => _count++);
            Receive<string>(_ => Sender.Tell(_count));
        }
    }

    /// <summary>Stands in for the list region and the mediator: the bee's list comes from the message above.</summary>
    private sealed class Silent : ReceiveActor
    {
        public Silent() => ReceiveAny(_ => { });
    }
}
