using System.Collections.Concurrent;
using System.Diagnostics;

namespace Swarm.Tests.Infrastructure;

/// <summary>A real Swarm.Node or Swarm.Lighthouse binary, started as a user would, stopped by PID.</summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    public int Pid => _process.Id;
    public string Output => string.Join('\n', _output);

    private NodeProcess(Process process) => _process = process;

    public static NodeProcess Start(IDictionary<string, string> environment, params string[] args) =>
        StartBinary("Swarm.Node", environment, args);

    /// <summary>
    /// A whole swarm in one process (bee, queen, embedded broker) on its own data folder and ports, probing
    /// <paramref name="targets"/> every second in rounds of ten echoes: what the rule and page tests watch.
    /// </summary>
    public static NodeProcess StartProbing(string beeId, string dataDir, int managementPort, string targets, params (string Key, string Value)[] more)
    {
        var environment = new Dictionary<string, string>
        {
            ["Swarm__DataDir"] = dataDir,
            ["Swarm__Bee__Id"] = beeId,
            ["Swarm__Mqtt__EmbeddedPort"] = Ports.Free().ToString(),
            ["Swarm__Management__Url"] = $"http://127.0.0.1:{managementPort}",
            ["Swarm__Targets__Default"] = targets,
            ["Swarm__Probe__Interval"] = "1s",
            ["Swarm__Probe__Count"] = "10",
            ["Swarm__Probe__Spacing"] = "20ms",
            ["Swarm__Probe__Timeout"] = "500ms",
        };
        foreach (var (key, value) in more) environment[key] = value;
        return Start(environment);
    }

    /// <summary>A Swarm.Node inside a network namespace (<c>ip netns exec</c>), as on a machine of its own.</summary>
    public static NodeProcess StartIn(string netns, IDictionary<string, string> environment, params string[] args) =>
        Start(new ProcessStartInfo("ip", ["netns", "exec", netns, "dotnet", BinaryPath("Swarm.Node"), .. args]), environment, manage: true);

    public static NodeProcess StartCli(params string[] args) =>
        StartBinary("Swarm.Cli", new Dictionary<string, string>(), args, "swarm");

    public static NodeProcess StartLighthouse(IDictionary<string, string> environment, params string[] args) =>
        StartBinary("Swarm.Lighthouse", environment, args);

    /// <summary>The native edge bee (Swarm.Node published with <c>-p:NativeEdge=true</c>), started as its unit starts it.</summary>
    public static NodeProcess StartNativeEdge(IDictionary<string, string> environment, params string[] args) =>
        Start(new ProcessStartInfo(NativeEdge.Value, args), environment, manage: true);

    private static readonly Lazy<string> NativeEdge = new(() => NativeBuild.Ensure(
        Environment.GetEnvironmentVariable("SWARM_NATIVE_EDGE") ?? NativeBuild.PathOf("Swarm.Node", "Swarm.Node"), "Swarm.Node", "-p:NativeEdge=true"));

    /// <summary>A native executable (the NativeAOT <c>swarm</c>), started directly.</summary>
    public static NodeProcess StartExecutable(string file, params string[] args) => Start(new ProcessStartInfo(file, args), new Dictionary<string, string>(), manage: false);

    private static NodeProcess StartBinary(string project, IDictionary<string, string> environment, string[] args, string? assembly = null) =>
        Start(new ProcessStartInfo("dotnet", [BinaryPath(project, assembly: assembly), .. args]), environment, manage: assembly is null);

    private static NodeProcess Start(ProcessStartInfo info, IDictionary<string, string> environment, bool manage)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        foreach (var (key, value) in environment) info.Environment[key] = value;
        // Every node and Lighthouse serves a management endpoint: a free port each, or parallel tests would collide.
        if (manage && !environment.ContainsKey("Swarm__Management__Url"))
            info.Environment["Swarm__Management__Url"] = $"http://127.0.0.1:{Ports.Free()}";
        // Told, not guessed: guessing pings the machine's default gateway, and tests send nothing off this machine.
        if (manage && !environment.ContainsKey("Swarm__Bee__Connection")) info.Environment["Swarm__Bee__Connection"] = "ethernet";
        var node = new NodeProcess(Process.Start(info)!);
        var process = node._process;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } };
        node._process.OutputDataReceived += (_, e) => { if (e.Data is not null) node._output.Enqueue(e.Data); };
        node._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) node._output.Enqueue(e.Data); };
        node._process.BeginOutputReadLine();
        node._process.BeginErrorReadLine();
        return node;
    }

    /// <summary>The built host binary next to this test build (same configuration: Debug or Release).</summary>
    public static string BinaryPath(string project, string folder = "src", string? assembly = null)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = dir.Parent!.Name; // .../bin/<Configuration>/net10.0/
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Swarm.sln"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("Swarm.sln not found above " + AppContext.BaseDirectory);
        var path = Path.Combine(dir.FullName, folder, project, "bin", configuration, "net10.0", (assembly ?? project) + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"build {project} first (dotnet build Swarm.sln)", path);
    }

    public Task WaitForOutputAsync(string text, TimeSpan timeout) =>
        Eventually.True(() => _output.Any(l => l.Contains(text)), timeout, $"'{text}' in the output of node {Pid}:\n{Output}");

    /// <summary>SIGTERM, as systemd or Kubernetes stop a process; returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited) Signals.Send(_process.Id, Signals.Terminate);
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no goodbye to the broker, no flush.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
