using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Bench;

/// <summary>
/// The load generator: N simulated bees, each a real MQTT connection with its own client id, retained status and last
/// will, publishing a result per target per interval (QoS 1, in order, one in flight, held and re-sent across a lost
/// link as a bee's outbox does), into mosquitto (one or several), read by indexer node processes (one shared
/// subscription) that bulk into an Elasticsearch stand-in (<see cref="BulkSink"/>), which tells what was stored, how
/// late, and what is missing. Some bees can lose their link (without DISCONNECT) and some publish garbage.
/// </summary>
public static class Load
{
    public sealed record Options(int Bees = 1000, int Targets = 100, TimeSpan Interval = default, TimeSpan Duration = default,
        int Indexers = 1, int Brokers = 1, double Churn = 0, double Garbage = 0, int Seed = 1, int Inflight = 100, int EsDelayMs = 0, bool Embedded = false,
        int ExternalPort = 0, int ExternalPid = 0, bool V311 = false)
    {
        public TimeSpan Interval { get; init; } = Interval == default ? TimeSpan.FromSeconds(10) : Interval;
        public TimeSpan Duration { get; init; } = Duration == default ? TimeSpan.FromMinutes(2) : Duration;
        public double Offered => Bees * Targets / Interval.TotalSeconds;

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (var i = 0; i < args.Length; i += 2)
            {
                if (args[i] == "--embedded") { o = o with { Embedded = true }; i--; continue; }
                if (args[i] == "--v311") { o = o with { V311 = true }; i--; continue; }
                var v = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"load: {args[i]} needs a value");
                o = args[i] switch
                {
                    "--bees" => o with { Bees = int.Parse(v) },
                    "--targets" => o with { Targets = int.Parse(v) },
                    "--interval" => o with { Interval = Swarm.Probing.Durations.TryParse(v, out var d) ? d : throw new ArgumentException($"--interval {v}") },
                    "--duration" => o with { Duration = Swarm.Probing.Durations.TryParse(v, out var d) ? d : throw new ArgumentException($"--duration {v}") },
                    "--indexers" => o with { Indexers = int.Parse(v) },
                    "--brokers" => o with { Brokers = int.Parse(v) },
                    "--churn" => o with { Churn = double.Parse(v, CultureInfo.InvariantCulture) },
                    "--es-delay" => o with { EsDelayMs = int.Parse(v) },
                    "--inflight" => o with { Inflight = int.Parse(v) },
                    "--garbage" => o with { Garbage = double.Parse(v, CultureInfo.InvariantCulture) },
                    // Another broker already running on 127.0.0.1 (RabbitMQ's MQTT plugin, say): its port and the PID to watch.
                    "--external" => o with { ExternalPort = int.Parse(v.Split(':')[0]), ExternalPid = int.Parse(v.Split(':')[1]) },
                    _ => throw new ArgumentException($"load: unknown option {args[i]}; usage: {Usage}"),
                };
            }
            return o;
        }
    }

    public const string Usage = "load [--bees 1000] [--targets 100] [--interval 10s] [--duration 2m] [--indexers 1] [--brokers 1] [--churn 0.05] [--garbage 0.001] [--inflight 100] [--es-delay 0] [--embedded] [--external PORT:PID] [--v311]";

    public static async Task<IEnumerable<Row>> RunAsync(Options o)
    {
        Console.Error.WriteLine($"load: {o.Bees:#,0} bees × {o.Targets} targets every {o.Interval.TotalSeconds:0.#} s = {o.Offered:#,0} results/s offered, " +
            $"{o.Duration.TotalMinutes:0.#} min, {o.Brokers} broker(s), {o.Indexers} indexer(s), churn {o.Churn:P0}, garbage {o.Garbage:P2}");
        var dir = Directory.CreateTempSubdirectory("swarm-bench-load-").FullName;
        var brokers = new List<(Process Process, int Port)>();
        var indexers = new List<Process>();
        using var sink = new BulkSink { Delay = TimeSpan.FromMilliseconds(o.EsDelayMs) };
        var bees = new List<SimBee>();
        try
        {
            if (o.ExternalPort > 0) brokers.Add((Process.GetProcessById(o.ExternalPid), o.ExternalPort));
            for (var b = 0; b < (o.Embedded || o.ExternalPort > 0 ? 0 : o.Brokers); b++)
            {
                var port = Tools.FreePort();
                // The shipped broker's limits (deploy/mosquitto/mosquitto.conf), without TLS.
                File.WriteAllText(Path.Combine(dir, $"m{b}.conf"), $"user root\nlistener {port} 127.0.0.1\nallow_anonymous true\n" +
                    $"max_queued_messages 1000000\nmax_queued_bytes 1073741824\nmax_inflight_messages {o.Inflight}\n");
                brokers.Add((Tools.Start(Tools.MosquittoBinary, ["-c", Path.Combine(dir, $"m{b}.conf")], new()), port));
            }
            var embeddedPort = Tools.FreePort();
            foreach (var (_, port) in brokers) (await Tools.MqttClientAsync(port, o.V311)).Dispose();
            for (var i = 0; i < o.Indexers; i++)
            {
                var env = new Dictionary<string, string>
                {
                    ["Swarm__Roles"] = "indexer",
                    ["Swarm__Bee__Id"] = $"load-indexer-{i}",
                    ["Swarm__DataDir"] = Path.Combine(dir, $"indexer-{i}"),
                    ["Swarm__Management__Url"] = $"http://127.0.0.1:{Tools.FreePort()}",
                    ["Swarm__Elasticsearch__Urls__0"] = sink.Url,
                };
                for (var b = 0; b < brokers.Count; b++) env[$"Swarm__Mqtt__Brokers__{b}"] = $"mqtt://127.0.0.1:{brokers[b].Port}";
                // --embedded: the first indexer's in-process MQTTnet broker in place of mosquitto (which broker bends?).
                if (o.Embedded) env["Swarm__Mqtt__EmbeddedPort"] = embeddedPort.ToString();
                indexers.Add(Tools.Start("dotnet", [Tools.Binary("Swarm.Node")], env));
                if (o.Embedded)
                {
                    (await Tools.MqttClientAsync(embeddedPort)).Dispose();
                    brokers.Add((indexers[0], embeddedPort));
                    break;
                }
            }
            await Tools.Until(() => Task.FromResult(sink.Templates >= o.Indexers), TimeSpan.FromSeconds(60), "the indexers");
            // Subscribed on every broker: a result published there is stored.
            for (var b = 0; b < brokers.Count; b++)
            {
                using var client = await Tools.MqttClientAsync(brokers[b].Port, o.V311);
                var warmup = JsonSerializer.SerializeToUtf8Bytes(new ProbeResult
                {
                    Bee = $"warmup-{b}", Seq = 1, Timestamp = DateTime.UtcNow, Target = "warmup.bench.example", Kind = "icmp", Sent = 1, Received = 0,
                }, SwarmJson.Wire.ProbeResult);
                var bee = $"warmup-{b}";
                await Tools.Until(async () =>
                {
                    await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("ping/warmup.bench.example").WithPayload(warmup)
                        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                    await Task.Delay(200);
                    return sink.Has(bee, 1);
                }, TimeSpan.FromSeconds(60), $"the indexers subscribed on broker {b}");
            }

            var random = new Random(o.Seed);
            for (var i = 0; i < o.Bees; i++)
                bees.Add(new SimBee($"sim-{i}", brokers[i % brokers.Count].Port, o.Targets, random.NextDouble() < o.Churn, o.Garbage, o.Seed + i, o.V311));
            var connecting = Stopwatch.StartNew();
            foreach (var batch in bees.Chunk(100)) await Task.WhenAll(batch.Select(b => b.ConnectAsync()));
            Console.Error.WriteLine($"load: {bees.Count:#,0} bees connected in {connecting.Elapsed.TotalSeconds:0.0} s");

            var watched = brokers.Select((b, i) => (brokers.Count == 1 ? "mosquitto" : $"mosquitto-{i}", b.Process)).Concat(indexers.Select((p, i) => ($"indexer-{i}", p)))
                .Append(("generator", Process.GetCurrentProcess())).ToList();
            var samples = new List<Sample>();
            var clock = Stopwatch.StartNew();
            using var stop = new CancellationTokenSource();
            var generating = Generate(bees, o, clock, stop.Token);
            var churning = Churn(bees, o, stop.Token);
            var cpu = watched.ToDictionary(w => w.Item1, w => Cpu(w.Item2));
            var last = (At: TimeSpan.Zero, Stored: 0L);
            while (clock.Elapsed < o.Duration)
            {
                await Task.Delay(TimeSpan.FromSeconds(10));
                var now = clock.Elapsed;
                var stored = sink.Unique;
                var acked = bees.Sum(b => b.Acked);
                var window = sink.TakeLags();
                var sample = new Sample(now, (stored - last.Stored) / (now - last.At).TotalSeconds, acked - stored,
                    window.Count > 0 ? Tools.Percentile(window, 0.99) : 0, window.Count > 0 ? window.Max() : 0,
                    watched.ToDictionary(w => w.Item1, w => (CpuPercent(w.Item2, cpu[w.Item1], now - last.At), Rss(w.Item2))));
                foreach (var w in watched) cpu[w.Item1] = Cpu(w.Item2);
                samples.Add(sample);
                last = (now, stored);
                Console.Error.WriteLine($"load: {now.TotalSeconds,5:0} s  stored {sample.Rate,7:#,0}/s  behind {sample.Behind,7:#,0}  lag p99 {sample.LagP99,6:0.00} s  " +
                    string.Join("  ", sample.Processes.Select(p => $"{p.Key} {p.Value.Cpu:0}% {p.Value.RssMiB:0} MiB")));
            }
            await stop.CancelAsync();
            await generating;
            await churning;
            // Drain: every bee sends what it holds, then every result the broker took must be stored.
            await Tools.Until(() => Task.FromResult(bees.All(b => b.Idle)), TimeSpan.FromMinutes(3), "the bees to send what they hold");
            var offered = bees.Sum(b => b.Generated);
            var accepted = bees.Sum(b => b.Acked);
            var drained = Stopwatch.StartNew();
            try { await Tools.Until(() => Task.FromResult(sink.Unique >= accepted), TimeSpan.FromMinutes(1), "the indexers to store every accepted result"); }
            catch (TimeoutException e) { Console.Error.WriteLine($"load: {e.Message}"); }
            var missing = accepted - sink.Unique;
            var alive = indexers.Count(p => !p.HasExited);
            var steady = samples.Skip(1).ToList(); // the first window holds the start
            var lags = sink.AllLags;
            // Several brokers: each one's figures, side by side.
            var mosquittos = watched.Select(w => w.Item1).Where(n => n.StartsWith("mosquitto", StringComparison.Ordinal)).ToList();
            string CpuOf(string who) => $"{steady.Average(s => s.Processes[who].Cpu):0}%";
            string Cpus(string who) => who == "mosquitto" ? string.Join(" + ", mosquittos.Select(CpuOf)) : CpuOf(who);
            string RssOf(string who) => string.Join(" / ", new[] { samples.First(), samples[samples.Count / 2], samples.Last() }.Select(s => $"{s.Processes[who].RssMiB:0}"));
            string Rsses(string who) => who == "mosquitto" ? string.Join("; ", mosquittos.Select(RssOf)) : RssOf(who);
            var name = $"{o.Bees:#,0} bees × {o.Targets} targets / {o.Interval.TotalSeconds:0} s, {o.Brokers} broker(s), {o.Indexers} indexer(s), {o.Duration.TotalMinutes:0.#} min" +
                (o.Churn > 0 ? $", {o.Churn:P0} losing their link" : "") + (o.Garbage > 0 ? $", {o.Garbage:P1} garbage" : "");
            Console.Error.WriteLine($"load: done; {offered:#,0} generated, {accepted:#,0} accepted by the broker, {sink.Unique:#,0} stored ({sink.Duplicates:#,0} copies), " +
                $"drained in {drained.Elapsed.TotalSeconds:0.0} s, {sink.Requests:#,0} _bulk requests, {sink.DocumentBytes:0} bytes per document, garbage sent {bees.Sum(b => b.GarbageSent):#,0}");
            return
            [
                new($"{name}: results/s stored (offered)", $"{steady.Average(s => s.Rate):#,0} /s ({o.Offered:#,0})", "—", "= offered"),
                new($"{name}: end-to-end lag p50 / p99 / max (s)", $"{Tools.F(Tools.Percentile(lags, 0.5), "0.00")} / {Tools.F(Tools.Percentile(lags, 0.99), "0.00")} / {Tools.F(lags.Max(), "0.0")}", "—", "< 5 s"),
                new($"{name}: accepted by the broker, not stored; indexers alive", $"{missing:#,0} of {accepted:#,0}; {alive} of {o.Indexers}", "—", "0; all"),
                new($"{name}: CPU mosquitto / indexer / generator (of one core)", $"{Cpus("mosquitto")} / {Cpus("indexer-0")} / {Cpus("generator")}", "—", "—"),
                new($"{name}: indexer RSS, first / middle / last (MiB)", Rsses("indexer-0"), "—", "flat"),
                new($"{name}: mosquitto RSS, first / middle / last (MiB)", Rsses("mosquitto"), "—", "—"),
            ];
        }
        finally
        {
            await Task.WhenAll(bees.Select(b => b.DisposeAsync().AsTask()));
            foreach (var p in indexers.Concat(brokers.Select(b => b.Process).Where(p => p.Id != o.ExternalPid))) // not an --external broker
            {
                try { if (!p.HasExited) { p.Kill(true); p.WaitForExit(); } } catch (InvalidOperationException) { }
            }
            Directory.Delete(dir, true);
        }
    }

    private sealed record Sample(TimeSpan At, double Rate, long Behind, double LagP99, double LagMax, Dictionary<string, (double Cpu, double RssMiB)> Processes);

    /// <summary>Each bee's rounds, spread over the interval: bee i's k-th result of a round is due at i's phase + k × interval / targets.</summary>
    private static async Task Generate(List<SimBee> bees, Options o, Stopwatch clock, CancellationToken ct)
    {
        var step = o.Interval / o.Targets;
        var phases = bees.Select((_, i) => step * ((double)i / bees.Count)).ToArray();
        var next = new long[bees.Count]; // the index of each bee's next result
        while (!ct.IsCancellationRequested)
        {
            var now = clock.Elapsed;
            for (var i = 0; i < bees.Count; i++)
            {
                while (phases[i] + step * next[i] <= now) bees[i].Produce(next[i]++);
            }
            try { await Task.Delay(5, ct); } catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Bees chosen to churn lose their link (no DISCONNECT: the broker publishes their will) about once a minute, back 2–5 s later.</summary>
    private static async Task Churn(List<SimBee> bees, Options o, CancellationToken ct)
    {
        var churners = bees.Where(b => b.Churns).ToList();
        if (churners.Count == 0) return;
        var random = new Random(o.Seed);
        while (!ct.IsCancellationRequested)
        {
            try { await Task.Delay(1000, ct); } catch (OperationCanceledException) { return; }
            foreach (var bee in churners.Where(_ => random.NextDouble() < 1.0 / 60))
                _ = bee.LoseLinkAsync(TimeSpan.FromMilliseconds(random.Next(2000, 5000)));
        }
    }

    private static (double Cpu, TimeSpan At) Cpu(Process p) => (Tools.CpuSeconds(p.Id), Stopwatch.GetElapsedTime(0));

    private static double CpuPercent(Process p, (double Cpu, TimeSpan At) before, TimeSpan elapsed) => 100 * (Cpu(p).Cpu - before.Cpu) / elapsed.TotalSeconds;

    private static double Rss(Process p)
    {
        try { return Tools.RssMiB(p.Id); }
        catch (Exception) { return 0; } // gone: an indexer that died is counted as such below
    }

    /// <summary>
    /// One simulated bee: its own MQTT 5 session (clean start off), a retained status on <c>rip/&lt;bee&gt;</c> and a
    /// last will, results numbered from 1 and sent in order one at a time; what the broker did not acknowledge is held
    /// and sent again after a reconnect, as a bee's outbox does.
    /// </summary>
    private sealed class SimBee(string id, int port, int targets, bool churns, double garbage, int seed, bool v311 = false) : IAsyncDisposable
    {
        private readonly Channel<byte[]> _pending = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        private readonly Random _random = new(seed);
        private readonly CancellationTokenSource _stop = new();
        private IMqttClient _client = new MqttClientFactory().CreateMqttClient();
        private Task? _sender;
        private long _generated, _acked, _queued, _garbage;
        private volatile bool _down;

        public bool Churns => churns;
        public long Generated => Interlocked.Read(ref _generated);
        public long Acked => Interlocked.Read(ref _acked);
        public long GarbageSent => Interlocked.Read(ref _garbage);
        public bool Idle => Interlocked.Read(ref _queued) == 0;

        private MqttClientOptions Options()
        {
            var builder = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(id).WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
                .WithWillTopic($"rip/{id}").WithWillPayload(Status("dead")).WithWillRetain().WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
            // --v311: a persistent session as MQTT 3.1.1 says it (clean session off), for a broker that refuses 5.
            return (v311 ? builder.WithProtocolVersion(MqttProtocolVersion.V311).WithCleanSession(false)
                : builder.WithProtocolVersion(MqttProtocolVersion.V500).WithCleanStart(false).WithSessionExpiryInterval(3600)).Build().WithSwarmBuffers();
        }

        private byte[] Status(string status) => Encoding.UTF8.GetBytes($$"""{"bee":"{{id}}","status":"{{status}}","kind":"edge","ts":"{{DateTime.UtcNow:O}}","last_seq":{{Generated}}}""");

        public async Task ConnectAsync()
        {
            await _client.ConnectAsync(Options());
            await Publish($"rip/{id}", Status("online"), retain: true);
            _sender ??= Task.Run(SendLoop);
        }

        public void Produce(long index)
        {
            var seq = Interlocked.Increment(ref _generated);
            var target = $"t{index % targets}.bench.example";
            var rtt = 5 + 40 * _random.NextDouble();
            var lost = _random.NextDouble() < 0.02 ? 1 : 0;
            var payload = JsonSerializer.SerializeToUtf8Bytes(new ProbeResult
            {
                Bee = id, Seq = seq, Timestamp = DateTime.UtcNow, Target = target, Kind = "icmp", Address = $"192.0.2.{index % targets}",
                Sent = 5, Received = 5 - lost, MinMs = rtt * 0.9, AvgMs = rtt, MaxMs = rtt * 1.3, StddevMs = rtt * 0.1, Location = "bench",
            }, SwarmJson.Wire.ProbeResult);
            Interlocked.Increment(ref _queued);
            _pending.Writer.TryWrite(payload);
            if (garbage > 0 && _random.NextDouble() < garbage)
            {
                Interlocked.Increment(ref _queued);
                _pending.Writer.TryWrite([0xFF, .. "{\"bee\":"u8, .. payload.AsSpan(0, _random.Next(payload.Length))]); // not JSON, not UTF-8
            }
        }

        private async Task SendLoop()
        {
            await foreach (var payload in _pending.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                var isGarbage = payload[0] == 0xFF;
                var topic = isGarbage ? "ping/garbage.bench.example" : $"ping/{ReadTarget(payload)}";
                while (true)
                {
                    try
                    {
                        if (_down || !_client.IsConnected) throw new InvalidOperationException("link down");
                        await Publish(topic, payload, retain: false);
                        if (isGarbage) Interlocked.Increment(ref _garbage);
                        else Interlocked.Increment(ref _acked);
                        Interlocked.Decrement(ref _queued);
                        break;
                    }
                    catch (Exception) when (!_stop.IsCancellationRequested)
                    {
                        await Task.Delay(200).ConfigureAwait(false); // held, sent again once the link is back
                    }
                }
            }
        }

        private static string ReadTarget(byte[] payload)
        {
            var reader = new Utf8JsonReader(payload);
            while (reader.Read())
                if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("target")) { reader.Read(); return reader.GetString()!; }
            return "unknown";
        }

        private Task Publish(string topic, byte[] payload, bool retain) => _client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build());

        /// <summary>The link goes (a socket closed without DISCONNECT: the broker publishes the will); back after <paramref name="outage"/>.</summary>
        public async Task LoseLinkAsync(TimeSpan outage)
        {
            if (_down) return;
            _down = true;
            var old = _client;
            _client = new MqttClientFactory().CreateMqttClient();
            old.Dispose();
            await Task.Delay(outage);
            while (!_stop.IsCancellationRequested)
            {
                try { await ConnectAsync(); break; }
                catch (Exception) { await Task.Delay(500); }
            }
            _down = false;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            if (_sender is not null) try { await _sender; } catch (Exception) { } // stopped mid-send
            try { if (_client.IsConnected) await _client.DisconnectAsync(); } catch (Exception) { }
            _client.Dispose();
        }
    }
}
