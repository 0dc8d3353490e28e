using System.Diagnostics;
using System.Net;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// A network namespace of the test's own, joined to this one by a veth pair, on 198.18.0.0/15 (RFC 2544's range for
/// benchmark networks): traffic to <see cref="PeerAddress"/> never leaves this machine. Removed on dispose.
/// </summary>
public sealed class TestNetwork : IAsyncDisposable
{
    private static int _next = Random.Shared.Next(0, 200);
    private readonly string _ns;
    private readonly string _hostSide;
    private readonly List<Process> _processes = [];

    public IPAddress HostAddress { get; }
    public IPAddress PeerAddress { get; }
    public string Namespace => _ns;

    private TestNetwork(int n)
    {
        _ns = $"swarm-t{Environment.ProcessId % 10000}-{n}";
        _hostSide = $"swt{Environment.ProcessId % 10000}h{n}";
        HostAddress = IPAddress.Parse($"198.18.{n}.1");
        PeerAddress = IPAddress.Parse($"198.18.{n}.2");
    }

    /// <summary>The namespace, or null with the reason when this process may not create one (not root, no CAP_SYS_ADMIN).</summary>
    public static async Task<(TestNetwork? Network, string? Reason)> TryCreateAsync()
    {
        var n = Interlocked.Increment(ref _next) % 250;
        var net = new TestNetwork(n);
        var peerSide = net._hostSide.Replace('h', 'p');
        try
        {
            await Run("ip", "netns", "add", net._ns);
        }
        catch (InvalidOperationException e)
        {
            return (null, $"cannot create a network namespace here ({e.Message.Trim()}); run the tests as root");
        }
        await Run("ip", "link", "add", net._hostSide, "type", "veth", "peer", "name", peerSide);
        await Run("ip", "link", "set", peerSide, "netns", net._ns);
        await Run("ip", "addr", "add", $"{net.HostAddress}/30", "dev", net._hostSide);
        await Run("ip", "link", "set", net._hostSide, "up");
        await net.Exec("ip", "addr", "add", $"{net.PeerAddress}/30", "dev", peerSide);
        await net.Exec("ip", "link", "set", peerSide, "up");
        await net.Exec("ip", "link", "set", "lo", "up");
        return (net, null);
    }

    /// <summary>Runs a command inside the namespace and waits for it.</summary>
    public Task Exec(params string[] command) => Run("ip", ["netns", "exec", _ns, .. command]);

    /// <summary>Runs a command inside the namespace; returns its exit code and everything it printed.</summary>
    public Task<(int Exit, string Output)> RunAsync(params string[] command) => RunInAsync(_ns, command);

    /// <summary>Runs a command inside namespace <paramref name="ns"/>; returns its exit code and everything it printed.</summary>
    public static async Task<(int Exit, string Output)> RunInAsync(string ns, params string[] command)
    {
        var (exit, output, error) = await Capture("ip", ["netns", "exec", ns, .. command]);
        return (exit, output + error);
    }

    /// <summary>Drops a random share (1 in <paramref name="oneIn"/>) of the echo replies the peer sends.</summary>
    public Task DropEchoRepliesAsync(int oneIn) =>
        Exec("nft", $"add table inet swarmtest; add chain inet swarmtest out {{ type filter hook output priority 0 ; }}; " +
                    $"add rule inet swarmtest out icmp type echo-reply numgen random mod {oneIn} == 0 drop");

    /// <summary>
    /// Turns the peer's kernel echo replies off and answers from user space after <paramref name="delay"/>; when
    /// <paramref name="forged"/>, with a payload other than the one sent, as an off-path spoofer would.
    /// </summary>
    public async Task AnswerEchoesAfterAsync(TimeSpan delay, bool forged = false) => _processes.Add(await AnswerEchoesInAsync(_ns, delay, forged));

    /// <summary>
    /// Turns the kernel's echo replies off in namespace <paramref name="ns"/> and answers from user space after
    /// <paramref name="delay"/> (this kernel has no netem); the caller kills the returned responder.
    /// </summary>
    public static async Task<Process> AnswerEchoesInAsync(string ns, TimeSpan delay, bool forged = false)
    {
        await Run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.icmp_echo_ignore_all=1");
        var responder = NodeProcess.BinaryPath("Swarm.EchoResponder", "tests");
        var process = Process.Start(new ProcessStartInfo("ip",
            ["netns", "exec", ns, "dotnet", responder, delay.TotalMilliseconds.ToString(), forged ? "forge" : "honest"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        try
        {
            var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            if (ready != "ready") throw new InvalidOperationException($"echo responder did not start: {ready}");
            return process;
        }
        catch (Exception)
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Runs a command and waits for it; throws with what it said on stderr when it fails.</summary>
    public static async Task Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error}");
    }

    /// <summary>Runs a command and returns what it printed; throws with what it said on stderr when it fails.</summary>
    public static async Task<string> Output(string file, params string[] args)
    {
        var (exit, output, error) = await Capture(file, args);
        if (exit != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error}");
        return output;
    }

    /// <summary>Runs a command to its end (60 s at most): its exit code, and what it printed on stdout and on stderr.</summary>
    private static async Task<(int Exit, string Output, string Error)> Capture(string file, string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, await output, await error);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            p.Dispose();
        }
        try { await Run("ip", "netns", "del", _ns); } catch (InvalidOperationException) { }
        try { await Run("ip", "link", "del", _hostSide); } catch (InvalidOperationException) { } // gone with the namespace, usually
    }
}
