using System.Runtime.InteropServices;

namespace Swarm.Tests.Infrastructure;

/// <summary>POSIX signals by PID: SIGTERM and SIGINT as systemd, Kubernetes and Ctrl-C send them.</summary>
public static class Signals
{
    public const int Interrupt = 2;
    public const int Quit = 3;
    public const int KillNow = 9;
    public const int Terminate = 15;

    /// <summary>Sends <paramref name="signal"/>; 0 when it was delivered.</summary>
    public static int Send(int pid, int signal) => kill(pid, signal);

    /// <summary>Signal 0 delivers nothing; it only says whether the process still exists.</summary>
    public static bool Alive(int pid) => kill(pid, 0) == 0;

    [DllImport("libc")]
    private static extern int kill(int pid, int signal);
}
