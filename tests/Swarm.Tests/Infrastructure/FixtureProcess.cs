using System.Diagnostics;

namespace Swarm.Tests.Infrastructure;

/// <summary>A server a fixture starts (dnsmasq, Prometheus): output captured, killed at exit if a test died first, stopped by PID.</summary>
public static class FixtureProcess
{
    public static Process Start(string file, IEnumerable<string> args)
    {
        var process = Process.Start(new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        // A safety net: a test that dies before its dispose must not leave a server behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { if (!process.HasExited) process.Kill(); } catch (InvalidOperationException) { } };
        return process;
    }

    /// <summary>Kills the process, waits for it to be gone, and releases it.</summary>
    public static async Task StopAsync(Process? process)
    {
        if (process is { HasExited: false })
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        process?.Dispose();
    }
}
