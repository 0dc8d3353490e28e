using System.Diagnostics;
using System.Net;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// A home link as most edge bees have one: a <see cref="Home"/> namespace on a private network (10.77.x.0/24) behind a
/// <see cref="Router"/> namespace that masquerades (nftables) everything it forwards out to this one, over a veth on
/// 198.19.x.0/30 (TestNetwork uses 198.18.x.0/30). This namespace has no route to the home network: nothing here can dial into it, as on the internet.
/// Removed on dispose.
/// </summary>
public sealed class NatNetwork : IAsyncDisposable
{
    private static int _next = Random.Shared.Next(0, 200);
    private readonly int _n;

    public string Home { get; }
    public string Router { get; }

    /// <summary>This namespace's end of the link to the router: where a broker for the home bee listens.</summary>
    public IPAddress Outside { get; }

    /// <summary>The router's outside address: every connection from home arrives from it.</summary>
    public IPAddress RouterOutside { get; }

    /// <summary>The home machine's private address.</summary>
    public IPAddress HomeAddress { get; }

    private string Uplink => $"swn{Environment.ProcessId % 10000}u{_n}";
    private string Lan => $"swn{Environment.ProcessId % 10000}l{_n}";

    private NatNetwork(int n)
    {
        _n = n;
        Home = $"swarm-home{Environment.ProcessId % 10000}-{n}";
        Router = $"swarm-rtr{Environment.ProcessId % 10000}-{n}";
        Outside = IPAddress.Parse($"198.19.{n}.1");
        RouterOutside = IPAddress.Parse($"198.19.{n}.2");
        HomeAddress = IPAddress.Parse($"10.77.{n}.2");
    }

    /// <summary>The two namespaces, or null with the reason when this process may not create them (not root).</summary>
    public static async Task<(NatNetwork? Network, string? Reason)> TryCreateAsync()
    {
        var net = new NatNetwork(Interlocked.Increment(ref _next) % 250);
        try
        {
            await Run("ip", "netns", "add", net.Router);
        }
        catch (InvalidOperationException e)
        {
            return (null, $"cannot create a network namespace here ({e.Message.Trim()}); run the tests as root");
        }
        try
        {
            await Run("ip", "netns", "add", net.Home);
            // Outside: this namespace <-> router.
            await Run("ip", "link", "add", net.Uplink + "h", "type", "veth", "peer", "name", net.Uplink + "r");
            await Run("ip", "link", "set", net.Uplink + "r", "netns", net.Router);
            await Run("ip", "addr", "add", $"{net.Outside}/30", "dev", net.Uplink + "h");
            await Run("ip", "link", "set", net.Uplink + "h", "up");
            // Inside: router <-> home.
            await Run("ip", "link", "add", net.Lan + "r", "type", "veth", "peer", "name", net.Lan + "h");
            await Run("ip", "link", "set", net.Lan + "r", "netns", net.Router);
            await Run("ip", "link", "set", net.Lan + "h", "netns", net.Home);
            await In(net.Router, "ip", "addr", "add", $"{net.RouterOutside}/30", "dev", net.Uplink + "r");
            await In(net.Router, "ip", "addr", "add", $"10.77.{net._n}.1/24", "dev", net.Lan + "r");
            await In(net.Router, "ip", "link", "set", net.Uplink + "r", "up");
            await In(net.Router, "ip", "link", "set", net.Lan + "r", "up");
            await In(net.Router, "ip", "link", "set", "lo", "up");
            await In(net.Router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
            await In(net.Router, "nft",
                $"add table ip nat; add chain ip nat post {{ type nat hook postrouting priority 100 ; }}; add rule ip nat post oifname \"{net.Uplink}r\" masquerade");
            await In(net.Home, "ip", "addr", "add", $"{net.HomeAddress}/24", "dev", net.Lan + "h");
            await In(net.Home, "ip", "link", "set", net.Lan + "h", "up");
            await In(net.Home, "ip", "link", "set", "lo", "up");
            await In(net.Home, "ip", "route", "add", "default", "via", $"10.77.{net._n}.1");
        }
        catch (Exception)
        {
            await net.DisposeAsync(); // half a network must not stay behind for the next run to trip on
            throw;
        }
        return (net, null);
    }

    private readonly List<Process> _processes = [];

    private static Task In(string ns, params string[] command) => Run("ip", ["netns", "exec", ns, .. command]);

    /// <summary>Runs a command in the home namespace and waits for it; returns its exit code and what it printed.</summary>
    public Task<(int Exit, string Output)> RunAtHomeAsync(params string[] command) => TestNetwork.RunInAsync(Home, command);

    /// <summary>The home machine's link MTU (1492: PPPoE, as on a DSL line).</summary>
    public Task SetHomeMtuAsync(int mtu) => In(Home, "ip", "link", "set", Lan + "h", "mtu", mtu.ToString());

    /// <summary>The router (the home's first hop) answers echoes from user space after <paramref name="delay"/>, as a far radio gateway.</summary>
    public async Task RouterAnswersAfterAsync(TimeSpan delay) => _processes.Add(await TestNetwork.AnswerEchoesInAsync(Router, delay));

    private static Task Run(string file, params string[] args) => TestNetwork.Run(file, args);

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            p.Dispose();
        }
        foreach (var ns in new[] { Home, Router })
            try { await Run("ip", "netns", "del", ns); } catch (InvalidOperationException) { }
        foreach (var link in new[] { Uplink + "h", Lan + "r", Lan + "h" })
            try { await Run("ip", "link", "del", link); } catch (InvalidOperationException) { } // gone with the namespaces, usually
    }
}
