using System.Diagnostics;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// A real mosquitto on a free loopback port with a throwaway configuration, stopped by PID on dispose.
/// Persistence on and queue limits raised: mosquitto's defaults drop QoS 1 messages silently under load.
/// </summary>
public sealed class Mosquitto : IAsyncDisposable
{
    private readonly TempDir _dir = new();
    private Process? _process;

    public int Port { get; } = Ports.Free();
    public string Url => $"mqtt://127.0.0.1:{Port}";
    public int? Pid => _process?.Id;

    public static string Binary =>
        new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("mosquitto is not installed: run ./test.sh (it installs it) or apt-get install mosquitto");

    /// <summary>Extra configuration lines (a TLS listener in place of the plain one, an ACL).</summary>
    public string? Listener { get; set; }

    public static async Task<Mosquitto> StartAsync(Func<Mosquitto, string>? listener = null)
    {
        var broker = new Mosquitto();
        if (listener is not null) broker.Listener = listener(broker);
        await broker.StartProcessAsync();
        return broker;
    }

    public string Directory => _dir.Path;

    public async Task StartProcessAsync()
    {
        var conf = _dir.File("mosquitto.conf");
        var runAsRoot = Environment.UserName == "root" ? "user root\n" : "";
        await File.WriteAllTextAsync(conf, $"""
            {runAsRoot}{Listener ?? $"listener {Port} 127.0.0.1\nallow_anonymous true"}
            persistence true
            persistence_location {_dir.Path}/
            autosave_interval 1
            max_queued_messages 100000
            max_inflight_messages 100
            log_dest file {_dir.File("mosquitto.log")}

            """);
        _process = Process.Start(new ProcessStartInfo(Binary, ["-c", conf])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var process = _process;
        // A safety net: a test that dies before its dispose must not leave a broker behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { if (!process.HasExited) process.Kill(); } catch (InvalidOperationException) { } };
        await Ports.WaitListening(Port, TimeSpan.FromSeconds(10));
    }

    /// <summary>Kills the broker (SIGKILL) and waits for it to be gone; <see cref="StartProcessAsync"/> brings it back on the same port.</summary>
    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>Stops the broker as an operator would (SIGTERM): it saves its sessions and queued messages first.</summary>
    public async Task ShutdownAsync()
    {
        if (_process is null || _process.HasExited) return;
        Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit();
        await _process.WaitForExitAsync();
    }

    public string Log => File.Exists(_dir.File("mosquitto.log")) ? File.ReadAllText(_dir.File("mosquitto.log")) : "";

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        _dir.Dispose();
    }
}
