using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Deploy;

/// <summary>deploy/local/swarm-local.sh: a Lighthouse and three nodes as processes, results on ping/+, Ctrl-C stops all.</summary>
public sealed class LocalSwarmScriptTests : IAsyncLifetime
{
    private readonly TempDir _data = new();
    private readonly int _base = FreeRange(20);
    private Process _script = null!;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    public Task InitializeAsync()
    {
        // The same build as this test's (Debug or Release): the binaries are already there, so no --build.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        // Through env --default-signal=INT: a suite started as a background job inherits SIGINT ignored, and bash can
        // never trap a signal ignored on entry, so Ctrl-C would be lost on the script and the test would wait in vain.
        _script = Process.Start(new ProcessStartInfo("env", ["--default-signal=INT", Repo.File("deploy", "local", "swarm-local.sh"),
            "--nodes", "3", "--port-base", _base.ToString(), "--data", _data.Path, "--configuration", configuration, "--no-build"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The nodes inherit it: told their link, they do not ping the machine's gateway to guess it.
            Environment = { ["Swarm__Bee__Connection"] = "ethernet" },
        })!;
        _script.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        _script.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        _script.BeginOutputReadLine();
        _script.BeginErrorReadLine();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_script_starts_four_members_whose_results_flow_and_ctrl_c_stops_every_process()
    {
        await Eventually.True(() => _output.Any(l => l.Contains("Ctrl-C stops everything")), TimeSpan.FromSeconds(60), $"the script's banner:\n{string.Join('\n', _output)}");
        var pids = File.ReadAllLines(Path.Combine(_data.Path, "pids")).Select(int.Parse).ToList();
        Assert.Equal(5, pids.Count); // mosquitto, the Lighthouse, three nodes

        // swarm cluster show, against the first node, lists 4 members, all up.
        var host = $"http://127.0.0.1:{_base + 11}";
        await Eventually.True(async () =>
        {
            var (code, output) = await SwarmCommand.RunAsync("cluster", "show", "--json", "--host", host);
            return code == 0 && JsonDocument.Parse(output).RootElement.GetProperty("members").EnumerateArray().Count(m => m.GetProperty("status").GetString() == "up") == 4;
        }, TimeSpan.FromSeconds(90), $"4 members up; the script said:\n{string.Join('\n', _output)}");

        // Results from all three bees on ping/+, through the script's mosquitto.
        await using (var results = await MqttCollector.ConnectAsync(_base, "ping/+"))
        {
            foreach (var bee in new[] { "bee-1", "bee-2", "bee-3" })
                await results.WaitForAsync((_, j) => j.GetProperty("bee").GetString() == bee, TimeSpan.FromSeconds(60), $"a result from {bee}");
        }

        // Ctrl-C: the script stops every process it started, then exits.
        Assert.Equal(0, Signals.Send(_script.Id, Signals.Interrupt));
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60))) await _script.WaitForExitAsync(cts.Token);
        Assert.Contains(_output, l => l.Contains("swarm-local: stopped"));
        Assert.All(pids, pid => Assert.False(Signals.Alive(pid), $"process {pid} outlived the script"));
    }

    /// <summary>A port from which <paramref name="count"/> consecutive loopback ports are free.</summary>
    private static int FreeRange(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var start = Random.Shared.Next(20_000, 30_000);
            if (Enumerable.Range(start, count).All(Free)) return start;
        }
        throw new InvalidOperationException($"no {count} consecutive free ports");

        static bool Free(int port)
        {
            try
            {
                using var listener = new TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (!_script.HasExited)
        {
            Signals.Send(_script.Id, Signals.Interrupt);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _script.WaitForExitAsync(cts.Token); } catch (OperationCanceledException) { _script.Kill(entireProcessTree: true); }
        }
        var pidFile = Path.Combine(_data.Path, "pids");
        if (File.Exists(pidFile)) foreach (var pid in File.ReadAllLines(pidFile).Select(int.Parse)) Signals.Send(pid, Signals.KillNow);
        _script.Dispose();
        _data.Dispose();
    }
}
