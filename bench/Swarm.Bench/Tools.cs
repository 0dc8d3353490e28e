using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Swarm.Bench;

/// <summary>Running the reference tools and our own binaries, and reading their numbers.</summary>
public static class Tools
{
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Swarm.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("run from the repository");
        }
    }

    /// <summary>The swarm CLI built next to this bench (same configuration).</summary>
    public static string SwarmCli => Path.Combine(RepoRoot, "src", "Swarm.Cli", "bin", new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "swarm.dll");

    /// <summary>The native (NativeAOT) swarm, as ./test.sh publishes it: src/Swarm.Cli/bin/native/&lt;rid&gt;/swarm.</summary>
    public static string NativeSwarm => Native("Swarm.Cli", "swarm", "");

    /// <summary>The native edge bee, as ./test.sh publishes it: src/Swarm.Node/bin/native/&lt;rid&gt;/Swarm.Node.</summary>
    public static string NativeEdge => Native("Swarm.Node", "Swarm.Node", " -p:NativeEdge=true");

    private static string Native(string project, string file, string properties) => Published(project, "native", file, properties);

    /// <summary>A build published to src/&lt;project&gt;/bin/&lt;folder&gt;/&lt;rid&gt;, or the command that publishes it.</summary>
    private static string Published(string project, string folder, string file, string properties)
    {
        var rid = Swarm.Tests.Infrastructure.NativeBuild.Rid;
        var path = Path.Combine(RepoRoot, "src", project, "bin", folder, rid, file);
        return File.Exists(path) ? path : throw new FileNotFoundException(
            $"publish it first: dotnet publish src/{project} -c Release -r {rid}{properties} -o src/{project}/bin/{folder}/{rid}", path);
    }

    public static string FpingVersion()
    {
        try { return Run("fping", ["--version"]).Output.Trim(); }
        catch (Exception) { return "fping not installed (apt-get install fping)"; }
    }

    public static (int Exit, string Output, string Error, TimeSpan Elapsed) Run(string file, IEnumerable<string> args)
    {
        var started = Stopwatch.StartNew();
        using var process = Process.Start(new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        started.Stop();
        return (process.ExitCode, output.Result, error.Result, started.Elapsed);
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Nearest rank, as Swarm's own p95.</summary>
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }

    public static string F(double value, string format = "0.000") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>
    /// A node as the images and install.sh deploy it: published ReadyToRun for this machine, to
    /// src/&lt;project&gt;/bin/r2r/&lt;rid&gt;. JIT compiling is a third of a node's CPU until it probes, and where eleven
    /// start at once on 2 cores, their first changes wait behind it.
    /// </summary>
    public static string Deployed(string project) =>
        Published(project, "r2r", project + ".dll", " --self-contained false -p:PublishReadyToRun=true");

    public static string Binary(string project) =>
        Path.Combine(Tools.RepoRoot, "src", project, "bin", new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", project + ".dll");

    /// <param name="lines">When given, hears every line the process writes (stdout and stderr).</param>
    public static Process Start(string file, string[] args, Dictionary<string, string> env, Action<string>? lines = null)
    {
        var info = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // A bee told its link does not ping the machine's gateway to guess it: the benchmarks stay on this machine.
        info.Environment["Swarm__Bee__Connection"] = "ethernet";
        foreach (var (k, v) in env) info.Environment[k] = v;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lines?.Invoke(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines?.Invoke(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static double RssMiB(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;

    /// <summary>CPU time (user + system) a process has used so far, in seconds; 0 once it is gone.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0;
        }
        catch (Exception) { return 0; }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"bench: waited {timeout.TotalSeconds:0} s for {what}");
            await Task.Delay(5);
        }
    }

    /// <summary>The broker the benches start: Debian's, or another build named by SWARM_BENCH_MOSQUITTO (a newer one).</summary>
    public static string MosquittoBinary => Environment.GetEnvironmentVariable("SWARM_BENCH_MOSQUITTO") ?? "/usr/sbin/mosquitto";

    /// <summary>mosquitto on 127.0.0.1:<paramref name="port"/>, its configuration in <paramref name="dir"/>; the caller kills it.</summary>
    public static Process Mosquitto(string dir, int port)
    {
        File.WriteAllText(Path.Combine(dir, "mosquitto.conf"), $"user root\nlistener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n");
        return Start(MosquittoBinary, ["-c", Path.Combine(dir, "mosquitto.conf")], new());
    }

    /// <summary>An MQTT client connected to 127.0.0.1:<paramref name="port"/>, once the broker there answers.</summary>
    /// <param name="v311">Connect in MQTT 3.1.1, to a broker that refuses 5.</param>
    public static async Task<MQTTnet.IMqttClient> MqttClientAsync(int port, bool v311 = false)
    {
        var client = new MQTTnet.MqttClientFactory().CreateMqttClient();
        var options = new MQTTnet.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port);
        if (v311) options.WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V311);
        await Until(async () =>
        {
            try { await client.ConnectAsync(options.Build().WithSwarmBuffers()); return true; }
            catch (Exception) { return false; }
        }, TimeSpan.FromSeconds(20), "mosquitto");
        return client;
    }

    /// <summary>
    /// Swarm's sockets (<see cref="Swarm.Mqtt.LinkSocket"/>: its buffer sizes, its buffered reads) on a bench client:
    /// simulated bees are as a node's link, and a raw subscriber compares like with like.
    /// </summary>
    public static MQTTnet.MqttClientOptions WithSwarmBuffers(this MQTTnet.MqttClientOptions options) => Swarm.Mqtt.LinkSocket.Apply(options);
}
